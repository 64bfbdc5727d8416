// Package gateway is the HTTP server of Portico's HTTP APIs. This file fixes
// the order of the request pipeline, outermost first:
//
//	access log -> request ID -> recover -> framing -> API and stage
//	-> limits -> route (CORS preflights) -> authorize -> throttle
//	-> read body (body timeouts; only the first StreamAhead bytes for
//	integrations that stream the rest) -> integrate (integration timeout):
//	     token limits and metering (Route.Tokens, openAICompatible)
//	     -> concurrency queue (Route.Queue, maxConcurrency)
//	     -> the integration (AWS_PROXY, HTTP_PROXY)
//	-> render errors
//
// Every stage and wrapper is composed here, in that order: the control
// plane only compiles the values a Route carries (its queue, its token
// limits), and integrate wraps them around the integration when a stage is
// compiled. The client's request is never changed: what later steps need
// travels in the integration.Request, and headers the gateway adds (the
// trace) go on a copy.
//
// The request is attributed to its API and stage as soon as they are known
// (before routing), so every refusal is in that stage's access log, metrics
// and console, with the $context values known where it ended.
//
// Every step returns an *edge.Error instead of writing; ServeHTTP renders
// the first one, so clients see API Gateway's exact status codes and bodies.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/trace"
	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/queue"
	"github.com/portico-dev/portico/internal/throttle"
)

// Limits of API Gateway HTTP APIs that the gateway enforces.
const (
	// MaxBodyBytes is the payload size quota: 10 MB.
	MaxBodyBytes = 10 << 20
	// MaxRequestLineAndHeaders bounds the request line plus header values.
	MaxRequestLineAndHeaders = 10240
)

// Deps are the gateway's collaborators.
type Deps struct {
	// Logger receives errors that are not the client's fault.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limiter holds the token buckets (local or shared); nil disables
	// throttling.
	Limiter Limiter
	// APIKeys checks x-api-key on routes that require a key.
	APIKeys KeyChecker
	// Sinks receive every request's Record (metrics, the console); stages
	// add their own (access logs).
	Sinks []observe.Sink
	// Tracer makes a span per request and its steps and carries the trace
	// to integrations; nil turns tracing off.
	Tracer *trace.Tracer
	// Timeouts bound the request body (Body, BodyMinRate); the zero value
	// means the defaults. Give the same to NewHTTPServer.
	Timeouts Timeouts
}

// Limiter takes tokens from named buckets. On a store failure it returns
// the error with the decision its failure policy dictates (Allowed for
// fail-open).
type Limiter interface {
	Take(ctx context.Context, key string, l throttle.Limit) (throttle.Decision, error)
}

// KeyChecker validates an API key for an API stage ("api/stage") and
// charges one request to its plan's bucket and quota. It returns the key's
// name to let the request through, or the error to render (403 for a
// missing, unknown or disabled key, 429 when the plan's bucket or quota is
// spent).
type KeyChecker interface {
	Check(ctx context.Context, value, apiStage string) (name string, err error)
}

// Server serves the current Deployment. It is safe for concurrent use; Swap
// may be called while requests are in flight.
type Server struct {
	current atomic.Pointer[Deployment]
	deps    Deps
}

// New returns a server with no deployment: it answers 404 until Swap.
func New(deps Deps) *Server {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Timeouts = deps.Timeouts.withDefaults()
	s := &Server{deps: deps}
	s.current.Store(NewDeployment(nil))
	return s
}

// Swap makes d the served deployment and retires the previous one, which
// finishes the requests it has in flight and then runs its closers.
func (s *Server) Swap(d *Deployment) {
	old := s.current.Swap(d)
	if old != nil {
		old.retire()
	}
}

// Current returns the served deployment.
func (s *Server) Current() *Deployment { return s.current.Load() }

