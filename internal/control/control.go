// Package control turns a spec into a running system and keeps it current:
// it deploys the functions to the runner, compiles each API stage into the
// gateway's route tables, redeploys auto-deploy stages when the spec or a
// function's code changes, and serves the management APIs: apigatewayv2's
// read side and CreateDeployment, Lambda's function management (see
// docs/management-api.md).
//
// A redeploy builds the complete new system first (compile); only when
// that succeeds does it change anything, step by step, undoing the steps
// already taken if a later one fails (commit), and the old gateway
// deployment drains. A spec that fails to load, build or commit leaves the
// running system as it was. Check runs the same build without side
// effects, for portico validate.
package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/integration/httpproxy"
	"github.com/portico-dev/portico/internal/integration/lambdaproxy"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/build"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/accesslog"
	"github.com/portico-dev/portico/internal/observe/metrics"
	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/router"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
)

// Runner is the part of the function runner the controller needs.
type Runner interface {
	lambdaproxy.Invoker
	Deploy(ctx context.Context, fns []lambda.Function) error
	SetPermissions(map[string][]lambda.Permission)
	SetEventInvokeConfigs(map[string]invocation.EventInvokeConfig)
}

// Config is the controller's configuration.
type Config struct {
	// SpecPath is the file whose changes trigger a reload (the spec file,
	// or a Pulumi program's Pulumi.yaml).
	SpecPath string
	// WatchDirs are directories whose files also trigger a reload (a
	// Pulumi Go program's sources).
	WatchDirs []string
	// Load reads the system's definition again; default spec.Load of
	// SpecPath.
	Load      func() (*spec.Spec, error)
	Region    string
	AccountID string
	// GatewayAddr is the gateway listener's address (host:port), for the
	// apiEndpoint the management API reports; "" reports none.
	GatewayAddr string
	// DataDir holds the code packages uploaded through the Lambda API
	// (DataDir/functions/NAME/); default: a directory under the system's
	// temporary directory.
	DataDir string
}

// Deps are the controller's collaborators.
type Deps struct {
	Logger    *slog.Logger
	Runner    Runner
	Gateway   *gateway.Server
	Transport *httpproxy.Transport // shared upstream connection pools
	// APIKeys receives the spec's usage plans and keys on every apply;
	// nil when the caller does not enforce API keys.
	APIKeys *apikey.Registry
	// Store keeps token budgets (the throttle store: local or Redis).
	Store throttle.Store
	// Meter receives the model token usage of OpenAI-compatible routes.
	Meter openai.Meter
	// Storage is the embedded S3 store; nil runs without one.
	Storage *Storage
	// Metrics forgets the series of routes and functions a redeploy
	// removed; nil when metrics are off.
	Metrics *metrics.Metrics
	// Builder installs functions' dependencies and merges their layers
	// before they are deployed; nil deploys code directories as they are
	// (and refuses layers).
	Builder Builder
	// WebSockets serves WEBSOCKET APIs; nil refuses them.
	WebSockets *WebSockets
}

// Builder prepares a function's files (build.Builder).
type Builder interface {
	Build(ctx context.Context, fn build.Function) (build.Result, error)
}

// Controller owns the running configuration. Its methods are safe for
// concurrent use; applies are serialised.
type Controller struct {
	cfg  Config
	deps Deps

	logs   accessLogs // stages' access log sinks, shared across deployments
	queues queues     // integrations' concurrency queues, likewise

	mu       sync.Mutex
	spec     *spec.Spec                      // the last spec that was applied
	deployed map[string]map[string]*deployed // API name -> stage -> what that stage runs
	mgmt     mgmtState                       // Lambda API overrides and change times (override.go)
	notes    map[string][]s3.Notification    // bucket notifications last set from the spec

	effects effects // what apply changes (apply.go)
	running running // what the last apply committed, to roll back to
}

