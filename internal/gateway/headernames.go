package gateway

import (
	"bytes"
	"net/http"
)

// HeaderNames returns the names of r's header fields as its client spelt
// them, in order, repeats included (net/http keeps only the canonical
// form). It is meant for WebSocket upgrades, whose $connect event keeps
// the client's spelling as API Gateway does, and costs other requests
// nothing: nothing is recorded per request; it reads the head the framing
// tracker buffered last on r's connection, which is r's while the client
// has sent nothing after it (an upgrading client waits for its 101).
//
// It returns nil when the head is not known to be r's: r was not read
// from a FramingListener connection, the tracker has read past r's head
// or stopped, or the connection is HTTP/2. Call it from the handler
// serving r, before the response.
func HeaderNames(r *http.Request) []string {
	fc, _ := r.Context().Value(framedConnKey{}).(*framedConn)
	if fc == nil {
		return nil
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	t := &fc.t
	if t.state != stHead || len(t.buf) != 0 || t.heads != fc.served.Load() || fc.badHead != 0 {
		return nil
	}
	head := t.buf[:cap(t.buf)]
	end := headEnd(head, 0)
	if end < 0 {
		return nil
	}
	_, rest, _ := bytes.Cut(head[:end], []byte("\n")) // the request line
	var names []string
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // the end, or a folded continuation of a value
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok {
			names = append(names, string(name))
		}
	}
	return names
}

// CloseWrite half-closes the connection where it can (TCP, TLS): a
// WebSocket handler ends its stream after a close frame and still drains
// what the client sends.
func (c *framedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Upgraded tells the framing guard that r's connection has switched
// protocols (a WebSocket handshake answered 101): the guard stops
// following its bytes, which are frames, not HTTP/1.1, so that they are
// neither buffered nor scanned for request heads. No request is served on
// the connection afterwards. Call it before reading from the hijacked
// connection.
func Upgraded(r *http.Request) {
	fc, _ := r.Context().Value(framedConnKey{}).(*framedConn)
	if fc == nil {
		return
	}
	fc.mu.Lock()
	fc.t.state, fc.t.buf = stLost, nil
	fc.mu.Unlock()
}