var paramsPool = sync.Pool{New: func() any { return make(map[string]string, 4) }}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// ServeHTTP runs the request pipeline.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.deps.Now()
	// One allocation for the request's state: the recorder, the
	// integration request and the request ID header's value.
	x := &struct {
		rw recorder
		ir integration.Request
		id [1]string
	}{rw: recorder{ResponseWriter: w}}
	rw := &x.rw
	id := newRequestID()
	x.id[0] = id
	rw.Header()["Apigw-Requestid"] = x.id[:]

	var d *Deployment
	for d = s.current.Load(); !d.acquire(); d = s.current.Load() {
	}
	defer d.release()
	// Function URLs and WebSocket APIs have pipelines of their own; framing
	// is still checked for each of their requests, in order (framing.go),
	// and an upgrade's raw head must be attributed to it (HeaderNames).
	var own http.Handler
	if d.urls != nil && d.urlMatch(r) {
		own = d.urls // Lambda function URLs (internal/functionurl)
	} else if a := d.api(r.Host); a != nil && a.ws != nil {
		own = a.ws // a WebSocket API (internal/websocket)
	}
	if own != nil {
		if err := framingError(r.Context()); err != nil {
			edge.Render(w, err)
			return
		}
		own.ServeHTTP(w, r)
		return
	}

	// The request's span travels in ctx, handed down the pipeline beside
	// r. Only a traced request is copied (r.WithContext), once, with a
	// header of its own: the trace reaches functions (_X_AMZN_TRACE_ID) as
	// API Gateway's x-amzn-trace-id header does, and HTTP upstreams in
	// traceparent, while the client's request is never changed.
	ctx, endReq := s.deps.Tracer.StartRequest(r.Context(), r)
	if ctx != r.Context() {
		r = r.WithContext(ctx)
		r.Header = r.Header.Clone()
		if h := trace.XRayHeader(ctx); h != "" && r.Header.Get("X-Amzn-Trace-Id") == "" {
			r.Header.Set("X-Amzn-Trace-Id", h)
		}
	}
	ir := &x.ir
	ir.HTTP, ir.RequestID, ir.Time = r, id, start
	if len(s.deps.Sinks) > 0 || d.observed {
		ir.Record = recordPool.Get().(*observe.Record)
		*ir.Record = observe.Record{TraceID: trace.XRayTraceID(ctx)}
		defer recordPool.Put(ir.Record)
	}
	defer func() { endReq(ir.Record) }()
	aborted, err := s.serveRecovering(ctx, rw, r, d, ir)
	if aborted {
		// An integration cut a response short on purpose (a stream that
		// failed mid-way): record it, then let net/http drop the
		// connection so the client sees the failure.
		if ir.Record != nil {
			s.observe(ir, rw, start, err, nil)
		}
		panic(http.ErrAbortHandler)
	}
	var rendered *edge.Error
	if err != nil && !rw.wrote {
		if rendered = edge.Render(rw, err); rendered.Kind == edge.InternalError {
			s.deps.Logger.Error("request failed", "requestId", id, "routeKey", ir.RouteKey, "err", rendered.Cause)
		}
	}
	if ir.Record != nil {
		s.observe(ir, rw, start, err, rendered)
	}
}

var recordPool = sync.Pool{New: func() any { return new(observe.Record) }}

