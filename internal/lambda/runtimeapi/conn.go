package runtimeapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/httptoken"
)

// Serve is a small HTTP/1.1 server made for the Runtime API: one runtime,
// on loopback, a GET and a POST per invocation on a keep-alive connection.
// It answers exactly as ServeHTTP does (same statuses, headers and bodies,
// net/http's 404 and 405 for other paths and methods) without net/http's
// per-request cost.
//
// What it speaks: request line and headers of at most maxHeaderBytes (431
// above, 400 when malformed), bodies by Content-Length or chunked with
// trailers (other transfer codings 501), Expect: 100-continue, keep-alive
// (HTTP/1.1 by default, HTTP/1.0 with Connection: keep-alive), Connection:
// close, pipelined requests (answered in order). A runtime that closes its
// connection while waiting in /next leaves the invocation for its next
// /next, on any connection.

// maxHeaderBytes bounds a request's line and headers (and a body's
// trailers), as net/http's default does.
const maxHeaderBytes = 1<<20 + 4096

// maxDiscardBytes is how much of a body a handler left unread is skipped to
// keep the connection; a longer rest closes it (as net/http does).
const maxDiscardBytes = 256 << 10

// ErrServerStopped is returned by Serve after Shutdown.
var ErrServerStopped = errors.New("runtime api: server stopped")

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// Serve accepts connections on ln and serves the Runtime API on them until
// Shutdown, then returns ErrServerStopped; it returns other accept errors
// wrapped. ln is closed when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	s.lnMu.Lock()
	if s.stopped {
		s.lnMu.Unlock()
		ln.Close()
		return ErrServerStopped
	}
	s.ln = ln
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.lnMu.Unlock()
	defer ln.Close()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			s.lnMu.Lock()
			stopped := s.stopped
			s.lnMu.Unlock()
			if stopped {
				return ErrServerStopped
			}
			return fmt.Errorf("runtime api: accept: %w", err)
		}
		s.lnMu.Lock()
		if s.stopped {
			s.lnMu.Unlock()
			c.Close()
			return ErrServerStopped
		}
		s.conns[c] = struct{}{}
		s.lnMu.Unlock()
		go s.serveConn(c)
	}
}

// Shutdown closes Serve's listener and every connection it serves. It is
// idempotent and independent of Close.
func (s *Server) Shutdown() {
	s.lnMu.Lock()
	defer s.lnMu.Unlock()
	s.stopped = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// conn is one runtime connection being served.
type conn struct {
	s  *Server
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer

	// The current request.
	head      bool // HEAD: no response body
	http11    bool // HTTP/1.1 (else 1.0)
	keepAlive bool // the connection stays open after the response
	expect    bool // Expect: 100-continue not yet answered
	body      body
	req       request
}

func (s *Server) serveConn(c net.Conn) {
	cn := &conn{s: s, c: c}
	cn.br = readerPool.Get().(*bufio.Reader)
	cn.br.Reset(c)
	cn.bw = writerPool.Get().(*bufio.Writer)
	cn.bw.Reset(c)
	cn.body.cn = cn
	defer func() {
		c.Close()
		s.lnMu.Lock()
		delete(s.conns, c)
		s.lnMu.Unlock()
		cn.br.Reset(nil)
		cn.bw.Reset(nil)
		readerPool.Put(cn.br)
		writerPool.Put(cn.bw)
	}()
	for cn.serveOne() {
	}
}

// Routes.
const (
	routeNone = iota
	routeNext
	routeResponse
	routeError
	routeInitError
)

const (
	prefixInvocation = "/2018-06-01/runtime/invocation/"
	targetNext       = prefixInvocation + "next"
	targetInitError  = "/2018-06-01/runtime/init/error"
)

// serveOne reads and answers one request; false ends the connection.
func (cn *conn) serveOne() bool {
	route, id, status := cn.readRequest()
	if status != 0 {
		if status > 0 {
			cn.plain(status, strconv.Itoa(status)+" "+http.StatusText(status), "", true)
		}
		return false
	}
	s := cn.s
	switch route {
	case routeNone: // answered
		return cn.keepAlive
	case routeNext:
		if !s.nextAllowed(cn) {
			break
		}
		select {
		case inv := <-s.next:
			s.deliver(cn, inv)
		case <-s.closed:
			writeError(cn, http.StatusInternalServerError, "Runtime.Unavailable", "Internal Server Error")
		default:
			return cn.awaitNext()
		}
	case routeResponse:
		cn.req.id = id
		s.handleResponse(cn, &cn.req)
	case routeError:
		cn.req.id = id
		s.handleError(cn, &cn.req)
	case routeInitError:
		s.handleInitError(cn, &cn.req)
	}
	return cn.keepAlive && cn.endRequest()
}

// awaitNext waits for an invocation in another goroutine while this one
// watches the connection: a runtime that goes away gives up its /next.
func (cn *conn) awaitNext() bool {
	gone := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		cn.s.handleNext(cn, gone)
	}()
	_, err := cn.br.Peek(1)
	if err != nil {
		close(gone)
		<-served
		return false
	}
	<-served // a pipelined request waits for this answer
	return cn.keepAlive
}

