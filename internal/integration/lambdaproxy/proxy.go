// Package lambdaproxy is the AWS_PROXY integration of HTTP APIs: it encodes
// the client's request as a Lambda proxy event (payload format 1.0 or 2.0),
// invokes the function synchronously and maps its result back to an HTTP
// response, the way Amazon API Gateway does.
//
// The event encoders (AppendEventV2, AppendEventV1) and response decoders
// (DecodeResponseV2, DecodeResponseV1) are usable on their own; Proxy ties
// them to an Invoker. docs/lambda-proxy.md lists every mapping rule and the
// AWS sources behind it.
package lambdaproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/invocation"
)

// Config is one AWS_PROXY integration.
type Config struct {
	// Function is the function to invoke: a name, an ARN or a partial ARN,
	// optionally with a :qualifier. It is passed to the Invoker unchanged.
	Function string
	// PayloadFormatVersion is "1.0" or "2.0" (required by API Gateway when
	// an integration is created through the API).
	PayloadFormatVersion string
	// Region and AccountID stand in for what the request lacks: AccountID is
	// the event's accountId when the gateway gave none, and with Region
	// forms the domainName ({apiId}.execute-api.{region}.amazonaws.com)
	// when the request has no host.
	Region, AccountID string
	// InvokeMode is InvokeModeBuffered ("" means the same) or
	// InvokeModeResponseStream: the function's response stream is forwarded
	// to the client chunk by chunk (see docs/streaming.md); the invoker
	// must then also be a StreamInvoker.
	InvokeMode string
	// IdleTimeout, in RESPONSE_STREAM mode, ends an invocation whose
	// function sends nothing for this long (0: none): 503 before the first
	// byte, an aborted response after it.
	IdleTimeout time.Duration
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.Function == "" {
		errs = append(errs, errors.New("lambda proxy: function is required"))
	}
	switch c.PayloadFormatVersion {
	case "1.0", "2.0":
	default:
		errs = append(errs, fmt.Errorf("lambda proxy: payloadFormatVersion %q: must be \"1.0\" or \"2.0\"", c.PayloadFormatVersion))
	}
	switch c.InvokeMode {
	case "", InvokeModeBuffered, InvokeModeResponseStream:
	default:
		errs = append(errs, fmt.Errorf("lambda proxy: invokeMode %q: must be %s or %s", c.InvokeMode, InvokeModeBuffered, InvokeModeResponseStream))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("lambda proxy: idle timeout %s: must not be negative", c.IdleTimeout))
	}
	return errors.Join(errs...)
}

// Invoker runs one synchronous invocation; *lambda's runner satisfies it.
//
// Invoke returns the function's result, including function errors (in
// Result.FunctionError), or an error: a *invocation.ServiceError when the
// Lambda service rejected the call (unknown function, throttled...), ctx's
// error when ctx ended first, anything else for other failures. It must not
// keep req.Payload after it returns.
type Invoker interface {
	Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error)
}

// Proxy is an AWS_PROXY integration. It is safe for concurrent use.
type Proxy struct {
	cfg Config
	inv Invoker
	v1  bool
}

var _ integration.Integration = (*Proxy)(nil)

// New returns the integration for cfg, invoking functions through inv. cfg
// should have passed Validate; a Proxy with an invalid payload format
// version fails every request with a 500.
func New(cfg Config, inv Invoker) *Proxy {
	return &Proxy{cfg: cfg, inv: inv, v1: cfg.PayloadFormatVersion == "1.0"}
}

