package gateway

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/queue"
	"github.com/portico-dev/portico/internal/router"
	"github.com/portico-dev/portico/internal/throttle"
)

// Deployment is the complete, immutable configuration the gateway serves:
// every API with its stages, each stage with its compiled route table. A
// redeploy builds a new Deployment and swaps it in with Server.Swap.
type Deployment struct {
	account  *throttle.Limit // the account-level bucket; nil for none
	observed bool            // some stage has sinks
	apis     []*API
	byHost   map[string]*API    // lower-cased API id and name
	domains  map[string]*Domain // custom domain names (domains.go)

	// urls serves the requests urlMatch accepts (Lambda function URLs).
	urls     http.Handler
	urlMatch func(*http.Request) bool

	refs    atomic.Int64
	retired atomic.Bool
	closers []func()
	once    sync.Once
}

// API is one HTTP API as deployed.
type API struct {
	ID, Name  string
	AccountID string
	stages    map[string]*Stage
	dflt      *Stage       // the $default stage, or nil
	cors      *cors.Policy // nil without a CORS configuration
	ws        http.Handler // a WebSocket API's handler; nil for HTTP APIs
}

// SetWebSocket makes a a WebSocket API: every request for it (upgrades
// and @connections calls) goes to h, which then owns the response.
func (a *API) SetWebSocket(h http.Handler) { a.ws = h }

// SetCORS gives the API a CORS configuration: the gateway answers
// preflights no route takes and sets CORS headers on every response.
func (a *API) SetCORS(p *cors.Policy) { a.cors = p }

// Stage is one stage of an API: its variables and the route table of the
// deployment attached to it.
type Stage struct {
	Name      string
	Variables map[string]string
	routes    *router.Table[*Route]
	sinks     []observe.Sink // the stage's access log
}

// Route is a compiled route: the integration it calls and that
// integration's timeout.
type Route struct {
	Key         string
	Integration integration.Integration
	Timeout     time.Duration

	// Authorizer is nil for routes without authorization. Scopes are the
	// route's authorizationScopes; AuthorizerNeedsBody makes the gateway
	// read the body first (for signature checks).
	Authorizer          Authorizer
	Scopes              []string
	AuthorizerNeedsBody bool

	// Throttle is the stage's or route's token bucket, kept under
	// ThrottleKey; nil when neither is configured.
	Throttle    *throttle.Limit
	ThrottleKey string
	// APIKeyRequired makes callers send a valid x-api-key.
	APIKeyRequired bool
	// Function names the function of an AWS_PROXY route, for the records.
	Function string
	// IntegrationType (AWS_PROXY, HTTP_PROXY), Target (function or URI)
	// and AuthorizationType name the route's parts in traces.
	IntegrationType, Target, AuthorizationType string
	// TraceHeaders makes a traced request carry its trace to the
	// integration in W3C traceparent headers (an HTTP upstream continues
	// it).
	TraceHeaders bool

	// Queue is the integration's concurrency queue (maxConcurrency),
	// shared by every route of the integration; nil for none.
	Queue *queue.Limiter
	// Tokens are the route's token limits and metering (an
	// openAICompatible integration); nil for none.
	Tokens *openai.Config

	serve integration.Integration // Integration with its wrappers (integrate)
}

// NewAPI returns an API with no stages yet.
func NewAPI(id, name, accountID string) *API {
	return &API{ID: id, Name: name, AccountID: accountID, stages: map[string]*Stage{}}
}

// AddStage compiles routes into a stage of a; sinks receive the Record of
// every request the stage serves (its access log). Route keys must already
// be valid (the spec validated them); an error here is a bug in the caller.
func (a *API) AddStage(name string, vars map[string]string, routes []router.Route[*Route], sinks ...observe.Sink) error {
	for _, r := range routes {
		r.Value.serve = integrate(r.Value)
	}
	t, err := router.New(routes)
	if err != nil {
		return err
	}
	s := &Stage{Name: name, Variables: vars, routes: t, sinks: sinks}
	a.stages[name] = s
	if name == "$default" {
		a.dflt = s
	}
	return nil
}