// endRequest skips what the handler left of the body; false when the
// connection cannot be reused.
func (cn *conn) endRequest() bool {
	b := &cn.body
	if b.done {
		return true
	}
	if cn.expect {
		return false // the client may or may not send the body
	}
	n, err := io.Copy(io.Discard, io.LimitReader(b, maxDiscardBytes+1))
	return err == nil && b.done && n <= maxDiscardBytes
}

var (
	errHeaderTooLarge = errors.New("header too large")
	errBadRequest     = errors.New("malformed request")
)

// readLine reads a CRLF- or LF-terminated line of at most *budget bytes
// (charged against it), without the line end. The slice is valid until the
// next read.
func (cn *conn) readLine(budget *int, scratch *[]byte) ([]byte, error) {
	line, err := cn.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*scratch = append((*scratch)[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(*scratch) > *budget {
				return nil, errHeaderTooLarge
			}
			line, err = cn.br.ReadSlice('\n')
			*scratch = append(*scratch, line...)
		}
		line = *scratch
	}
	if err != nil {
		return nil, err
	}
	if *budget -= len(line); *budget < 0 {
		return nil, errHeaderTooLarge
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readRequest reads a request's line and headers and sets up cn.req and
// cn.body. status is 0 on success, -1 when the connection ended (nothing
// to answer), else the status to answer with before closing.
func (cn *conn) readRequest() (route int, id string, status int) {
	budget := maxHeaderBytes
	var scratch []byte
	line, err := cn.readLine(&budget, &scratch)
	for err == nil && len(line) == 0 { // tolerate blank lines between requests
		line, err = cn.readLine(&budget, &scratch)
	}
	if err != nil {
		return 0, "", failStatus(err)
	}
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return 0, "", http.StatusBadRequest
	}
	method, target, proto := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	var http11 bool
	switch string(proto) {
	case "HTTP/1.1":
		http11 = true
	case "HTTP/1.0":
	default:
		return 0, "", http.StatusBadRequest
	}
	if !httptoken.Valid(method) || bytes.IndexByte(target, ' ') >= 0 || !validTarget(target) {
		return 0, "", http.StatusBadRequest
	}
	cn.head = string(method) == "HEAD"
	isGet := cn.head || string(method) == "GET"
	isPost := string(method) == "POST"
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		target = target[:q]
	}
	route, id, allow := routeOf(target)
	// The route is decided; now the headers (the line's slice goes stale).
	cn.req = request{contentLength: 0}
	cn.keepAlive, cn.http11 = http11, http11
	cn.expect = false
	var (
		hasHost, chunked, hasCL, gotCT, gotMode, gotET bool
		cl                                             int64
	)
	for {
		h, err := cn.readLine(&budget, &scratch)
		if err != nil {
			return 0, "", failStatus(err)
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := splitHeader(h)
		if !ok {
			return 0, "", http.StatusBadRequest
		}
		switch {
		case equalFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || value[0] == '+' || (hasCL && n != cl) {
				return 0, "", http.StatusBadRequest
			}
			cl, hasCL = n, true
		case equalFold(name, "Transfer-Encoding"):
			if !equalFold(value, "chunked") || chunked {
				return 0, "", http.StatusNotImplemented
			}
			chunked = true
		case equalFold(name, "Connection"):
			if containsToken(value, "close") {
				cn.keepAlive = false
			} else if !http11 && containsToken(value, "keep-alive") {
				cn.keepAlive = true
			}
		case equalFold(name, "Expect") && len(value) > 0: // empty: ignored, as net/http does
			if !equalFold(value, "100-continue") {
				return 0, "", http.StatusExpectationFailed
			}
			cn.expect = http11
		case equalFold(name, "Host"):
			hasHost = true
		case equalFold(name, "Content-Type"):
			if !gotCT {
				cn.req.contentType, gotCT = internValue(value), true
			}
		case equalFold(name, HeaderResponseMode):
			if !gotMode {
				cn.req.mode, gotMode = internValue(value), true
			}
		case equalFold(name, HeaderErrorType):
			if !gotET {
				cn.req.errorType, gotET = string(value), true
			}
		}
	}
	if http11 && !hasHost || chunked && hasCL {
		return 0, "", http.StatusBadRequest
	}
	b := &cn.body
	*b = body{cn: cn}
	switch {
	case chunked:
		b.chunked = httputil.NewChunkedReader(cn.br)
		cn.req.contentLength = -1
	case cl == 0:
		b.done = true
		cn.expect = false
	default:
		b.n = cl
		cn.req.contentLength = cl
	}
	cn.req.body = b
	cn.req.trailer = b
	if route == routeNone || (route == routeNext && !isGet) || (route != routeNext && !isPost) {
		cn.notRouted(route != routeNone, allow)
		return routeNone, "", 0
	}
	return route, id, 0
}

// notRouted answers as net/http's ServeMux does for an unknown path (404)
// or a known path with another method (405), then ends the connection
// unless the body could be skipped.
func (cn *conn) notRouted(known bool, allow string) {
	keep := cn.keepAlive && cn.endRequest()
	if known {
		cn.plain(http.StatusMethodNotAllowed, "Method Not Allowed", allow, !keep)
	} else {
		cn.plain(http.StatusNotFound, "404 page not found", "", !keep)
	}
}

func failStatus(err error) int {
	switch err {
	case errHeaderTooLarge:
		return http.StatusRequestHeaderFieldsTooLarge
	case io.EOF:
		return -1
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
		return -1
	}
	return http.StatusBadRequest
}

// validTarget reports whether a request-target has one of RFC 9112's
// forms net/http takes: origin ("/path"), absolute ("http://h/path") or
// asterisk ("*"), with well-formed %XX escapes and no control characters.
func validTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' && string(t) != "*" && !bytes.Contains(t, []byte("://")) {
		return false
	}
	for _, c := range t {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	if bytes.IndexByte(t, '%') >= 0 {
		_, err := url.ParseRequestURI(string(t))
		return err == nil
	}
	return true
}