// deployed is the API definition attached to one stage: for auto-deploy
// stages the latest spec's, for the others the one of their last
// deployment.
type deployed struct {
	api *spec.API
	id  string
	at  time.Time
}

// New returns a controller with nothing applied yet.
func New(cfg Config, deps Deps) *Controller {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg, deps: deps, deployed: map[string]map[string]*deployed{}, effects: effectsOf(deps)}
}

// load reads the definition again.
func (c *Controller) load() (*spec.Spec, error) {
	if c.cfg.Load != nil {
		return c.cfg.Load()
	}
	return spec.Load(c.cfg.SpecPath)
}

// Spec returns the applied spec.
func (c *Controller) Spec() *spec.Spec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spec
}

// Apply makes sp the running configuration: functions are deployed to the
// runner, auto-deploy stages (and stages seen for the first time) take
// sp's routes, other stages keep the routes of their last deployment.
func (c *Controller) Apply(ctx context.Context, sp *spec.Spec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apply(ctx, sp, nil)
}

// apply does the work of Apply; force names stages ("api/stage") to
// redeploy even without autoDeploy. It builds the whole new system first
// (compile) and then commits it step by step, undoing the committed steps
// if a later one fails (commit, in apply.go).
func (c *Controller) apply(ctx context.Context, sp *spec.Spec, force map[string]bool) error {
	p, err := c.compile(ctx, sp, force, false)
	if err != nil {
		return err
	}
	p.spec = sp
	if err := c.commit(ctx, p); err != nil {
		return err
	}
	next, fns, now := p.stages, p.fns, p.now
	c.spec, c.deployed = sp, next
	c.mgmt.applied(fns, now)
	if m := c.deps.Metrics; m != nil {
		var routes []metrics.RouteID
		for _, apiName := range sortedKeys(sp.APIs) {
			a := sp.APIs[apiName]
			for stName := range a.Stages {
				for key := range next[apiName][stName].api.Routes {
					routes = append(routes, metrics.RouteID{API: a.Name, Stage: stName, Route: key})
				}
			}
		}
		m.Retain(routes, sortedKeys(sp.Functions))
	}
	return nil
}

// built is a gateway deployment and the resources to release with it.
type built struct {
	*gateway.Deployment
	closers []func()
	queues  map[string]*queueEntry // limiters this deployment created, shared once committed
}

func (b *built) close() {
	for _, f := range b.closers {
		f()
	}
}

// build compiles the gateway deployment. With dry set, access log formats
// are compiled but their destinations not opened.
func (c *Controller) build(sp *spec.Spec, stages map[string]map[string]*deployed, dry bool) (*built, error) {
	b := &built{queues: map[string]*queueEntry{}}
	iamAuth, err := c.iamAuthorizer(sp)
	if err != nil {
		return nil, err
	}
	var apis []*gateway.API
	for _, apiName := range sortedKeys(sp.APIs) {
		a := sp.APIs[apiName]
		if a.ProtocolType == spec.WebSocket {
			ga, err := c.webSocketAPI(b, a, stages[apiName])
			if err != nil {
				b.close()
				return nil, err
			}
			apis = append(apis, ga)
			continue
		}
		ga := gateway.NewAPI(a.ID, a.Name, c.cfg.AccountID)
		cp, err := corsPolicy(a)
		if err != nil {
			b.close()
			return nil, err
		}
		ga.SetCORS(cp)
		for _, stName := range sortedKeys(a.Stages) {
			st := a.Stages[stName]
			routes, err := c.routes(b, stages[apiName][stName].api, st, iamAuth)
			var sinks []observe.Sink
			if err == nil && st.AccessLogSettings != nil && dry {
				_, err = accesslog.Compile(st.AccessLogSettings.Format)
			} else if err == nil && st.AccessLogSettings != nil {
				var sink observe.Sink
				var release func()
				sink, release, err = c.logs.acquire(st.AccessLogSettings)
				if err == nil {
					sinks = append(sinks, sink)
					b.closers = append(b.closers, release)
				}
			}
			if err == nil {
				err = ga.AddStage(stName, st.StageVariables, routes, sinks...)
			}
			if err != nil {
				b.close()
				return nil, fmt.Errorf("api %s stage %s: %w", apiName, stName, err)
			}
		}
		apis = append(apis, ga)
	}
	b.Deployment = gateway.NewDeployment(apis, b.close)
	if err := c.functionURLs(b, sp); err != nil {
		b.close()
		return nil, err
	}
	b.Deployment.SetAccountLimit(accountLimit(sp))
	doms, err := domains(sp, apis)
	if err != nil {
		b.close()
		return nil, err
	}
	b.Deployment.SetDomains(doms)
	return b, nil
}

