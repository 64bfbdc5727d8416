// Package websocket serves API Gateway WebSocket APIs: the upgrade on a
// stage's path, the $connect, message and $disconnect events delivered to
// AWS_PROXY Lambda integrations exactly as AWS shapes them, route
// selection by routeSelectionExpression, route responses for two-way
// routes, AWS's limits, and the @connections management API (POST, GET,
// DELETE /@connections/{id}, SigV4 service execute-api, IAM action
// execute-api:ManageConnections).
//
// The WebSocket protocol itself (handshake, frame headers, masking,
// fragmentation, control frames, the frame and message size limits) is
// github.com/gobwas/ws's; this package never parses or encodes a frame
// header by hand.
//
// A Handler is one deployed API; connections outlive deployments and live
// in a Registry shared by every Handler of the process, so that a
// redeploy does not drop clients and @connections finds a connection
// whatever deployment accepted it. A connection keeps the Handler (routes,
// integrations) that accepted it until it closes.
package websocket

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/throttle"
)

// AWS's quotas for WebSocket APIs; each is the default of a Limits field.
const (
	// DefaultMaxMessageBytes is the largest message, 128 KB. A larger one
	// closes the connection with status 1009, as on AWS.
	DefaultMaxMessageBytes = 128 << 10
	// DefaultMaxFrameBytes is the largest frame, 32 KB: a larger message
	// must come in several frames. A larger frame closes the connection
	// with status 1009, as on AWS.
	DefaultMaxFrameBytes = 32 << 10
	// DefaultIdleTimeout closes a connection without messages for 10
	// minutes.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultMaxDuration closes every connection after 2 hours.
	DefaultMaxDuration = 2 * time.Hour
)

// Limits are a Handler's connection limits; zero fields take AWS's values.
type Limits struct {
	MaxMessageBytes int64
	MaxFrameBytes   int64
	IdleTimeout     time.Duration
	MaxDuration     time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxFrameBytes <= 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	return l
}

// Route is one route of a stage: the function its AWS_PROXY integration
// invokes.
type Route struct {
	Key      string
	Function string
	// Timeout is the integration timeout.
	Timeout time.Duration
	// TwoWay sends the function's response body back to the client (a
	// route response with key $default).
	TwoWay bool
	// Throttle is the stage's (or route's) token bucket under ThrottleKey;
	// nil for none. A throttled $connect is refused with 429, a throttled
	// message answered with API Gateway's "Too Many Requests" message.
	Throttle    *throttle.Limit
	ThrottleKey string
	// Auth authorizes a $connect route; nil for NONE.
	Auth *ConnectAuth
}

// Stage is one stage of the API.
type Stage struct {
	Name      string
	Variables map[string]string
	// Routes by route key: $connect, $disconnect, $default and custom keys.
	Routes map[string]*Route
	// Sinks receive the stage's records (its access log).
	Sinks []observe.Sink
}

// Config is one WebSocket API as deployed. It is read once by New.
type Config struct {
	APIID, APIName    string
	Region, AccountID string
	// RouteSelection is the JSON path of the routeSelectionExpression
	// ($request.body.action -> ["action"]).
	RouteSelection []string
	Stages         map[string]*Stage
	Limits         Limits
}

// Invoker runs one synchronous Lambda invocation; the function runner
// satisfies it. See lambdaproxy.Invoker for its error contract.
type Invoker interface {
	Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error)
}

// Deps are a Handler's collaborators.
type Deps struct {
	// Invoker runs the integrations. Required.
	Invoker Invoker
	// Registry holds the process's open connections. Required.
	Registry *Registry
	// Principals resolves the access keys that sign @connections calls;
	// nil refuses every call.
	Principals s3.Principals
	// Limiter holds the token buckets of route throttles; nil disables
	// them.
	Limiter Limiter
	// Sinks receive a Record per connect, message and disconnect (metrics,
	// the console), besides the stage's own.
	Sinks []observe.Sink
	// Logger receives failures that are not the client's; default discard.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HeaderNames returns the header names of an upgrade request as its
	// client spelt them, which the $connect event keeps as AWS does
	// (net/http canonicalises them); nil, or a nil answer, leaves the
	// canonical names. gateway.HeaderNames satisfies it.
	HeaderNames func(r *http.Request) []string
	// Upgraded is told when r's connection has switched protocols, before
	// any frame is read; gateway.Upgraded (its framing guard then stops
	// following the connection's bytes) satisfies it. Optional.
	Upgraded func(r *http.Request)
}

