package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHeaderNames: a WebSocket API's handler learns the header names of
// the request it serves as the client spelt them, from a raw client on a
// FramingListener; unknown (nil) when the client sent more after the head
// (pipelining: the tracker has moved on).
func TestHeaderNames(t *testing.T) {
	a := NewAPI("ws12345678", "ws", "000000000000")
	a.SetWebSocket(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		names := HeaderNames(r)
		if names == nil {
			io.WriteString(w, "<nil>")
			return
		}
		io.WriteString(w, strings.Join(names, ","))
	}))
	addr := serveWebSocketAPI(t, a)

	upgrade := "GET /dev HTTP/1.1\r\nhost: x\r\nx-custom-Header: v\r\nUpgrade: websocket\r\nconnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n"
	names := "host,x-custom-Header,Upgrade,connection,Sec-WebSocket-Key,Sec-WebSocket-Version,X-Multi,x-multi"
	tests := []struct {
		name string
		raw  string
		want []string // each response's body
	}{
		{name: "upgrade", raw: upgrade, want: []string{names}},
		{name: "second request on the connection", raw: "GET /dev HTTP/1.1\r\nHOST: x\r\n\r\n" + upgrade,
			want: []string{"<nil>", names}}, // the first's head is gone: the second followed it
		{name: "a body before", raw: "POST /dev/@connections/a HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\n\r\nabc" + upgrade,
			want: []string{"<nil>", names}},
		{name: "bytes after the head", raw: upgrade + "\x81", want: []string{"<nil>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tt.raw); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			for i, want := range tt.want {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != want {
					t.Errorf("response %d: names %q, want %q", i, b, want)
				}
			}
		})
	}
	t.Run("keep-alive, one after the other", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for _, x := range []struct{ raw, want string }{
			{"POST /dev/@connections/a HTTP/1.1\r\nHost: x\r\ncontent-length: 3\r\n\r\nabc", "Host,content-length"},
			{upgrade, names},
		} {
			io.WriteString(c, x.raw)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != x.want {
				t.Errorf("names %q, want %q", b, x.want)
			}
		}
	})
}

// TestWebSocketAPIFraming: requests for a WebSocket API (upgrades,
// @connections calls) pass the framing guard like every other request: an
// ambiguous head is refused with 400 and the connection closed, and what
// it smuggled never reaches the API.
func TestWebSocketAPIFraming(t *testing.T) {
	var served []string
	var mu sync.Mutex
	a := NewAPI("ws12345678", "ws", "000000000000")
	a.SetWebSocket(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served = append(served, r.URL.Path)
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
	}))
	addr := serveWebSocketAPI(t, a)
	statuses, _ := exchange(t, addr, "POST /dev/@connections/a HTTP/1.1\r\nHost: x\r\n"+
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	mu.Lock()
	defer mu.Unlock()
	if len(statuses) != 1 || statuses[0] != http.StatusBadRequest || len(served) != 0 {
		t.Errorf("statuses %v, served %q; want one 400 and nothing served", statuses, served)
	}
}

// TestFunctionURLFraming: a request to a function URL with ambiguous
// framing is refused with 400 as any other, not served and not left hanging.
func TestFunctionURLFraming(t *testing.T) {
	var served atomic.Int32
	d := NewDeployment(nil)
	d.SetFunctionURLs(func(*http.Request) bool { return true }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	s := New(Deps{})
	s.Swap(d)
	statuses, _ := exchange(t, serveFramed(t, s, Timeouts{}), "POST / HTTP/1.1\r\nHost: x\r\n"+
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled)
	if len(statuses) != 1 || statuses[0] != http.StatusBadRequest || served.Load() != 0 {
		t.Errorf("statuses %v, served %d; want one 400 and nothing served", statuses, served.Load())
	}
}

// TestUpgraded: after Upgraded the guard neither buffers nor scans what
// the client sends on the hijacked connection.
func TestUpgraded(t *testing.T) {
	got := make(chan *framedConn, 1)
	a := NewAPI("ws12345678", "ws", "000000000000")
	a.SetWebSocket(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Upgraded(r)
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\n\r\n")
		io.CopyN(io.Discard, brw, 32<<10)
		got <- r.Context().Value(framedConnKey{}).(*framedConn)
	}))
	addr := serveWebSocketAPI(t, a)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /dev HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	c.Write(make([]byte, 32<<10)) // no line ends: a tracker would buffer it all
	select {
	case fc := <-got:
		fc.mu.Lock()
		defer fc.mu.Unlock()
		if fc.t.buf != nil || fc.t.state != stLost {
			t.Errorf("tracker still following: state %d, %d bytes buffered", fc.t.state, len(fc.t.buf))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not read the bytes")
	}
}

// serveWebSocketAPI serves a gateway with the one API a on a
// FramingListener, as portico up does, and returns its address.
func serveWebSocketAPI(t *testing.T, a *API) string {
	t.Helper()
	s := New(Deps{})
	s.Swap(NewDeployment([]*API{a}))
	return serveFramed(t, s, Timeouts{})
}
