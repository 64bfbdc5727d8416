// Package functionurl serves Lambda function URLs on the gateway listener:
// the payload 2.0 event AWS sends for URLs, BUFFERED and RESPONSE_STREAM
// invoke modes (the same lambdaproxy integration HTTP API routes use), the
// URL's CORS configuration, and AWS_IAM authorization (SigV4, service
// lambda, IAM action lambda:InvokeFunctionUrl on the function's ARN).
//
// A URL is addressed two ways, both usable with curl:
//
//	http://{urlId}.lambda-url.{region}.localhost:PORT/path   (AWS: https://{urlId}.lambda-url.{region}.on.aws/path)
//	http://HOST:PORT/_lambda-url/{function}/path
package functionurl

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/integration/lambdaproxy"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
)

// InvokeAction is the IAM action an AWS_IAM function URL requires.
const InvokeAction = "lambda:InvokeFunctionUrl"

// PathPrefix is the path convention's prefix: /_lambda-url/{function}/...
const PathPrefix = "/_lambda-url/"

// MaxBodyBytes is the request payload quota of function URLs: 6 MB.
const MaxBodyBytes = 6 << 20

// URL is one function's URL.
type URL struct {
	Function string
	// ID is the url id, the first label of the host name.
	ID string
	// AuthorizationType is NONE or AWS_IAM.
	AuthorizationType string
	// InvokeMode is BUFFERED ("" means the same) or RESPONSE_STREAM.
	InvokeMode string
	// CORS is the URL's policy; nil for none.
	CORS *cors.Policy
}

// Config is every function URL of a deployment. It is read once by New.
type Config struct {
	Region, AccountID string
	URLs              []URL
}

// Deps are the Handler's collaborators.
type Deps struct {
	// Invoker runs the function; for RESPONSE_STREAM it must also be a
	// lambdaproxy.StreamInvoker (the function runner is). Required.
	Invoker lambdaproxy.Invoker
	// Principals resolves the access keys of AWS_IAM callers; nil refuses
	// every AWS_IAM call.
	Principals s3.Principals
	// Sinks receive one Record per request (metrics, the console), with
	// APIName "function-url/NAME".
	Sinks  []observe.Sink
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler serves the function URLs of one deployment. Safe for
// concurrent use.
type Handler struct {
	cfg    Config
	deps   Deps
	byID   map[string]*entry
	byName map[string]*entry
	keys   sigv4.KeyCache
}

type entry struct {
	URL
	proxy *lambdaproxy.Proxy
}

var _ http.Handler = (*Handler)(nil)

// New returns the Handler for cfg.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Invoker == nil {
		return nil, errors.New("functionurl: Deps.Invoker is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	h := &Handler{cfg: cfg, deps: deps, byID: map[string]*entry{}, byName: map[string]*entry{}}
	for _, u := range cfg.URLs {
		mode := lambdaproxy.InvokeModeBuffered
		if u.InvokeMode == lambdaproxy.InvokeModeResponseStream {
			mode = lambdaproxy.InvokeModeResponseStream
		}
		pc := lambdaproxy.Config{Function: u.Function, PayloadFormatVersion: "2.0", Region: cfg.Region, AccountID: cfg.AccountID, InvokeMode: mode}
		if err := pc.Validate(); err != nil {
			return nil, err
		}
		e := &entry{URL: u, proxy: lambdaproxy.New(pc, deps.Invoker)}
		h.byID[u.ID], h.byName[u.Function] = e, e
	}
	return h, nil
}

// Host is the local host name of a URL id (without the port).
func Host(id, region string) string { return id + ".lambda-url." + region + ".localhost" }

// AWSURL is the URL AWS gives a function URL with this id.
func AWSURL(id, region string) string { return "https://" + id + ".lambda-url." + region + ".on.aws/" }

// Match reports whether r addresses a function URL: by host name
// ({id}.lambda-url.…) or by the /_lambda-url/ path prefix.
func Match(r *http.Request) bool {
	return strings.Contains(r.Host, ".lambda-url.") || strings.HasPrefix(r.URL.Path, PathPrefix)
}

// resolve finds the URL r addresses and the path the function sees.
func (h *Handler) resolve(r *http.Request) (*entry, string, string) {
	raw := r.URL.EscapedPath()
	if i := strings.Index(r.Host, ".lambda-url."); i > 0 {
		return h.byID[strings.ToLower(r.Host[:i])], raw, r.Host
	}
	rest := strings.TrimPrefix(raw, PathPrefix)
	name, tail, _ := strings.Cut(rest, "/")
	e := h.byName[name]
	if e == nil {
		return nil, "", ""
	}
	host := Host(e.ID, h.cfg.Region)
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		host = net.JoinHostPort(host, port)
	}
	return e, "/" + tail, host
}