// routes compiles an API definition's routes for one stage, with fresh
// integrations and authorizers and the stage's throttles.
func (c *Controller) routes(b *built, a *spec.API, st *spec.Stage, iamAuth gateway.Authorizer) ([]router.Route[*gateway.Route], error) {
	integ := map[string]*gateway.Route{}
	for _, name := range sortedKeys(a.Integrations) {
		in := a.Integrations[name]
		var it integration.Integration
		switch in.Type {
		case spec.AWSProxy:
			if in.Unpermitted {
				fn := in.Function
				it = integration.Func(func(context.Context, http.ResponseWriter, *integration.Request) error {
					return edge.New(edge.InternalError, fmt.Errorf("lambda %s: API Gateway has no permission to invoke it (no aws:lambda:Permission; --strict)", fn))
				})
				break
			}
			it = lambdaproxy.New(lambdaproxy.Config{
				Function:             in.Function,
				PayloadFormatVersion: in.PayloadFormatVersion,
				Region:               c.cfg.Region,
				AccountID:            c.cfg.AccountID,
				InvokeMode:           in.InvokeMode,
				IdleTimeout:          millis(in.IdleTimeoutInMillis),
			}, c.deps.Runner)
		case spec.HTTPProxy:
			cfg := httpproxy.Config{URI: in.URI, Method: in.Method, Transport: c.deps.Transport, IdleTimeout: millis(in.IdleTimeoutInMillis)}
			if t := in.TLSConfig; t != nil {
				cfg.TLS = &httpproxy.UpstreamTLS{ServerName: t.ServerNameToVerify, CAPEM: t.CAPEM}
			}
			for _, u := range in.Upstreams {
				w := spec.DefaultUpstreamWeight
				if u.Weight != nil {
					w = *u.Weight
				}
				cfg.Upstreams = append(cfg.Upstreams, httpproxy.Upstream{URI: u.URI, Priority: u.Priority, Weight: w})
			}
			p, err := httpproxy.New(cfg)
			if err != nil {
				return nil, fmt.Errorf("integration %s: %w", name, err)
			}
			b.closers = append(b.closers, p.Close)
			it = p
		default:
			return nil, fmt.Errorf("integration %s: unsupported type %q", name, in.Type)
		}
		gi := &gateway.Route{Integration: it, Timeout: in.Timeout(), Function: in.Function}
		if in.MaxConcurrency != nil {
			l, err := c.queues.get(a.ID+"/"+name, in, b.queues)
			if err != nil {
				return nil, fmt.Errorf("integration %s: %w", name, err)
			}
			gi.Queue = l // the gateway puts the queue in front (gateway.integrate)
		}
		integ[name] = gi
	}
	tokens := func(key string) *openai.Config {
		lim := openai.Limits{Store: c.deps.Store, RouteID: a.ID + "/" + st.Name + "/" + key}
		if rs := st.RouteSettings[key]; rs != nil && rs.TokenLimits != nil {
			lim.Route = openai.FromSpec(rs.TokenLimits)
		} else if d := st.DefaultRouteSettings; d != nil && d.TokenLimits != nil {
			lim.Route = openai.FromSpec(d.TokenLimits)
		}
		if c.deps.APIKeys != nil {
			lim.APIKey = c.deps.APIKeys.TokenLimit
		}
		return &openai.Config{Limits: lim, Meter: c.deps.Meter, Logger: c.deps.Logger}
	}
	auths, err := c.authorizers(a)
	if err != nil {
		return nil, err
	}
	routes := make([]router.Route[*gateway.Route], 0, len(a.Routes))
	for _, key := range sortedKeys(a.Routes) {
		rt := a.Routes[key]
		gi := integ[rt.Integration]
		if gi == nil {
			return nil, fmt.Errorf("route %q: no integration %q", key, rt.Integration)
		}
		in := a.Integrations[rt.Integration]
		target := in.Function
		if in.Type == spec.HTTPProxy {
			target = in.URI
		}
		gr := &gateway.Route{Key: key, Integration: gi.Integration, Timeout: gi.Timeout,
			Scopes: rt.AuthorizationScopes, APIKeyRequired: rt.APIKeyRequired, Function: gi.Function,
			IntegrationType: in.Type, Target: target, AuthorizationType: rt.AuthorizationType,
			TraceHeaders: in.Type == spec.HTTPProxy, Queue: gi.Queue}
		if in.OpenAICompatible {
			gr.Tokens = tokens(key)
		}
		switch rt.AuthorizationType {
		case spec.AuthJWT, spec.AuthCustom:
			gr.Authorizer = auths[rt.Authorizer]
		case spec.AuthIAM:
			gr.Authorizer, gr.AuthorizerNeedsBody = iamAuth, true
		}
		if l := routeLimit(st, key); l != nil {
			gr.Throttle, gr.ThrottleKey = l, "stage:"+a.ID+"/"+st.Name+"/"+key
		}
		routes = append(routes, router.Route[*gateway.Route]{Key: key, Method: rt.Method, Path: rt.Path, Value: gr})
	}
	return routes, nil
}