// maxPooledBuffer bounds the event buffers kept for reuse.
const maxPooledBuffer = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Serve invokes the function with r's event and writes its response.
//
// Errors, all returned before anything is written: the integration timeout
// (ctx's deadline) is a 503 Service Unavailable; a function error, an
// invalid function response, a Lambda service error (including throttling)
// or any other invoke failure is a 500 Internal Server Error; when the
// client went away (ctx cancelled) the error is returned for the logs with
// nothing to render. In RESPONSE_STREAM mode see serveStream: the body is
// forwarded as the function streams it, and a failure after the first byte
// aborts the response.
func (p *Proxy) Serve(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
	if p.cfg.PayloadFormatVersion != "1.0" && p.cfg.PayloadFormatVersion != "2.0" {
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: payloadFormatVersion %q: must be \"1.0\" or \"2.0\"", p.cfg.Function, p.cfg.PayloadFormatVersion))
	}
	path, err := EventPath(r.RawPath)
	if err != nil {
		return edge.New(edge.BadRequest, fmt.Errorf("lambda %s: %w", p.cfg.Function, err))
	}
	if (r.AccountID == "" && p.cfg.AccountID != "") || (r.DomainName == "" && p.cfg.Region != "" && r.APIID != "") || path != r.RawPath {
		rr := *r
		rr.RawPath = path
		if rr.AccountID == "" {
			rr.AccountID = p.cfg.AccountID
		}
		if rr.DomainName == "" && p.cfg.Region != "" && rr.APIID != "" {
			rr.DomainName = rr.APIID + ".execute-api." + p.cfg.Region + ".amazonaws.com"
		}
		r = &rr
	}

	bp := bufPool.Get().(*[]byte)
	if p.v1 {
		*bp = AppendEventV1((*bp)[:0], r)
	} else {
		*bp = AppendEventV2((*bp)[:0], r)
	}
	if p.cfg.InvokeMode == InvokeModeResponseStream {
		// As below, the buffer is reused only after a clean invocation.
		err := p.serveStream(ctx, w, r, *bp)
		if err == nil && cap(*bp) <= maxPooledBuffer {
			bufPool.Put(bp)
		}
		return err
	}
	res, err := p.inv.Invoke(ctx, &invocation.Request{
		FunctionName: p.cfg.Function,
		Payload:      *bp,
		TraceID:      TraceID(r),
	})
	if err != nil {
		// The invoker may still hold the payload (a queued invocation):
		// leave the buffer to the garbage collector.
		return p.invokeError(ctx, err)
	}
	if cap(*bp) <= maxPooledBuffer {
		bufPool.Put(bp)
	}
	if res == nil {
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: invoke returned no result", p.cfg.Function))
	}
	if rec := r.Record; rec != nil {
		rec.FunctionRequestID, rec.ColdStart = res.RequestID, res.Cold
	}
	if res.FunctionError != "" {
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: function error %s: %s", p.cfg.Function, res.FunctionError, truncate(res.Payload)))
	}

	var resp *Response
	if p.v1 {
		resp, err = DecodeResponseV1(res.Payload)
	} else {
		resp, err = DecodeResponseV2(res.Payload)
	}
	if err != nil {
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: %w", p.cfg.Function, err))
	}
	if resp.StatusCode < 200 {
		// A 1xx would be sent as an interim response and followed by a
		// second status line: there is no way to make it the final one.
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: response statusCode %d: informational status as final response", p.cfg.Function, resp.StatusCode))
	}
	if err := writeResponse(w, resp, r.HTTP != nil && r.HTTP.Method == http.MethodHead); err != nil {
		return fmt.Errorf("lambda %s: write response: %w", p.cfg.Function, err)
	}
	return nil
}

// invokeError maps a failed invocation to the gateway's response.
func (p *Proxy) invokeError(ctx context.Context, err error) error {
	err = fmt.Errorf("lambda %s: invoke: %w", p.cfg.Function, err)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return edge.New(edge.ServiceUnavailable, err)
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return err // the client went away: nothing to render
	}
	// Lambda service errors (throttling included) and other failures: API
	// Gateway answers 500 when the Lambda API rejects the invocation.
	return edge.New(edge.InternalError, err)
}

// writeResponse writes resp with an exact Content-Length. Function headers
// replace any the gateway set under the same name. The answer to a HEAD
// request (head) has no body and keeps the Content-Length the function
// declared, when it declared one, as the GET it stands for would have. The
// error is the body write's, with the response already committed.
func writeResponse(w http.ResponseWriter, resp *Response, head bool) error {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	bodyAllowed := resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	switch {
	case !bodyAllowed:
		delete(h, "Content-Length")
	case head && resp.DeclaredLength >= 0:
		h["Content-Length"] = []string{strconv.FormatInt(resp.DeclaredLength, 10)}
	default:
		h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	}
	w.WriteHeader(resp.StatusCode)
	if bodyAllowed && !head && len(resp.Body) > 0 {
		_, err := w.Write(resp.Body)
		return err
	}
	return nil
}
