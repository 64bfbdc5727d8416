package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

// Timeouts bound how long a client may take to send its request. The zero
// value means the defaults.
type Timeouts struct {
	// Header is the time allowed to read a request's line and header
	// fields; when it passes, the connection is closed without a response
	// (net/http's ReadHeaderTimeout). 0 means 30s.
	Header time.Duration
	// Body is the time allowed to read a request body before MinRate
	// extends it: a body that has not arrived in time gets 408 and the
	// connection is closed. 0 means 20s.
	Body time.Duration
	// BodyMinRate is the slowest upload kept going: every BodyMinRate
	// bytes received extend the body's deadline by one second (Apache
	// mod_reqtimeout's MinRate). 0 means 500 bytes a second; negative turns
	// the extension off, so that Body bounds the whole body.
	BodyMinRate int
	// Idle is how long a kept-alive connection may wait for its next
	// request. 0 means 2m.
	Idle time.Duration
}

// The defaults of Timeouts: Apache's mod_reqtimeout defaults for the body
// (20 s, then 500 B/s), and room for slow networks on the head.
const (
	DefaultHeaderTimeout = 30 * time.Second
	DefaultBodyTimeout   = 20 * time.Second
	DefaultBodyMinRate   = 500
	DefaultIdleTimeout   = 2 * time.Minute
)

// withDefaults fills the zero fields of t.
func (t Timeouts) withDefaults() Timeouts {
	if t.Header <= 0 {
		t.Header = DefaultHeaderTimeout
	}
	if t.Body <= 0 {
		t.Body = DefaultBodyTimeout
	}
	if t.BodyMinRate == 0 {
		t.BodyMinRate = DefaultBodyMinRate
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// maxHeaderBytes is net/http's limit on a request head; heads up to it reach
// the pipeline, which applies API Gateway's own 10 240-byte rule.
const maxHeaderBytes = 64 << 10

// NewHTTPServer returns the http.Server that fronts h with the gateway's
// connection limits and timeouts t (h's own body timeouts are its Deps').
// Serve it on a FramingListener so that requests with ambiguous framing
// are refused.
func NewHTTPServer(h http.Handler, t Timeouts) *http.Server {
	t = t.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.Header,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       connContext,
	}
}

// bodyReader reads a request body within MaxBodyBytes (for bodies whose
// length was not declared up front) and the body timeouts: the
// connection's read deadline starts at t.Body from when it was made and
// moves one second later for every t.BodyMinRate bytes. Its errors are
// *edge.Error: 413 over the limit, 408 with "Connection: close" when too
// slow, 400 when the body broke off. Deadlines are the connection's, on the
// wall clock. It is the buffered path's reader and a streamed body's
// (integration.Request.BodyRest).
type bodyReader struct {
	r     *http.Request
	t     Timeouts
	rc    *http.ResponseController // nil when not a connection
	start time.Time
	n     int64 // bytes read
	err   error // sticky: io.EOF at the end
}

func newBodyReader(w http.ResponseWriter, r *http.Request, t Timeouts) *bodyReader {
	b := &bodyReader{r: r, t: t, rc: http.NewResponseController(w), start: time.Now()}
	if b.rc.SetReadDeadline(bodyDeadline(b.start, t, 0)) != nil {
		b.rc = nil // not a connection (tests with a recorder)
	}
	return b
}

// Read reads from the body, enforcing the limit and the timeouts.
func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Body.Read(p)
	b.n += int64(n)
	switch {
	case b.n > MaxBodyBytes:
		err = edge.New(edge.PayloadTooLarge, fmt.Errorf("body exceeds %d bytes", MaxBodyBytes))
	case err == nil || err == io.EOF:
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = &edge.Error{Kind: edge.RequestTimeout, Header: closeHeader(),
			Cause: fmt.Errorf("read body: %d bytes in %v, too slow: %w", b.n, b.t.Body, err)}
	default:
		err = edge.New(edge.BadRequest, fmt.Errorf("read body: %w", err))
	}
	if err != nil {
		b.finish(err)
	} else if b.rc != nil && n > 0 && b.t.BodyMinRate > 0 {
		_ = b.rc.SetReadDeadline(bodyDeadline(b.start, b.t, b.n))
	}
	return n, err
}

// finish ends the reading with err. The deadline is lifted for the next
// request; after a timeout it stays passed, so that net/http, which reads
// what is left of an unread body before closing, closes at once.
func (b *bodyReader) finish(err error) {
	b.err = err
	var e *edge.Error
	if b.rc != nil && !(errors.As(err, &e) && e.Kind == edge.RequestTimeout) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

// readBody reads the whole request body into buf (see bodyReader).
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, t Timeouts) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return buf, nil
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
	}
	buf, _, err := readAhead(newBodyReader(w, r, t), buf, MaxBodyBytes+1)
	return buf, err
}

// StreamAhead is how much of a body the gateway reads before calling an
// integration that streams bodies (integration.BodyStreamer): a body up to
// this size reaches it whole, buffered (so that it can be sent again, to
// another upstream); only the rest of a longer one is streamed.
const StreamAhead = 64 << 10

// readStreamed reads the body's first StreamAhead bytes into *bp and
// ir.Body; when more follows, it sets ir.BodyRest to read the rest. It
// returns the body's reader, whose count of bytes read is the body's
// length once the integration is done, or nil when there is no body.
func readStreamed(w http.ResponseWriter, r *http.Request, bp *[]byte, ir *integration.Request, t Timeouts) (*bodyReader, error) {
	ir.BodyLength = r.ContentLength
	if r.Body == nil || r.Body == http.NoBody {
		ir.Body = (*bp)[:0]
		return nil, nil
	}
	buf := (*bp)[:0]
	if want := min(int64(StreamAhead), r.ContentLength); want < 0 || int64(cap(buf)) < want {
		buf = make([]byte, 0, StreamAhead)
	}
	b := newBodyReader(w, r, t)
	buf, done, err := readAhead(b, buf, StreamAhead)
	*bp, ir.Body = buf, buf
	if err == nil && !done {
		ir.BodyRest = b
	}
	return b, err
}

// readAhead appends up to limit bytes of b's body to buf. done reports
// that the whole body is in buf.
func readAhead(b *bodyReader, buf []byte, limit int) (_ []byte, done bool, err error) {
	r := b.r
	for {
		if r.ProtoMajor == 1 && int64(len(buf)) == r.ContentLength {
			// The whole declared body is in (net/http ends an HTTP/1.x
			// body at its length): growing the buffer only to read EOF
			// would copy it into one 25% larger.
			b.finish(io.EOF)
			return buf, true, nil
		}
		if len(buf) >= limit {
			return buf, false, nil
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := b.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}

// bodyDeadline is when a body whose reading began at start must have
// arrived, given that received bytes have: t.Body, plus a second for every
// t.BodyMinRate bytes.
func bodyDeadline(start time.Time, t Timeouts, received int64) time.Time {
	d := start.Add(t.Body)
	if t.BodyMinRate > 0 {
		d = d.Add(time.Duration(received) * time.Second / time.Duration(t.BodyMinRate))
	}
	return d
}
