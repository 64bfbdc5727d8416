package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/portico-dev/portico/internal/edge"
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

// readBody reads the request body into buf, enforcing MaxBodyBytes on
// bodies whose length was not declared up front, and the body timeouts:
// the connection's read deadline starts at t.Body from now and moves one
// second later for every t.BodyMinRate bytes. A body too slow gets 408 with
// "Connection: close". Deadlines are the connection's, on the wall clock.
func readBody(w http.ResponseWriter, r *http.Request, buf []byte, t Timeouts) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return buf, nil
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
	}
	rc := http.NewResponseController(w)
	start := time.Now()
	if rc.SetReadDeadline(bodyDeadline(start, t, 0)) != nil {
		rc = nil // not a connection (tests with a recorder)
	}
	buf, err := readBodyTimed(r, buf, t, rc, start)
	if rc != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline is lifted for the next request; after a timeout
		// it stays passed, so that net/http, which reads what is left of
		// an unread body before closing, closes at once.
		_ = rc.SetReadDeadline(time.Time{})
	}
	return buf, err
}

func readBodyTimed(r *http.Request, buf []byte, t Timeouts, rc *http.ResponseController, start time.Time) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			if r.ProtoMajor == 1 && int64(len(buf)) == r.ContentLength {
				// The whole declared body is in (net/http ends an
				// HTTP/1.x body at its length): growing the buffer
				// only to read EOF would copy it into one 25% larger.
				return buf, nil
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > MaxBodyBytes {
			return buf, edge.New(edge.PayloadTooLarge, fmt.Errorf("body exceeds %d bytes", MaxBodyBytes))
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return buf, &edge.Error{Kind: edge.RequestTimeout, Header: closeHeader(),
					Cause: fmt.Errorf("read body: %d bytes in %v, too slow: %w", len(buf), t.Body, err)}
			}
			return buf, edge.New(edge.BadRequest, fmt.Errorf("read body: %w", err))
		}
		if rc != nil && n > 0 && t.BodyMinRate > 0 {
			_ = rc.SetReadDeadline(bodyDeadline(start, t, int64(len(buf))))
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