// routeOf maps a request path to its route; allow is the method a 405
// names.
func routeOf(target []byte) (route int, id, allow string) {
	switch string(target) {
	case targetNext:
		return routeNext, "", "GET, HEAD"
	case targetInitError:
		return routeInitError, "", "POST"
	}
	if !bytes.HasPrefix(target, []byte(prefixInvocation)) {
		return routeNone, "", ""
	}
	rest := target[len(prefixInvocation):]
	slash := bytes.IndexByte(rest, '/')
	if slash <= 0 {
		return routeNone, "", ""
	}
	switch string(rest[slash+1:]) {
	case "response":
		route = routeResponse
	case "error":
		route = routeError
	default:
		return routeNone, "", ""
	}
	raw := rest[:slash]
	if bytes.IndexByte(raw, '%') >= 0 {
		v, err := url.PathUnescape(string(raw))
		if err != nil {
			return routeNone, "", ""
		}
		return route, v, "POST"
	}
	return route, string(raw), "POST"
}

// splitHeader splits "Name: value" and trims the value's white space. A
// value with control characters other than tab (a bare CR, NUL...) is
// malformed (RFC 9110 §5.5), as net/http has it.
func splitHeader(h []byte) (name, value []byte, ok bool) {
	i := bytes.IndexByte(h, ':')
	if i <= 0 || !httptoken.Valid(h[:i]) {
		return nil, nil, false
	}
	v := h[i+1:]
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return h[:i], v, true
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x|0x20 != y|0x20 || (x|0x20 < 'a' || x|0x20 > 'z') && x != y {
			return false
		}
	}
	return true
}

// containsToken reports whether a comma-separated header value lists tok.
func containsToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		part = bytes.TrimSpace(part)
		if equalFold(part, tok) {
			return true
		}
	}
	return false
}

// internValue returns common header values without allocating.
func internValue(v []byte) string {
	switch string(v) {
	case "application/json":
		return "application/json"
	case "streaming":
		return "streaming"
	case "text/plain":
		return "text/plain"
	}
	return string(v)
}

// body reads a request body by Content-Length or chunked, answering
// Expect: 100-continue at the first read; it keeps the chunked body's
// error trailers.
type body struct {
	cn      *conn
	n       int64     // bytes left (Content-Length)
	chunked io.Reader // nil unless chunked
	done    bool      // read to the end (trailers included)
	err     error

	trailerType, trailerBody string
}

