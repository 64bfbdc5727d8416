package gateway

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/edge"
)

// The gateway's HTTP/1.1 framing guard (RFC 9112 §6.1, §6.3).
//
// net/http parses requests for the gateway, and for a request with both
// Content-Length and Transfer-Encoding: chunked it drops Content-Length and
// reads the chunked body, then keeps the connection open: what follows the
// chunked body is read as the next request. A front end that framed the
// same bytes by Content-Length sees one request where the gateway serves
// two (request smuggling). net/http gives the handler no trace of the
// dropped field, so the guard watches the bytes of each connection before
// net/http reads them: a small framing tracker finds every request head
// (request line and header fields), notes its framing fields, and skips
// its body exactly as net/http will (by Content-Length, or chunk by chunk).
//
// A head with an ambiguous framing - Content-Length with Transfer-Encoding
// (in either order, any casing), Content-Length twice, or Transfer-Encoding
// in an HTTP/1.0 request - ends the connection's stream right after that
// head: net/http never receives a byte that follows it. The request itself
// reaches ServeHTTP, which answers 400 with "Connection: close" without
// reading its body.
//
// When the tracker cannot follow the stream (an oversized head or chunk
// line, a malformed chunk), it stops, and every later request
// on the connection is refused the same way: framing that cannot be checked
// is not trusted. net/http closes the connection itself on the malformed
// inputs, so well-formed clients never meet this.

// maxTrackedHead and maxTrackedLine bound the request head and the
// chunk-size or trailer line the tracker buffers, at what net/http accepts
// (NewHTTPServer's MaxHeaderBytes plus its 4 KiB slack; its 4 KiB chunk
// line limit).
const (
	maxTrackedHead = maxHeaderBytes + 4096
	maxTrackedLine = 4096
)

// FramingListener wraps ln so that the gateway's server (NewHTTPServer) can
// refuse requests with ambiguous framing. Serve the gateway on it.
func FramingListener(ln net.Listener) net.Listener { return framingListener{ln} }

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framedConn{Conn: c}, nil
}

type framedConnKey struct{}

// connContext is NewHTTPServer's ConnContext: it hands the connection's
// tracker to the requests read from it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	switch fc := c.(type) {
	case *framedConn:
		return context.WithValue(ctx, framedConnKey{}, fc)
	case *tlsFramedConn:
		return context.WithValue(ctx, framedConnKey{}, fc.framedConn)
	}
	return ctx
}

// framingError returns the refusal for the request being served on ctx's
// connection, or nil. It must be called once per request, in order: the
// n-th call on a connection is about the n-th request head.
func framingError(ctx context.Context) error {
	fc, _ := ctx.Value(framedConnKey{}).(*framedConn)
	if fc == nil {
		return nil
	}
	return fc.next()
}

// framedConn runs the framing tracker over everything read from the
// connection.
type framedConn struct {
	net.Conn

	served atomic.Int64 // requests handed to ServeHTTP so far

	mu        sync.Mutex
	t         tracker
	badHead   int64  // the head with ambiguous framing (1-based), or 0
	reason    string // why badHead is refused
	lostAfter int64  // heads after this one cannot be checked
	lost      bool   // the tracker stopped (lostAfter is set)
	cut       bool   // the stream ended after badHead
}

// next returns the refusal of the next request on the connection.
//
// A refused request's body is never read: the connection's read deadline
// is set in the past, so that net/http, which would otherwise read up to
// 256 KiB of an unread body before closing, closes at once.
func (c *framedConn) next() error {
	n := c.served.Add(1)
	c.mu.Lock()
	reason := ""
	switch {
	case c.t.state == stH2:
		// Prior-knowledge HTTP/2 (h2c): frames, no HTTP/1.1 framing.
	case n == c.badHead:
		reason = c.reason
	case c.lost && n > c.lostAfter:
		reason = "request framing cannot be checked after an earlier request on this connection"
	}
	c.mu.Unlock()
	if reason == "" {
		return nil
	}
	_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
	return framingRefusal(reason)
}

