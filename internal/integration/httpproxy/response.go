package httpproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/httptoken"
)

// ErrIdleTimeout is in the error Serve returns when Config.IdleTimeout cut
// a response short.
var ErrIdleTimeout = errors.New("idle timeout")

// kv is one response header field; both strings point into one string
// holding the whole response head.
type kv struct{ key, value string }

// protocolError is a malformed upstream response (a 502 before the
// response started).
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "malformed upstream response: " + e.msg }

func malformed(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

// response is a parsed upstream response head. It lives in its conn.
type response struct {
	status        int
	kvs           []kv
	keepAlive     bool
	broken        bool  // the request was not fully written
	contentLength int64 // -1 when absent
	chunked       bool  // Transfer-Encoding ends in chunked
	hasConnection bool  // a Connection header names fields to drop
	eventStream   bool  // Content-Type: text/event-stream
}

const max1xx = 16

// readHead reads the next final response head, skipping 1xx interim
// responses. gotByte reports whether any byte of a response arrived, which
// decides whether a failed reused connection may be retried.
func (c *conn) readHead(limit int) (resp *response, gotByte bool, err error) {
	if _, err := c.br.Peek(1); err != nil {
		return nil, false, err
	}
	for range max1xx {
		c.raw = c.raw[:0]
		if c.raw, err = appendLine(c.br, c.raw, limit); err != nil {
			return nil, true, err
		}
		statusEnd := len(c.raw)
		for {
			n := len(c.raw)
			c.raw = append(c.raw, '\n')
			if c.raw, err = appendLine(c.br, c.raw, limit); err != nil {
				return nil, true, err
			}
			if len(c.raw) == n+1 {
				c.raw = c.raw[:n]
				break
			}
		}
		r := &c.resp
		*r = response{contentLength: -1}
		minor, err := parseStatusLine(c.raw[:statusEnd], r)
		if err != nil {
			return nil, true, err
		}
		if r.status == http.StatusSwitchingProtocols {
			return nil, true, malformed("unexpected 101 Switching Protocols")
		}
		if r.status < 200 {
			continue // 100 Continue, 103 Early Hints: interim, dropped
		}
		r.keepAlive = minor == 1
		if err := c.parseFields(string(c.raw[statusEnd:]), r); err != nil {
			return nil, true, err
		}
		return r, true, nil
	}
	return nil, true, malformed("more than %d interim responses", max1xx)
}

// appendLine appends one line without its CRLF (or bare LF), failing when
// dst would grow beyond limit.
func appendLine(br *bufio.Reader, dst []byte, limit int) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if len(dst)+len(line) > limit {
			return dst, malformed("response head larger than %d bytes", limit)
		}
		dst = append(dst, line...)
		switch err {
		case nil:
			dst = dst[:len(dst)-1]
			if n := len(dst); n > 0 && dst[n-1] == '\r' {
				dst = dst[:n-1]
			}
			return dst, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return dst, io.ErrUnexpectedEOF
		default:
			return dst, err
		}
	}
}

func parseStatusLine(l []byte, r *response) (minor int, err error) {
	if len(l) < 12 || string(l[:7]) != "HTTP/1." || (l[7] != '0' && l[7] != '1') || l[8] != ' ' || (len(l) > 12 && l[12] != ' ') {
		return 0, malformed("status line %q", l)
	}
	s := 0
	for _, d := range l[9:12] {
		if d < '0' || d > '9' {
			return 0, malformed("status line %q", l)
		}
		s = s*10 + int(d-'0')
	}
	if s < 100 {
		return 0, malformed("status code %d", s)
	}
	r.status = s
	return int(l[7] - '0'), nil
}