// NewDeployment assembles apis into a deployment. closers run once the
// deployment has been retired by a swap and its last request has finished
// (for example to close idle upstream connections).
func NewDeployment(apis []*API, closers ...func()) *Deployment {
	d := &Deployment{apis: apis, byHost: map[string]*API{}, closers: closers}
	for _, a := range apis {
		d.byHost[strings.ToLower(a.ID)] = a
		d.byHost[strings.ToLower(a.Name)] = a
		for _, st := range a.stages {
			d.observed = d.observed || len(st.sinks) > 0
		}
	}
	return d
}

// SetFunctionURLs makes h serve every request match accepts (function
// URLs, by host name or path prefix), ahead of the APIs.
func (d *Deployment) SetFunctionURLs(match func(*http.Request) bool, h http.Handler) {
	d.urlMatch, d.urls = match, h
}

// SetAccountLimit sets the account-level token bucket every request of
// the deployment takes from.
func (d *Deployment) SetAccountLimit(l throttle.Limit) { d.account = &l }

// APIs returns the deployment's APIs.
func (d *Deployment) APIs() []*API { return d.apis }

// Stages returns the names of a's stages.
func (a *API) Stages() []string {
	names := make([]string, 0, len(a.stages))
	for n := range a.stages {
		names = append(names, n)
	}
	return names
}

// api picks the API a request is for. With one API every host name serves
// it; with several, the first label of the host name selects an API by id
// or by name ("{apiId}.execute-api.localhost", "{name}.localhost").
func (d *Deployment) api(host string) *API {
	if len(d.apis) == 1 {
		return d.apis[0]
	}
	if i := strings.IndexByte(host, '.'); i >= 0 {
		host = host[:i]
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return d.byHost[strings.ToLower(host)]
}

// stage selects the stage for a raw request path as API Gateway does: a
// first segment naming a stage selects it and is stripped; otherwise the
// $default stage serves the whole path. rest is the stage-relative path.
func (a *API) stage(rawPath string) (s *Stage, rest string) {
	if len(rawPath) > 1 {
		seg := rawPath[1:]
		tail := ""
		if i := strings.IndexByte(seg, '/'); i >= 0 {
			seg, tail = seg[:i], seg[i:]
		}
		if st, ok := a.stages[seg]; ok && seg != "$default" {
			if tail == "" {
				tail = "/"
			}
			return st, tail
		}
	}
	return a.dflt, rawPath
}

// acquire takes a reference for one request; it fails once the deployment
// has been retired, and the caller then loads the current one again.
func (d *Deployment) acquire() bool {
	d.refs.Add(1)
	if d.retired.Load() {
		d.release()
		return false
	}
	return true
}

func (d *Deployment) release() {
	if d.refs.Add(-1) == 0 && d.retired.Load() {
		d.close()
	}
}

// retire marks d as replaced; its closers run when its last request ends.
func (d *Deployment) retire() {
	d.retired.Store(true)
	if d.refs.Load() == 0 {
		d.close()
	}
}

// Drained reports whether d has been retired and no request uses it.
func (d *Deployment) Drained() bool { return d.retired.Load() && d.refs.Load() == 0 }

func (d *Deployment) close() {
	d.once.Do(func() {
		for _, c := range d.closers {
			c()
		}
	})
}

// Authorizer decides whether a request may call its route. It is declared
// here, where it is used; internal/authz/... implement it.
//
// Authorize returns the caller identity the integration sees (nil for
// none), or an error the gateway renders: an *edge.Error of kind
// Unauthorized (401) or Forbidden (403) for a refused caller, anything else
// is a 500. scopes are the route's authorizationScopes. Implementations are
// safe for concurrent use. r.Body is empty unless the route sets
// AuthorizerNeedsBody (signature checks), so that refused callers cost no
// upload.
type Authorizer interface {
	Authorize(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error)
}