func framingRefusal(reason string) error {
	return &edge.Error{Kind: edge.BadRequest, Cause: errors.New(reason), Header: closeHeader()}
}

// closeHeader makes net/http close the connection after the response.
func closeHeader() map[string][]string { return map[string][]string{"Connection": {"close"}} }

// Read passes on what the tracker has seen, up to the end of a refused
// head. After that head, what arrives is read and dropped until the
// connection fails or is closed: net/http sees a client that sends
// nothing more (an end of stream would cancel the requests in flight).
func (c *framedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	for cut {
		if _, err := c.Conn.Read(p); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if keep, bad := c.t.feed(p[:n]); bad != "" {
			c.badHead, c.reason, c.cut = c.t.heads, bad, true
			n, err = keep, nil
		}
		if c.t.state == stLost && !c.lost {
			c.lost, c.lostAfter = true, c.t.heads
		}
		c.mu.Unlock()
	}
	return n, err
}

// Tracker states.
const (
	stHead      = iota // reading a request head
	stBody             // skipping remain bytes of a Content-Length body
	stChunkLine        // reading a chunk-size line
	stChunkData        // skipping remain bytes of chunk data
	stChunkEnd         // reading the CRLF after chunk data
	stTrailer          // reading trailer lines after the last chunk
	stLost             // no longer following the stream
	stH2               // the stream is HTTP/2 (h2c), not followed
)

// tracker follows HTTP/1.1 request framing over a byte stream, as net/http
// reads it.
type tracker struct {
	state  int
	heads  int64  // request heads completed, not counting "OPTIONS *"
	remain uint64 // bytes left in a body or chunk
	buf    []byte // the head or line being read
}

// feed consumes p. When a head in p has ambiguous framing it returns how
// many bytes of p end with that head, and why it is refused; the tracker
// then stops.
func (t *tracker) feed(p []byte) (keep int, bad string) {
	off := 0
	for off < len(p) && t.state != stLost && t.state != stH2 {
		switch t.state {
		case stBody, stChunkData:
			n := uint64(len(p) - off)
			if n > t.remain {
				n = t.remain
			}
			t.remain -= n
			off += int(n)
			if t.remain == 0 {
				if t.state == stBody {
					t.state = stHead
				} else {
					t.state = stChunkEnd
				}
			}
		case stHead:
			end, done := t.collect(p[off:], maxTrackedHead, headEnd)
			off += end
			if !done {
				continue
			}
			if bad := t.head(); bad != "" {
				t.state = stLost
				return off, bad
			}
		case stChunkEnd:
			need := 2 - len(t.buf)
			if need > len(p)-off {
				need = len(p) - off
			}
			t.buf = append(t.buf, p[off:off+need]...)
			off += need
			if len(t.buf) == 2 {
				if string(t.buf) != "\r\n" {
					t.state = stLost
				} else {
					t.buf, t.state = t.buf[:0], stChunkLine
				}
			}
		case stChunkLine, stTrailer:
			end, done := t.collect(p[off:], maxTrackedLine, lineEnd)
			off += end
			if !done {
				continue
			}
			line := t.buf
			t.buf = t.buf[:0]
			if len(line) < 2 || line[len(line)-2] != '\r' || bytes.IndexByte(line, '\r') != len(line)-2 {
				t.state = stLost // net/http refuses bare LF and stray CR here
				continue
			}
			line = line[:len(line)-2]
			if t.state == stTrailer {
				if len(line) == 0 {
					t.state = stHead
				}
				continue
			}
			size, ok := chunkSize(line)
			switch {
			case !ok:
				t.state = stLost
			case size == 0:
				t.state = stTrailer
			default:
				t.remain, t.state = size, stChunkData
			}
		}
	}
	return len(p), ""
}