// Deploy attaches the current spec file's definition of an API to one of
// its stages, as API Gateway's CreateDeployment does. The spec file is read
// again first; an invalid file fails the deployment and changes nothing.
func (c *Controller) Deploy(ctx context.Context, apiRef, stage string) (id string, err error) {
	sp, err := c.load()
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := findAPI(sp, apiRef)
	if a == nil {
		return "", errNotFound{fmt.Sprintf("Invalid API identifier specified %s", apiRef)}
	}
	if _, ok := a.Stages[stage]; !ok {
		return "", errBadRequest{fmt.Sprintf("Invalid stage identifier specified %s", stage)}
	}
	if err := c.apply(ctx, sp, map[string]bool{a.Name + "/" + stage: true}); err != nil {
		return "", err
	}
	return c.deployed[a.Name][stage].id, nil
}

// Reload reads the spec file again and applies it. It is what the watcher
// calls when the file or a function's code changes.
func (c *Controller) Reload(ctx context.Context) error {
	sp, err := c.load()
	if err != nil {
		return err
	}
	return c.Apply(ctx, sp)
}

// Watch polls the spec file and every function's code directory every
// interval until ctx ends, and reloads when something changed. A spec that
// fails to load or apply is logged and the running configuration stays.
//
// Watch takes the first fingerprint before it returns and polls in a
// goroutine of its own, so that any edit made after Watch returns is seen.
func (c *Controller) Watch(ctx context.Context, interval time.Duration) {
	last := c.fingerprint()
	go c.watch(ctx, interval, last)
}

// Watch also ends the Lambda API's overrides when the spec file changes:
// the edited spec holds again (see takeOverrides); a spec that fails to
// apply leaves them as they run.
func (c *Controller) watch(ctx context.Context, interval time.Duration, last string) {
	lastSpec := c.specFingerprint()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := c.fingerprint()
		if fp == last {
			continue
		}
		last = fp
		var kept map[string]*override // the Lambda API's overrides, back if the new spec fails
		if sf := c.specFingerprint(); sf != lastSpec {
			lastSpec = sf
			kept = c.takeOverrides()
		}
		if err := c.Reload(ctx); err != nil {
			c.restoreOverrides(kept)
			c.deps.Logger.Error("spec not applied; the running configuration keeps serving", "err", err)
			continue
		}
		c.deps.Logger.Info("redeployed", "spec", c.cfg.SpecPath)
		for _, w := range c.Spec().Warnings {
			c.deps.Logger.Warn(w.Error())
		}
	}
}