// observe completes the request's Record and hands it to the sinks: the
// server's (metrics, console) and the stage's (access log).
func (s *Server) observe(ir *integration.Request, rw *recorder, start time.Time, err error, rendered *edge.Error) {
	rec, r := ir.Record, ir.HTTP
	rec.RequestID, rec.Time = ir.RequestID, start
	rec.APIID, rec.AccountID, rec.Stage, rec.RouteKey = ir.APIID, ir.AccountID, ir.Stage, ir.RouteKey
	if rec.RouteKey == "" {
		rec.RouteKey = "-" // what API Gateway logs when no route matched
	}
	rec.HTTPMethod, rec.Path, rec.Protocol = r.Method, ir.RawPath, integration.Protocol(r)
	if rec.Path == "" {
		rec.Path = r.URL.EscapedPath()
	}
	rec.DomainName, rec.SourceIP, rec.UserAgent = hostOnly(r.Host), hostOnly(r.RemoteAddr), r.UserAgent()
	rec.Status, rec.RequestLen, rec.ResponseLen = rw.status, rw.bodyLen, rw.bytes
	rec.APIKeyID = ir.APIKey
	rec.ResponseLatency = s.deps.Now().Sub(start)
	if !rw.integStart.IsZero() {
		end := rw.firstByte
		if end.IsZero() {
			end = s.deps.Now()
		}
		rec.IntegrationLatency = end.Sub(rw.integStart)
		if rendered == nil && rec.IntegrationStatus == 0 {
			rec.IntegrationStatus = rw.status
		}
	}
	if rendered != nil {
		rec.ErrorMessage = http.StatusText(rendered.Kind.Status())
		rec.ErrorType = rendered.Kind.ResponseType()
		if !rw.integStart.IsZero() && rec.IntegrationError == "" && rendered.Cause != nil {
			rec.IntegrationError = rendered.Cause.Error()
		}
	} else if err != nil && rec.IntegrationError == "" {
		rec.IntegrationError = err.Error() // a response cut short
	}
	for _, sink := range s.deps.Sinks {
		sink.Observe(rec)
	}
	if st := rw.stage; st != nil {
		for _, sink := range st.sinks {
			sink.Observe(rec)
		}
	}
}

// serveRecovering runs serve, turning a panic into a 500 and reporting an
// http.ErrAbortHandler panic as aborted.
func (s *Server) serveRecovering(ctx context.Context, w *recorder, r *http.Request, d *Deployment, ir *integration.Request) (aborted bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				aborted, err = true, errors.New("response aborted")
				return
			}
			err = edge.New(edge.InternalError, fmt.Errorf("panic: %v", p))
		}
	}()
	return false, s.serve(ctx, w, r, d, ir)
}