// collect appends p to t.buf up to the end that ends reports, and returns
// how many bytes of p it took and whether the unit is complete. Past limit
// bytes the tracker is lost.
func (t *tracker) collect(p []byte, limit int, ends func(buf []byte, from int) int) (int, bool) {
	from := len(t.buf)
	t.buf = append(t.buf, p...)
	if e := ends(t.buf, max(from-3, 0)); e >= 0 {
		t.buf = t.buf[:e]
		return e - from, true
	}
	if len(t.buf) > limit {
		t.state, t.buf = stLost, nil
	}
	return len(p), false
}

// headEnd returns the length of the head at the start of buf (through the
// empty line that ends it), or -1. Lines end in LF, with or without CR, as
// net/http reads them.
func headEnd(buf []byte, from int) int {
	for i := from; i < len(buf); i++ {
		if buf[i] != '\n' {
			continue
		}
		if i+1 < len(buf) && buf[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(buf) && buf[i+1] == '\r' && buf[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

func lineEnd(buf []byte, from int) int {
	if i := bytes.IndexByte(buf[from:], '\n'); i >= 0 {
		return from + i + 1
	}
	return -1
}

// head inspects the complete head in t.buf, sets up the body that follows
// it, and returns why its framing is refused, or "".
func (t *tracker) head() string {
	head := t.buf
	t.buf = t.buf[:0]
	line, rest, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	method, rest1, _ := bytes.Cut(line, []byte(" "))
	target, proto, _ := bytes.Cut(rest1, []byte(" "))
	if t.heads == 0 && string(method) == "PRI" && string(target) == "*" && string(proto) == "HTTP/2.0" {
		// The HTTP/2 connection preface: net/http serves the connection
		// as h2c when asked to (Protocols), else answers this one
		// request and closes.
		t.state = stH2
		return ""
	}
	if !(string(method) == "OPTIONS" && string(target) == "*") {
		t.heads++ // net/http answers "OPTIONS *" itself
	}
	var cl []byte
	ncl, te := 0, false
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // the end, or a folded continuation of a value
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // net/http refuses the request
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			cl, ncl = bytes.TrimSpace(value), ncl+1
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			te = true
		}
	}
	switch {
	case te && ncl > 0:
		return "request has both Content-Length and Transfer-Encoding"
	case ncl > 1:
		return "request has more than one Content-Length"
	case te && !atLeastHTTP11(proto):
		return "HTTP/1.0 request has Transfer-Encoding"
	}
	// An Upgrade header changes nothing here: the gateway never switches
	// protocols (HTTP_PROXY drops Upgrade and answers an upstream's 101
	// with 502), and a connection it hijacks is not served again.
	switch {
	case te:
		t.state = stChunkLine // net/http refuses any coding but chunked
	case ncl == 1:
		n, ok := decimal(cl)
		if !ok {
			t.state = stLost // net/http refuses the request
		} else if n > 0 {
			t.remain, t.state = n, stBody
		}
	}
	return ""
}

// decimal parses a Content-Length value as net/http does: digits only.
func decimal(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// atLeastHTTP11 reports whether proto is HTTP/1.1 or later, as net/http
// parses versions (one digit each).
func atLeastHTTP11(proto []byte) bool {
	if len(proto) != 8 || string(proto[:5]) != "HTTP/" || proto[6] != '.' {
		return false
	}
	major, minor := proto[5], proto[7]
	return major > '1' || (major == '1' && minor >= '1')
}

// chunkSize parses a chunk-size line (extensions and trailing whitespace
// dropped) as net/http does.
func chunkSize(line []byte) (uint64, bool) {
	line = bytes.TrimRight(line, " \t")
	line, _, _ = bytes.Cut(line, []byte(";"))
	if len(line) == 0 || len(line) > 16 {
		return 0, false
	}
	var n uint64
	for _, b := range line {
		switch {
		case b >= '0' && b <= '9':
			b -= '0'
		case b >= 'a' && b <= 'f':
			b = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			b = b - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(b)
	}
	return n, true
}