// parseFields parses the header block s ("\nName: value" lines) into c.kvs
// and the framing facts of r.
func (c *conn) parseFields(s string, r *response) error {
	c.kvs = c.kvs[:0]
	http10 := !r.keepAlive
	for len(s) > 0 {
		s = s[1:] // the '\n' before each line
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i:]
		} else {
			s = ""
		}
		if line[0] == ' ' || line[0] == '\t' {
			return malformed("obsolete line folding")
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !httptoken.Valid(line[:colon]) {
			return malformed("header line %q", line)
		}
		key := http.CanonicalHeaderKey(line[:colon])
		value := strings.Trim(line[colon+1:], " \t")
		if !validFieldValue(value) {
			return malformed("control character in header %s", key)
		}
		c.kvs = append(c.kvs, kv{key, value})
		switch key {
		case "Content-Length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || value[0] == '+' {
				return malformed("content-length %q", value)
			}
			if r.contentLength >= 0 && r.contentLength != n {
				return malformed("conflicting content-length values")
			}
			r.contentLength = n
		case "Transfer-Encoding":
			// Only chunked, once, as net/http's client has it: a proxy that
			// passed other codings on undecoded would hand the client
			// bytes no header describes.
			if r.chunked || !strings.EqualFold(value, "chunked") {
				return malformed("unsupported transfer coding %q", value)
			}
			r.chunked = true
		case "Connection":
			r.hasConnection = true
			if listed([]string{value}, "close") {
				r.keepAlive = false
			} else if http10 && listed([]string{value}, "keep-alive") {
				r.keepAlive = true
			}
		case "Content-Type":
			r.eventStream = hasPrefixFold(value, "text/event-stream")
		}
	}
	r.kvs = c.kvs
	if r.chunked {
		if r.contentLength >= 0 {
			// Transfer-Encoding overrides Content-Length; such a message
			// may be a smuggling attempt: do not reuse the connection.
			r.keepAlive = false
		}
		r.contentLength = -1
	}
	return nil
}

// validFieldValue reports whether v has no control characters but tab
// (RFC 9110 §5.5), as net/http's client requires.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hopByHopResponse reports whether a response header stays between the
// upstream and the proxy.
func hopByHopResponse(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return len(k) > 6 && k[:6] == "Proxy-"
}

// respond writes the response head to w and streams the body.
func (p *Proxy) respond(ctx context.Context, w http.ResponseWriter, c *conn, r *response, method string) error {
	noBody := method == "HEAD" || r.status == http.StatusNoContent || r.status == http.StatusNotModified
	h := w.Header()
	vals := make([]string, len(r.kvs))
	for i, f := range r.kvs {
		if hopByHopResponse(f.key) || (r.hasConnection && connectionListed(r.kvs, f.key)) {
			continue
		}
		if f.key == "Content-Length" && (r.contentLength < 0 || r.status == http.StatusNoContent) {
			continue
		}
		vals[i] = f.value
		if firstOf(r.kvs, i) {
			h[f.key] = vals[i : i+1 : i+1]
		} else {
			h[f.key] = append(h[f.key], f.value)
		}
	}
	w.WriteHeader(r.status)

	if noBody {
		c.release(r.keepAlive && !r.broken && c.br.Buffered() == 0)
		return nil
	}
	s := sink{w: w}
	if r.contentLength < 0 || r.eventStream {
		s.rc = http.NewResponseController(w)
		_ = s.rc.Flush() // the head now: streaming clients wait for it
	}
	c.idle = p.idle
	bp := p.t.bufs.Get().(*[]byte)
	var err error
	switch {
	case r.chunked:
		err = c.copyChunked(&s, *bp)
	case r.contentLength >= 0:
		err = c.copyN(&s, *bp, r.contentLength)
	default:
		err = c.copyUntilEOF(&s, *bp)
		r.keepAlive = false
	}
	p.t.bufs.Put(bp)
	if err != nil {
		c.release(false)
		if !s.clientFailed {
			abortClient(w)
		}
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("%w (%w)", err, cerr)
		} else if c.idle > 0 && !c.poisoned.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w: nothing received for %v: %w", ErrIdleTimeout, c.idle, err)
		}
		return fmt.Errorf("httpproxy %s: response body: %w", c.pool.key.addr, err)
	}
	c.release(r.keepAlive && !r.broken && c.br.Buffered() == 0)
	return nil
}

