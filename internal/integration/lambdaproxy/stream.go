package lambdaproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/invocation"
)

// Invoke modes of an AWS_PROXY integration (spec Integration.InvokeMode).
const (
	InvokeModeBuffered       = "BUFFERED"
	InvokeModeResponseStream = "RESPONSE_STREAM"
)

// HTTPIntegrationContentType is the content type of a stream that starts
// with an HTTP prelude (awslambda.HttpResponseStream.from): a JSON object
// with statusCode, headers and cookies, 8 NUL bytes, then the body.
const HTTPIntegrationContentType = "application/vnd.awslambda.http-integration-response"

// maxPrelude bounds the JSON prelude of an HTTP-integration stream.
const maxPrelude = 64 * 1024

// preludeDelimiter ends the prelude.
var preludeDelimiter = make([]byte, 8)

// StreamInvoker runs a streamed invocation; *lambda.Runner satisfies it.
// See lambda.Runner.InvokeStream for the contract: chunks reach w as the
// function sends them, w is not used after InvokeStream returns, function
// failures are in the result, and ctx ending kills the invocation.
type StreamInvoker interface {
	InvokeStream(ctx context.Context, req *invocation.Request, w invocation.StreamWriter, opts invocation.StreamOptions) (*invocation.StreamResult, error)
}

// serveStream is Serve for RESPONSE_STREAM integrations.
//
// The function's response is not a payload-format response object: it is
// the body itself, written to the client chunk by chunk and flushed after
// each. A stream of type HTTPIntegrationContentType sets the status,
// headers and cookies from its prelude; any other stream is a 200 with the
// function's content type (application/octet-stream when it set none).
//
// Failures before the first byte reach the client as in buffered mode
// (500, or 503 for the integration timeout and the idle timeout); after it,
// the response is aborted (panic(http.ErrAbortHandler)): an HTTP/1.1 client
// sees the connection close before the terminating chunk, an HTTP/2 client
// a stream reset.
func (p *Proxy) serveStream(ctx context.Context, w http.ResponseWriter, r *integration.Request, payload []byte) error {
	si, ok := p.inv.(StreamInvoker)
	if !ok {
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: invoke mode %s: the invoker cannot stream", p.cfg.Function, InvokeModeResponseStream))
	}
	sw := &streamResponse{w: w, rc: http.NewResponseController(w)}
	res, err := si.InvokeStream(ctx, &invocation.Request{
		FunctionName: p.cfg.Function,
		Payload:      payload,
		TraceID:      TraceID(r),
	}, sw, invocation.StreamOptions{IdleTimeout: p.cfg.IdleTimeout})
	if rec := r.Record; rec != nil && res != nil {
		rec.FunctionRequestID, rec.ColdStart = res.RequestID, res.Cold
	}
	if err == nil && res != nil && res.FunctionError == "" && !sw.wrote {
		// A successful stream that never completed its prelude (or wrote
		// nothing at all after Begin).
		err = sw.finish()
	}
	switch {
	case err == nil && res == nil:
		err = edge.New(edge.InternalError, fmt.Errorf("lambda %s: invoke returned no result", p.cfg.Function))
	case err != nil && !sw.wrote:
		if sw.err != nil && ctx.Err() == nil {
			// The function's stream was not a valid response.
			return edge.New(edge.InternalError, fmt.Errorf("lambda %s: %w", p.cfg.Function, sw.err))
		}
		if errors.Is(err, invocation.ErrStreamIdle) {
			return edge.New(edge.ServiceUnavailable, fmt.Errorf("lambda %s: invoke: %w", p.cfg.Function, err))
		}
		return p.invokeError(ctx, err)
	case err == nil && res.FunctionError != "" && !sw.wrote:
		return edge.New(edge.InternalError, fmt.Errorf("lambda %s: function error %s: %s", p.cfg.Function, res.FunctionError, truncate(res.Payload)))
	case err == nil && res.FunctionError == "":
		return nil
	}
	// Mid-stream: the function failed, timed out, went idle, or the client
	// went away. Cut the response so that the client cannot mistake it for
	// a complete one.
	if err == nil {
		err = fmt.Errorf("lambda %s: function error %s mid-stream: %s", p.cfg.Function, res.ErrorType, truncate(res.Payload))
	}
	if r.Record != nil {
		r.Record.IntegrationError = err.Error()
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return err // the client is gone: nothing to cut
	}
	panic(http.ErrAbortHandler)
}