// serve runs the pipeline from attribution to the integration; ctx is r's
// context with the request's span.
func (s *Server) serve(ctx context.Context, w *recorder, r *http.Request, d *Deployment, ir *integration.Request) error {
	// Framing: a head with ambiguous framing is refused (400, connection
	// closed) whatever it asks for, once it is attributed as far as it can
	// be. Called once per request, in order (see framing.go).
	framing := framingError(r.Context())

	// API and stage: the request is attributed to them as soon as they are
	// known, so every refusal below is in the stage's access log and
	// metrics (routeKey "-" until a route matches).
	host := r.Host
	rawPath := r.RequestURI
	if len(rawPath) == 0 || rawPath[0] != '/' {
		rawPath = r.URL.EscapedPath()
	}
	if i := strings.IndexByte(rawPath, '?'); i >= 0 {
		rawPath = rawPath[:i]
	}
	ir.RawPath = rawPath
	var api *API
	var stage *Stage
	var path string
	if dm := d.domain(host); dm != nil {
		// A custom domain name: its API mappings decide (domains.go).
		var err error
		if api, stage, path, err = viaDomain(dm, r, ir, rawPath); err != nil {
			return orFraming(framing, err)
		}
	} else if api = d.api(host); api == nil {
		return orFraming(framing, edge.New(edge.NotFound, fmt.Errorf("no API for host %q", host)))
	}
	ir.APIID, ir.AccountID = api.ID, api.AccountID
	if ir.Record != nil {
		ir.Record.APIName = api.Name
	}
	if stage == nil {
		stage, path = api.stage(rawPath)
	}
	if stage == nil {
		return orFraming(framing, edge.New(edge.NotFound, fmt.Errorf("no stage for path %q", rawPath)))
	}
	w.stage = stage
	ir.Stage, ir.StageVariables, ir.Path = stage.Name, stage.Variables, path
	ir.DomainName, ir.SourceIP = hostOnly(host), hostOnly(r.RemoteAddr)
	if framing != nil {
		return framing
	}

	// Limits.
	if headerBytes(r) > MaxRequestLineAndHeaders {
		return edge.New(edge.HeadersTooLarge, errors.New("request line and headers exceed 10240 bytes"))
	}
	if r.ContentLength > MaxBodyBytes {
		return edge.New(edge.PayloadTooLarge, fmt.Errorf("content-length %d exceeds %d", r.ContentLength, MaxBodyBytes))
	}

	// Route (CORS preflights that no route takes are answered here).
	if api.cors != nil {
		w.cors, w.origin = api.cors, r.Header.Get("Origin")
	}
	route, params, ok := stage.routes.Match(r.Method, path)
	if !ok {
		// A preflight that no route takes is answered by the gateway, as
		// API Gateway does when CORS is configured.
		if api.cors != nil {
			if pre, ok := api.cors.Preflight(r); ok {
				w.cors = nil // the preflight's headers are final
				h := w.Header()
				for k, vs := range pre.Header {
					h[k] = vs
				}
				w.WriteHeader(pre.Status)
				return nil
			}
		}
		return edge.New(edge.NotFound, fmt.Errorf("no route for %s %s", r.Method, path))
	}
	ir.RouteKey = route.Value.Key
	if len(params) > 0 {
		// A pooled map: integrations must not keep it (integration.Request).
		m := paramsPool.Get().(map[string]string)
		for _, p := range params {
			m[p.Name] = p.Value
		}
		ir.PathParameters = m
		defer func() { clear(m); paramsPool.Put(m) }()
	}

	bp := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 { // keep the pool's buffers small
			bodyPool.Put(bp)
		}
	}()
	read := func() error {
		body, err := readBody(w, r, (*bp)[:0], s.deps.Timeouts)
		*bp = body
		ir.Body = body
		w.bodyLen = int64(len(body))
		return err
	}

	// Authorize.
	rt := route.Value
	if rt.Authorizer != nil {
		// Only signature checks need the body; other authorizers run
		// before it is read, so refused callers cost no upload.
		if rt.AuthorizerNeedsBody {
			if err := read(); err != nil {
				return err
			}
		}
		began := s.deps.Now()
		actx, end := s.deps.Tracer.StartAuthorizer(ctx, rt.AuthorizationType)
		id, err := rt.Authorizer.Authorize(actx, ir, rt.Scopes)
		end(err)
		if rec := ir.Record; rec != nil {
			rec.AuthorizerLatency = s.deps.Now().Sub(began)
			if err != nil {
				rec.AuthorizerError = err.Error()
			} else if id != nil {
				rec.PrincipalID = id.PrincipalID
			}
		}
		if err != nil {
			return err
		}
		ir.Authorizer = id
	}
	// Throttle (API key, account, stage or route buckets).
	tctx, end := s.deps.Tracer.StartThrottleWait(ctx)
	err := s.throttle(tctx, d, api, stage, rt, r, ir)
	end(err)
	if err != nil {
		return err
	}
	// Read the body, within the body timeouts (timeouts.go): whole, or
	// only its first bytes when the integration streams the rest.
	if !rt.AuthorizerNeedsBody || rt.Authorizer == nil {
		if bs, ok := rt.serve.(integration.BodyStreamer); ok && bs.StreamsBody() { // the composed integration: token metering buffers
			rest, err := readStreamed(w, r, bp, ir, s.deps.Timeouts)
			if err != nil {
				return err
			}
			if rest != nil {
				defer func() { w.bodyLen = rest.n }()
			}
		} else if err := read(); err != nil {
			return err
		}
	}

	// Integrate, within the integration timeout.
	if t := rt.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if ir.Record != nil {
		ir.Record.Function = rt.Function
		ctx = queue.WithWaitReport(ctx, &ir.Record.QueueWait)
	}
	ctx, end = s.deps.Tracer.StartIntegration(ctx, rt.IntegrationType, rt.Target)
	if rt.TraceHeaders && s.deps.Tracer != nil {
		trace.Inject(ctx, r.Header) // the upstream continues the trace (r is the copy made above)
	}
	w.integStart = s.deps.Now()
	err = rt.serve.Serve(ctx, w, ir)
	end(err)
	return err
}