// firstOf reports whether kvs[i] is the first field with its name.
func firstOf(kvs []kv, i int) bool {
	for j := 0; j < i; j++ {
		if kvs[j].key == kvs[i].key {
			return false
		}
	}
	return true
}

func connectionListed(kvs []kv, name string) bool {
	for _, f := range kvs {
		if f.key == "Connection" && listed([]string{f.value}, name) {
			return true
		}
	}
	return false
}

// abortClient closes the client connection so that a cut-short chunked or
// close-delimited response is seen as incomplete rather than as a clean end.
// It does nothing when w cannot be hijacked.
func abortClient(w http.ResponseWriter) {
	if nc, _, err := http.NewResponseController(w).Hijack(); err == nil {
		nc.Close()
	}
}

// sink writes the body to the client, flushing a streaming response
// whenever the upstream has nothing more buffered.
type sink struct {
	w            http.ResponseWriter
	rc           *http.ResponseController // non-nil when streaming
	pending      bool
	clientFailed bool
}

func (s *sink) write(p []byte) error {
	if _, err := s.w.Write(p); err != nil {
		s.clientFailed = true
		return fmt.Errorf("write to client: %w", err)
	}
	s.pending = s.rc != nil
	return nil
}

// beforeRead flushes pending streamed data when the next read may block.
func (s *sink) beforeRead(br *bufio.Reader) error {
	if s.pending && br.Buffered() == 0 {
		s.pending = false
		if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.clientFailed = true
			return fmt.Errorf("flush to client: %w", err)
		}
	}
	return nil
}

// copyN copies exactly n body bytes.
func (c *conn) copyN(s *sink, buf []byte, n int64) error {
	for n > 0 {
		if err := s.beforeRead(c.br); err != nil {
			return err
		}
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		m, err := c.br.Read(b)
		if m > 0 {
			n -= int64(m)
			if werr := s.write(b[:m]); werr != nil {
				return werr
			}
		}
		if err != nil {
			if n > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			if n > 0 {
				return err
			}
		}
	}
	return nil
}

// copyUntilEOF copies a close-delimited body.
func (c *conn) copyUntilEOF(s *sink, buf []byte) error {
	for {
		if err := s.beforeRead(c.br); err != nil {
			return err
		}
		m, err := c.br.Read(buf)
		if m > 0 {
			if werr := s.write(buf[:m]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyChunked decodes a chunked body; trailers are read and dropped.
func (c *conn) copyChunked(s *sink, buf []byte) error {
	for {
		if err := s.beforeRead(c.br); err != nil {
			return err
		}
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return chunkErr(err)
		}
		size, err := parseChunkSize(line)
		if err != nil {
			return err
		}
		if size == 0 {
			for range 1024 { // trailer fields, then the final CRLF
				line, err := c.br.ReadSlice('\n')
				if err != nil {
					return chunkErr(err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
			return malformed("too many trailer fields")
		}
		if err := c.copyN(s, buf, size); err != nil {
			return err
		}
		b, err := c.br.ReadByte()
		if err == nil && b == '\r' {
			b, err = c.br.ReadByte()
		}
		if err != nil {
			return chunkErr(err)
		}
		if b != '\n' {
			return malformed("chunk not followed by CRLF")
		}
	}
}

func chunkErr(err error) error {
	switch err {
	case io.EOF:
		return io.ErrUnexpectedEOF
	case bufio.ErrBufferFull:
		return malformed("chunk header too long")
	}
	return err
}

func parseChunkSize(line []byte) (int64, error) {
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, malformed("chunk size %q", line)
	}
	var n int64
	for _, d := range line {
		switch {
		case d >= '0' && d <= '9':
			d -= '0'
		case d >= 'a' && d <= 'f':
			d -= 'a' - 10
		case d >= 'A' && d <= 'F':
			d -= 'A' - 10
		default:
			return 0, malformed("chunk size %q", line)
		}
		n = n<<4 | int64(d)
	}
	return n, nil
}