// ServeHTTP invokes the function a URL request addresses.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.deps.Now()
	// Function URLs answer with Lambda's request id header, not API
	// Gateway's.
	w.Header().Del("Apigw-Requestid")
	reqID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	e, path, host := h.resolve(r)
	if e == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	origin := r.Header.Get("Origin")
	if e.CORS != nil && origin != "" {
		if pre, ok := e.CORS.Preflight(r); ok {
			for k, vs := range pre.Header {
				w.Header()[k] = vs
			}
			w.WriteHeader(pre.Status)
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	ir := &integration.Request{HTTP: r, Body: body, RawPath: path, Path: path, RouteKey: "$default", Stage: "$default",
		RequestID: reqID, Time: start, APIID: e.ID, AccountID: "anonymous", DomainName: hostOnly(host), SourceIP: hostOnly(r.RemoteAddr)}
	if e.AuthorizationType == "AWS_IAM" {
		who, status := h.authorize(r, body, e)
		if who == nil {
			writeError(w, status, http.StatusText(status))
			return
		}
		ir.Authorizer, ir.AccountID = &integration.Authorizer{IAM: who}, h.cfg.AccountID
	}
	if e.CORS != nil && origin != "" {
		e.CORS.Apply(w.Header(), origin)
	}
	rw := &tracking{ResponseWriter: w}
	if len(h.deps.Sinks) > 0 {
		ir.Record = &observe.Record{}
		defer h.observe(ir, rw, e, start)
	}
	if err := e.proxy.Serve(r.Context(), rw, ir); err != nil {
		if rw.wrote {
			panic(http.ErrAbortHandler) // a stream failed mid-way: the client must see it
		}
		if ee := edge.As(err); ee.Kind == edge.InternalError || ee.Kind == edge.ServiceUnavailable {
			h.deps.Logger.Warn("function url: invoke failed", "function", e.Function, "err", err)
			writeError(rw, http.StatusBadGateway, "Internal Server Error")
			return
		}
		edge.Render(rw, err)
	}
}

// authorize checks an AWS_IAM call: the identity for the event, or nil
// and the status to answer (403 as AWS's function URLs do).
func (h *Handler) authorize(r *http.Request, body []byte, e *entry) (map[string]any, int) {
	if h.deps.Principals == nil {
		return nil, http.StatusForbidden
	}
	v := &sigv4.Verifier{Lookup: func(k string) (sigv4.Credentials, bool) {
		p, ok := h.deps.Principals.Principal(k)
		if !ok {
			return sigv4.Credentials{}, false
		}
		return p.Credentials, true
	}, Now: h.deps.Now, Region: h.cfg.Region, Keys: &h.keys}
	id, err := v.Verify(r, body, "lambda")
	if err != nil {
		h.deps.Logger.Debug("function url: signature refused", "function", e.Function, "err", err)
		return nil, http.StatusForbidden
	}
	p, ok := h.deps.Principals.Principal(id.AccessKeyID)
	if !ok {
		return nil, http.StatusForbidden
	}
	arn := invocation.FunctionARN(h.cfg.Region, h.cfg.AccountID, e.Function)
	if !p.Admin && iam.Evaluate(p.Policies, InvokeAction, arn) != iam.Allow {
		h.deps.Logger.Debug("function url: not allowed", "function", e.Function, "principal", p.Name)
		return nil, http.StatusForbidden
	}
	userARN := p.ARN
	if userARN == "" {
		userARN = "arn:aws:iam::" + h.cfg.AccountID + ":user/" + p.Name
	}
	return map[string]any{"accessKey": id.AccessKeyID, "accountId": h.cfg.AccountID, "callerId": id.AccessKeyID,
		"cognitoIdentity": nil, "principalOrgId": nil, "userArn": userARN, "userId": id.AccessKeyID}, 0
}

// observe completes the request's Record and hands it to the sinks.
func (h *Handler) observe(ir *integration.Request, rw *tracking, e *entry, start time.Time) {
	rec, r := ir.Record, ir.HTTP
	rec.RequestID, rec.Time, rec.APIID, rec.APIName = ir.RequestID, start, e.ID, "function-url/"+e.Function
	rec.AccountID, rec.Stage, rec.RouteKey, rec.Function = h.cfg.AccountID, "$default", "$default", e.Function
	rec.HTTPMethod, rec.Path, rec.Protocol = r.Method, ir.RawPath, integration.Protocol(r)
	rec.DomainName, rec.SourceIP, rec.UserAgent = ir.DomainName, ir.SourceIP, r.UserAgent()
	rec.Status, rec.RequestLen, rec.ResponseLen = rw.status, int64(len(ir.Body)), rw.bytes
	if rec.Status == 0 {
		rec.Status = http.StatusBadGateway
	}
	rec.ResponseLatency = h.deps.Now().Sub(start)
	for _, s := range h.deps.Sinks {
		s.Observe(rec)
	}
}

// tracking notes whether a response has started, its status and size.
type tracking struct {
	http.ResponseWriter
	wrote  bool
	status int
	bytes  int64
}

func (t *tracking) WriteHeader(code int) {
	if !t.wrote {
		t.status = code
	}
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}
func (t *tracking) Write(p []byte) (int, error) {
	if !t.wrote {
		t.status = http.StatusOK
	}
	t.wrote = true
	n, err := t.ResponseWriter.Write(p)
	t.bytes += int64(n)
	return n, err
}
func (t *tracking) Flush() {
	if !t.wrote {
		t.status = http.StatusOK
	}
	t.wrote = true
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (t *tracking) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// writeError answers as function URLs do: {"Message": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", strings.ReplaceAll(msg, " ", "")+"Exception")
	w.WriteHeader(status)
	io.WriteString(w, `{"Message":"`+msg+`"}`)
}

func hostOnly(hp string) string {
	if h, _, err := net.SplitHostPort(hp); err == nil {
		return h
	}
	return hp
}

// newRequestID is a request id as Lambda's look (a UUID).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