// integrate composes a route's integration with the wrappers its compiled
// values ask for, outermost first as the package comment lists them: token
// limits and metering, then the concurrency queue, then the integration.
// It runs once per route when a stage is compiled, so requests pay nothing
// for the composition.
func integrate(rt *Route) integration.Integration {
	it := rt.Integration
	if rt.Queue != nil {
		it = queue.Wrap(rt.Queue, it)
	}
	if rt.Tokens != nil {
		it = openai.Wrap(*rt.Tokens, it)
	}
	return it
}

// orFraming returns the framing refusal when there is one, else err: a
// connection with ambiguous framing gets 400 and is closed, never a 404
// that keeps it open.
func orFraming(framing, err error) error {
	if framing != nil {
		return framing
	}
	return err
}

// throttle takes a token from every bucket the request counts against: its
// API key's plan bucket and quota (routes that require a key), the
// account's, and the stage's or route's (the most specific configured).
func (s *Server) throttle(ctx context.Context, d *Deployment, api *API, stage *Stage, rt *Route, r *http.Request, ir *integration.Request) error {
	if rt.APIKeyRequired {
		if s.deps.APIKeys == nil {
			return edge.New(edge.Forbidden, errors.New("api keys are not configured"))
		}
		name, err := s.deps.APIKeys.Check(ctx, r.Header.Get("X-Api-Key"), api.Name+"/"+stage.Name)
		if err != nil {
			return err
		}
		ir.APIKey = name
	}
	if s.deps.Limiter == nil {
		return nil
	}
	if d.account != nil {
		if err := s.refusal(s.deps.Limiter.Take(ctx, "account", *d.account)); err != nil {
			return err
		}
	}
	if rt.Throttle != nil {
		if err := s.refusal(s.deps.Limiter.Take(ctx, rt.ThrottleKey, *rt.Throttle)); err != nil {
			return err
		}
	}
	return nil
}

// headerBytes is what API Gateway counts against its 10 240-byte limit: the
// request line and the header values.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 2
	for _, vs := range r.Header {
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// recorder remembers the status and size of the response for the access
// log, and whether anything was written (after which errors cannot be
// rendered any more).
//
// With a CORS policy it also fixes the CORS headers of every response,
// integration responses and gateway errors alike, just before the header
// is sent.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool

	cors   *cors.Policy
	origin string

	stage      *Stage    // the selected stage, for its sinks
	integStart time.Time // when the integration was called
	firstByte  time.Time // when its response header was sent
	bodyLen    int64     // request body bytes read
}

// commit records that the header is being sent with status code.
func (w *recorder) commit(code int) {
	w.status, w.wrote = code, true
	if !w.integStart.IsZero() {
		w.firstByte = time.Now()
	}
	if w.cors != nil {
		w.cors.Apply(w.ResponseWriter.Header(), w.origin)
	}
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.commit(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if !w.wrote {
		w.commit(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Flush lets integrations stream (server-sent events, chunked bodies).
func (w *recorder) Flush() {
	if !w.wrote {
		w.commit(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID returns an id shaped like API Gateway's: 16 characters of
// base64 ("Mc7UVioPPHcEKPA=").
func newRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func hostOnly(hostport string) string {
	if strings.IndexByte(hostport, ':') < 0 {
		return hostport // no port (SplitHostPort would allocate an error)
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// refusal applies throttle.Refusal to a Take, without a Retry-After header
// as API Gateway answers its own throttling, and logs a store failure that
// the fail-open policy let through.
func (s *Server) refusal(d throttle.Decision, err error) error {
	if err != nil && d.Allowed {
		s.deps.Logger.Warn("throttle store failed; request let through (fail open)", "err", err)
	}
	return throttle.Refusal(d, err, false)
}