// streamResponse is the invocation.StreamWriter that writes a function's stream
// to the client.
type streamResponse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	prelude bool   // the stream starts with an HTTP prelude
	pre     []byte // prelude bytes so far
	wrote   bool   // the response head is written
	err     error  // a write or prelude error; the stream stops
}

var _ invocation.StreamWriter = (*streamResponse)(nil)

// Begin starts the response, or waits for the prelude.
func (s *streamResponse) Begin(contentType string) error {
	if contentType == HTTPIntegrationContentType {
		s.prelude = true
		return nil
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return s.head(http.StatusOK, http.Header{"Content-Type": {contentType}})
}

// Write passes one chunk to the client, or to the prelude.
func (s *streamResponse) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.prelude && !s.wrote {
		s.pre = append(s.pre, p...)
		i := bytes.Index(s.pre, preludeDelimiter)
		if i < 0 {
			if len(s.pre) > maxPrelude {
				s.err = fmt.Errorf("response stream prelude: no 8-NUL delimiter within %d bytes", maxPrelude)
				return 0, s.err
			}
			return len(p), nil
		}
		if err := s.headFromPrelude(s.pre[:i]); err != nil {
			return 0, err
		}
		if body := s.pre[i+len(preludeDelimiter):]; len(body) > 0 {
			if err := s.body(body); err != nil {
				return 0, err
			}
		}
		s.pre = nil
		return len(p), nil
	}
	if err := s.body(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// finish handles a successful stream whose head is not written yet: a
// prelude without its delimiter is taken as the whole prelude.
func (s *streamResponse) finish() error {
	if s.err != nil {
		return s.err
	}
	if !s.prelude {
		return s.head(http.StatusOK, http.Header{"Content-Type": {"application/octet-stream"}})
	}
	return s.headFromPrelude(s.pre)
}

// prelude is the JSON head of an HTTP-integration stream.
type prelude struct {
	StatusCode *int                    `json:"statusCode"`
	Headers    map[string]*headerValue `json:"headers"` // scalars as in buffered responses
	Cookies    []string                `json:"cookies"`
}

func (s *streamResponse) headFromPrelude(raw []byte) error {
	var pl prelude
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&pl); err != nil {
		s.err = fmt.Errorf("response stream prelude: %w", err)
		return s.err
	}
	status := http.StatusOK
	if pl.StatusCode != nil {
		status = *pl.StatusCode
	}
	if status < 200 || status > 599 {
		s.err = fmt.Errorf("response stream prelude: statusCode %d: must be 200..599", status)
		return s.err
	}
	h := http.Header{}
	for k, v := range pl.Headers {
		if v != nil {
			addHeader(h, k, string(*v))
		}
	}
	for _, c := range pl.Cookies {
		addHeader(h, "Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	return s.head(status, h)
}

// head writes the status and headers and flushes them.
func (s *streamResponse) head(status int, fh http.Header) error {
	h := s.w.Header()
	for k, vs := range fh {
		h[k] = vs
	}
	delete(h, "Content-Length")
	s.wrote = true
	s.w.WriteHeader(status)
	if err := s.rc.Flush(); err != nil {
		s.err = fmt.Errorf("flush: %w", err)
	}
	return s.err
}

// body writes and flushes one chunk.
func (s *streamResponse) body(p []byte) error {
	if _, err := s.w.Write(p); err != nil {
		s.err = fmt.Errorf("write: %w", err)
		return s.err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = fmt.Errorf("flush: %w", err)
	}
	return s.err
}