// fingerprint summarises the spec file and the code of the applied spec's
// functions; any edit changes it.
func (c *Controller) fingerprint() string {
	var sb strings.Builder
	sb.WriteString(c.specFingerprint())
	if sp := c.Spec(); sp != nil {
		for _, name := range sortedKeys(sp.Functions) {
			rev, _ := codeRevision(sp.Functions[name].Code)
			sb.WriteString(rev)
			for _, l := range sp.Functions[name].Layers {
				rev, _ := codeRevision(l)
				sb.WriteString(rev)
			}
		}
	}
	return sb.String()
}

// specFingerprint summarises the spec file (and a Pulumi program's
// sources): the definition itself, without the functions' code.
func (c *Controller) specFingerprint() string {
	var sb strings.Builder
	if fi, err := os.Stat(c.cfg.SpecPath); err == nil {
		fmt.Fprintf(&sb, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	for _, dir := range c.cfg.WatchDirs {
		rev, _ := codeRevision(dir)
		sb.WriteString(rev)
	}
	return sb.String()
}

// codeRevision summarises a code directory by the names, sizes and
// modification times of its files.
func codeRevision(dir string) (string, error) {
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != dir && (n == "__pycache__" || n == "node_modules" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "pyvenv.cfg")); err == nil {
				return filepath.SkipDir // a Python virtualenv: installed packages, not code
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read code: %w", err)
	}
	return sb.String(), nil
}

// millis converts an optional spec duration in milliseconds; nil is 0.
func millis(ms *int) time.Duration {
	if ms == nil {
		return 0
	}
	return time.Duration(*ms) * time.Millisecond
}

// lambdaFunction is the runner's view of a spec function, with its code's
// current revision (a changed revision replaces warm sandboxes).
func lambdaFunction(f *spec.Function) (lambda.Function, error) {
	rev, err := codeRevision(f.Code)
	if err != nil {
		return lambda.Function{}, fmt.Errorf("function %s: %w", f.Name, err)
	}
	rc := -1
	if f.ReservedConcurrency != nil {
		rc = *f.ReservedConcurrency
	}
	return lambda.Function{
		Name:                f.Name,
		Runtime:             f.Runtime,
		Handler:             f.Handler,
		CodeDir:             f.Code,
		Timeout:             f.TimeoutDuration(),
		MemoryMB:            f.MemorySize,
		EphemeralStorageMB:  f.EphemeralStorage,
		Environment:         f.Environment,
		ReservedConcurrency: rc,
		Role:                f.Role,
		Revision:            rev,
	}, nil
}

func findAPI(sp *spec.Spec, ref string) *spec.API {
	if a, ok := sp.APIs[ref]; ok {
		return a
	}
	for _, a := range sp.APIs {
		if a.ID == ref || strings.EqualFold(a.Name, ref) {
			return a
		}
	}
	if ref == "" && len(sp.APIs) == 1 {
		for _, a := range sp.APIs {
			return a
		}
	}
	return nil
}

func newDeploymentID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AccessLogDropped counts the access log records the stages' sinks have
// dropped because their destination could not keep up.
func (c *Controller) AccessLogDropped() uint64 { return c.logs.Dropped() }

// Close retires the running deployment once requests have stopped (call it
// after the HTTP servers shut down): its resources are released and the
// stages' access logs are flushed and closed.
func (c *Controller) Close() {
	c.effects.gateway.Swap(gateway.NewDeployment(nil))
}