// Limiter takes tokens from named buckets (throttle.Store satisfies it).
type Limiter interface {
	Take(ctx context.Context, key string, l throttle.Limit) (throttle.Decision, error)
}

// Handler serves one WebSocket API: upgrades on its stages' paths and the
// @connections API under them. Safe for concurrent use.
type Handler struct {
	cfg  Config
	deps Deps
	dflt *Stage
}

var _ http.Handler = (*Handler)(nil)

// New checks cfg and deps and returns the Handler.
func New(cfg Config, deps Deps) (*Handler, error) {
	if cfg.APIID == "" || len(cfg.RouteSelection) == 0 {
		return nil, errors.New("websocket: APIID and RouteSelection are required")
	}
	if deps.Invoker == nil || deps.Registry == nil {
		return nil, errors.New("websocket: Deps.Invoker and Registry are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	cfg.Limits = cfg.Limits.withDefaults()
	return &Handler{cfg: cfg, deps: deps, dflt: cfg.Stages["$default"]}, nil
}

// ServeHTTP serves a request the gateway routed to this API: a WebSocket
// upgrade on a stage's path ("/{stage}", or "/" for a $default stage),
// or an @connections call ("/{stage}/@connections/{id}", also accepted
// without the stage prefix since connection ids are unique).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, rest := h.stage(r.URL.Path)
	if id, ok := strings.CutPrefix(rest, "/@connections/"); ok && id != "" && !strings.Contains(id, "/") {
		h.manage(w, r, st, id)
		return
	}
	if st == nil || (rest != "/" && rest != "") {
		writeJSONError(w, http.StatusNotFound, "NotFoundException", "Not Found")
		return
	}
	if !isUpgrade(r) {
		writeJSONError(w, http.StatusUpgradeRequired, "", "Upgrade Required")
		return
	}
	h.connect(w, r, st)
}

// stage selects the stage from the path's first segment (a $default stage
// serves every other path) and returns the stage-relative rest; st is nil
// when no stage matches.
func (h *Handler) stage(path string) (st *Stage, rest string) {
	seg, tail := path, ""
	if len(seg) > 0 && seg[0] == '/' {
		seg = seg[1:]
	}
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg, tail = seg[:i], seg[i:]
	}
	if s, ok := h.cfg.Stages[seg]; ok && seg != "$default" {
		return s, tail
	}
	return h.dflt, path
}

func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// Registry holds the open connections of every WebSocket API by id. The
// zero value is ready; it is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	conns map[string]*Conn
	live  sync.WaitGroup // connections whose $disconnect has not finished
}

func (g *Registry) add(c *Conn) {
	g.live.Add(1)
	g.mu.Lock()
	if g.conns == nil {
		g.conns = map[string]*Conn{}
	}
	g.conns[c.ID] = c
	g.mu.Unlock()
}

func (g *Registry) remove(c *Conn) {
	g.mu.Lock()
	if g.conns[c.ID] == c {
		delete(g.conns, c.ID)
	}
	g.mu.Unlock()
}

// Close closes every open connection with 1001 "Going away" (as API
// Gateway does when it ends connections) and waits until their
// $disconnect integrations have run, or ctx ends. Call it before the
// function runner shuts down.
func (g *Registry) Close(ctx context.Context) {
	g.mu.RLock()
	for _, c := range g.conns {
		c.close(ws.StatusGoingAway, "Going away")
	}
	g.mu.RUnlock()
	done := make(chan struct{})
	go func() { g.live.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Get returns the open connection id, or nil.
func (g *Registry) Get(id string) *Conn {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.conns[id]
}

// Len is the number of open connections.
func (g *Registry) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.conns)
}

// ConnInfo describes an open connection (for the console).
type ConnInfo struct {
	ID, APIID, Stage      string
	SourceIP, UserAgent   string
	ConnectedAt, LastSeen time.Time
}

// List describes every open connection, in no particular order.
func (g *Registry) List() []ConnInfo {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]ConnInfo, 0, len(g.conns))
	for _, c := range g.conns {
		out = append(out, c.info())
	}
	return out
}