func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.cn.expect {
		b.cn.expect = false
		if _, err := b.cn.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			b.err = err
			return 0, err
		}
		if err := b.cn.bw.Flush(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.chunked != nil {
		n, err := b.chunked.Read(p)
		if err == io.EOF {
			if err = b.readTrailers(); err == nil {
				b.done = true
				return n, io.EOF
			}
		}
		if err != nil {
			b.err = err
		}
		return n, err
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.cn.br.Read(p)
	b.n -= int64(n)
	if b.n == 0 {
		b.done = true
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// readTrailers reads the trailer section after the last chunk.
func (b *body) readTrailers() error {
	budget := maxHeaderBytes
	var scratch []byte
	for {
		line, err := b.cn.readLine(&budget, &scratch)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return fmt.Errorf("reading trailers: %w", err)
		}
		if len(line) == 0 {
			return nil
		}
		name, value, ok := splitHeader(line)
		if !ok {
			return errors.New("malformed trailer line")
		}
		switch {
		case equalFold(name, HeaderErrorType):
			if b.trailerType == "" {
				b.trailerType = string(value)
			}
		case equalFold(name, HeaderErrorBody):
			if b.trailerBody == "" {
				b.trailerBody = string(value)
			}
		}
	}
}

// Get returns the error trailers (the only ones handlers read).
func (b *body) Get(key string) string {
	switch key {
	case HeaderErrorType:
		return b.trailerType
	case HeaderErrorBody:
		return b.trailerBody
	}
	return ""
}

var _ replier = (*conn)(nil)

func (cn *conn) reply(status int, body []byte) {
	cn.statusLine(status)
	cn.bw.WriteString("Content-Type: application/json\r\n")
	cn.finish(body)
}

func (cn *conn) replyNext(inv *Invocation) {
	cn.statusLine(http.StatusOK)
	cn.header(HeaderRequestID, inv.RequestID)
	if !inv.Deadline.IsZero() {
		cn.bw.WriteString(HeaderDeadline + ": ")
		cn.bw.Write(strconv.AppendInt(cn.bw.AvailableBuffer(), inv.Deadline.UnixMilli(), 10))
		cn.bw.WriteString("\r\n")
	}
	cn.header(HeaderFunctionARN, inv.FunctionARN)
	cn.header(HeaderTraceID, inv.TraceID)
	cn.header(HeaderClientContext, inv.ClientContext)
	cn.header(HeaderCognitoIdentity, inv.CognitoIdentity)
	cn.header("Content-Type", eventContentType(inv))
	cn.finish(inv.Payload)
}

// plain writes a text/plain error as net/http does.
func (cn *conn) plain(status int, msg, allow string, closing bool) {
	if closing {
		cn.keepAlive = false
	}
	cn.statusLine(status)
	cn.header("Allow", allow)
	cn.bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n")
	cn.finish([]byte(msg + "\n"))
}

func (cn *conn) statusLine(status int) {
	cn.bw.WriteString("HTTP/1.1 ")
	cn.bw.Write(strconv.AppendInt(cn.bw.AvailableBuffer(), int64(status), 10))
	cn.bw.WriteByte(' ')
	cn.bw.WriteString(http.StatusText(status))
	cn.bw.WriteString("\r\n")
}

// header writes "k: v" when v is not empty.
func (cn *conn) header(k, v string) {
	if v == "" {
		return
	}
	cn.bw.WriteString(k)
	cn.bw.WriteString(": ")
	cn.bw.WriteString(v)
	cn.bw.WriteString("\r\n")
}

// finish writes Content-Length, Date, Connection and the body, and flushes.
// A body the handler left unread that cannot be skipped closes the
// connection.
func (cn *conn) finish(body []byte) {
	if cn.keepAlive && !cn.body.done && (cn.expect || cn.body.n > maxDiscardBytes || cn.body.chunked != nil || cn.body.err != nil) {
		cn.keepAlive = false
	}
	w := cn.bw
	w.WriteString("Content-Length: ")
	w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(body)), 10))
	w.WriteString("\r\nDate: ")
	w.Write(cn.s.appendDate(w.AvailableBuffer()))
	if !cn.keepAlive {
		w.WriteString("\r\nConnection: close")
	} else if !cn.http11 {
		w.WriteString("\r\nConnection: keep-alive")
	}
	w.WriteString("\r\n\r\n")
	if !cn.head {
		w.Write(body)
	}
	if w.Flush() != nil {
		cn.keepAlive = false
	}
}

// cachedDate is the formatted Date header of one second.
type cachedDate struct {
	sec int64
	b   []byte
}

// appendDate appends the Date header's value (the wall clock, as net/http
// sends it; not the Server's clock).
func (s *Server) appendDate(dst []byte) []byte {
	now := time.Now()
	if d := s.date.Load(); d != nil && d.sec == now.Unix() {
		return append(dst, d.b...)
	}
	d := &cachedDate{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	s.date.Store(d)
	return append(dst, d.b...)
}
