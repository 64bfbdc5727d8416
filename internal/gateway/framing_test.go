package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integration/httpproxy"
	"github.com/portico-dev/portico/internal/router"
)

// upstreamLog records the requests a real upstream received.
type upstreamLog struct {
	mu   sync.Mutex
	reqs []string
}

func (u *upstreamLog) add(s string) { u.mu.Lock(); u.reqs = append(u.reqs, s); u.mu.Unlock() }
func (u *upstreamLog) all() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.reqs...)
}

// startFramed serves a gateway on a FramingListener, as portico up does,
// with ANY /{proxy+} proxied to a real upstream and POST /echo answered by
// the gateway. It returns the gateway's address and the upstream's log.
func startFramed(t *testing.T, to Timeouts) (string, *upstreamLog) {
	t.Helper()
	ul := &upstreamLog{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ul.add(r.Method + " " + r.URL.RequestURI() + " " + string(b))
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	px, err := httpproxy.New(httpproxy.Config{URI: up.URL + "/{proxy}"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	items, err := httpproxy.New(httpproxy.Config{URI: up.URL + "/items/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { items.Close() })
	a := NewAPI("abc1234567", "framing", "000000000000")
	if err := a.AddStage("$default", nil, []router.Route[*Route]{
		{Key: "ANY /{proxy+}", Method: "ANY", Path: "/{proxy+}", Value: &Route{Key: "ANY /{proxy+}", Integration: px, IntegrationType: "HTTP_PROXY"}},
		route("POST /echo", "POST", "/echo", echo("echo")),
		{Key: "GET /items/{id}", Method: "GET", Path: "/items/{id}", Value: &Route{Key: "GET /items/{id}", Integration: items, IntegrationType: "HTTP_PROXY"}},
	}); err != nil {
		t.Fatal(err)
	}
	s := New(Deps{Timeouts: to})
	s.Swap(NewDeployment([]*API{a}))
	return serveFramed(t, s, to), ul
}

// serveFramed serves s behind a FramingListener on a new loopback port, as
// portico up does, until the test ends, and returns the address.
func serveFramed(t *testing.T, s *Server, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(s, to)
	go srv.Serve(FramingListener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// exchange writes raw to a new connection to addr and reads every response
// until the gateway closes the connection (bounded by a deadline that only
// a hung gateway reaches).
func exchange(t *testing.T, addr, raw string) (statuses []int, closes []bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
				t.Fatalf("after %v: %v (the gateway did not close the connection)", statuses, err)
			}
			return statuses, closes
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		closes = append(closes, resp.Close) // "Connection: close"
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

func TestFramingRefusesAmbiguousRequests(t *testing.T) {
	addr, ul := startFramed(t, Timeouts{})
	chunkedThenSmuggled := "0\r\n\r\n" + smuggled
	tests := []struct {
		name       string
		raw        string
		want       []int
		wantClosed bool // the last response says Connection: close
	}{
		{name: "content-length then transfer-encoding",
			raw:  "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedThenSmuggled,
			want: []int{400}, wantClosed: true},
		{name: "transfer-encoding then content-length",
			raw:  "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 41\r\n\r\n" + chunkedThenSmuggled,
			want: []int{400}, wantClosed: true},
		{name: "chunked in odd casing",
			raw:  "POST /a HTTP/1.1\r\nHost: x\r\ncontent-length: 41\r\ntransfer-encoding: ChUnKeD\r\n\r\n" + chunkedThenSmuggled,
			want: []int{400}, wantClosed: true},
		{name: "GET with both",
			raw:  "GET /a HTTP/1.1\r\nHost: x\r\nTRANSFER-ENCODING: chunked\r\nContent-Length: 0\r\n\r\n" + chunkedThenSmuggled,
			want: []int{400}, wantClosed: true},
		{name: "bare LF line ends",
			raw:  "POST /a HTTP/1.1\nHost: x\nContent-Length: 41\nTransfer-Encoding: chunked\n\n" + chunkedThenSmuggled,
			want: []int{400}, wantClosed: true},
		{name: "duplicate content-length, same value",
			raw:  "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + smuggled,
			want: []int{400}, wantClosed: true},
		{name: "duplicate content-length, different values (net/http refuses)",
			raw:  "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 41\r\n\r\nhello" + smuggled,
			want: []int{400}},
		{name: "transfer-encoding in HTTP/1.0",
			raw:  "POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello" + smuggled,
			want: []int{400}, wantClosed: true},
		{name: "transfer-encoding alone in HTTP/1.0",
			raw:  "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedThenSmuggled,
			want: []int{400}, wantClosed: true},
		{name: "a good request, then an ambiguous one",
			raw: "GET /first HTTP/1.1\r\nHost: x\r\n\r\n" +
				"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedThenSmuggled,
			want: []int{200, 400}, wantClosed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, closes := exchange(t, addr, tt.raw)
			if !equalInts(got, tt.want) {
				t.Fatalf("statuses = %v, want %v and the connection closed", got, tt.want)
			}
			if tt.wantClosed && !closes[len(closes)-1] {
				t.Error("last response has no Connection: close")
			}
		})
	}
	// Every exchange is over (each connection was closed by the gateway
	// after its last response): the upstream saw only /first.
	for _, r := range ul.all() {
		if r != "GET /first " {
			t.Errorf("upstream received %q", r)
		}
	}
}

func TestFramingKeepsGoodPipelines(t *testing.T) {
	addr, ul := startFramed(t, Timeouts{})
	raw := "GET /one HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\n\r\n" +
		"POST /four HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n" +
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi" +
		"GET /five HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	got, _ := exchange(t, addr, raw)
	if want := []int{200, 200, 200, 200, 200, 200, 200}; !equalInts(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	want := []string{"GET /one ", "POST /two hello", "POST /three hello!", "POST /four abc", "GET /five "}
	if got := ul.all(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("upstream received %q, want %q", got, want)
	}
}

// TestTrackerFollowsSplitReads feeds streams one byte at a time and whole:
// the tracker finds the same heads either way.
func TestTrackerFollowsSplitReads(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		wantHeads int64
		wantBad   string
		wantLost  bool
	}{
		{name: "pipeline", stream: "GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", wantHeads: 4},
		{name: "body looks like a bad head", stream: "POST / HTTP/1.1\r\nContent-Length: 59\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n\r\n", wantHeads: 1},
		{name: "bad head", stream: "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", wantHeads: 2, wantBad: "request has both Content-Length and Transfer-Encoding", wantLost: true},
		{name: "chunk line with bare LF", stream: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n", wantHeads: 1, wantLost: true},
		{name: "upgrade: what follows only passes", stream: "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", wantHeads: 1},
		{name: "options star is not counted", stream: "OPTIONS * HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", wantHeads: 1},
		// h2c: after the HTTP/2 preface, frames are not HTTP/1.1 heads,
		// even when their bytes look like a bad one.
		{name: "h2c preface: frames pass", stream: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{name: "preface after a request is a head", stream: "GET / HTTP/1.1\r\n\r\nPRI * HTTP/2.0\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", wantHeads: 3, wantBad: "request has both Content-Length and Transfer-Encoding", wantLost: true},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			var tr tracker
			bad := ""
			if split {
				for i := 0; i < len(tt.stream) && bad == ""; i++ {
					_, bad = tr.feed([]byte{tt.stream[i]})
				}
			} else {
				_, bad = tr.feed([]byte(tt.stream))
			}
			if tr.heads != tt.wantHeads || bad != tt.wantBad || (tr.state == stLost) != tt.wantLost {
				t.Errorf("%s (split %v): heads %d, bad %q, lost %v; want %d, %q, %v", tt.name, split, tr.heads, bad, tr.state == stLost, tt.wantHeads, tt.wantBad, tt.wantLost)
			}
		}
	}
}

func TestSlowRequests(t *testing.T) {
	addr, ul := startFramed(t, Timeouts{Header: 300 * time.Millisecond, Body: 300 * time.Millisecond, BodyMinRate: -1})
	t.Run("slow body gets 408 and the connection is closed", func(t *testing.T) {
		// One byte of ten, then nothing: the gateway answers when the body
		// timeout passes.
		got, closes := exchange(t, addr, "POST /anything HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nh")
		if !equalInts(got, []int{408}) || !closes[0] {
			t.Fatalf("statuses = %v (Connection %v), want [408] with close", got, closes)
		}
	})
	t.Run("slow chunked body", func(t *testing.T) {
		got, _ := exchange(t, addr, "POST /anything HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
		if !equalInts(got, []int{408}) {
			t.Fatalf("statuses = %v, want [408]", got)
		}
	})
	t.Run("slow head: the connection is closed without a response", func(t *testing.T) {
		got, _ := exchange(t, addr, "GET /x HTTP/1.1\r\nHost: x\r\n")
		if len(got) != 0 {
			t.Fatalf("statuses = %v, want none", got)
		}
	})
	t.Run("a body in time is served, on the same connection as the next", func(t *testing.T) {
		got, _ := exchange(t, addr, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"+
			"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if !equalInts(got, []int{200, 200}) {
			t.Fatalf("statuses = %v, want [200 200]", got)
		}
	})
	for _, r := range ul.all() {
		if r != "GET /after " {
			t.Errorf("upstream received %q", r)
		}
	}
}

func TestBodyDeadlineMinRate(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name string
		to   Timeouts
		read int
		want time.Duration
	}{
		{name: "nothing read", to: Timeouts{Body: 20 * time.Second, BodyMinRate: 500}, read: 0, want: 20 * time.Second},
		{name: "500 bytes buy a second", to: Timeouts{Body: 20 * time.Second, BodyMinRate: 500}, read: 500, want: 21 * time.Second},
		{name: "one byte a second does not keep up", to: Timeouts{Body: 20 * time.Second, BodyMinRate: 500}, read: 20, want: 20*time.Second + 40*time.Millisecond},
		{name: "extension off", to: Timeouts{Body: time.Second, BodyMinRate: -1}, read: 1 << 20, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bodyDeadline(start, tt.to, int64(tt.read)).Sub(start); got != tt.want {
				t.Errorf("deadline = start+%v, want start+%v", got, tt.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestProxyPathTraversal sends paths that would leave the upstream path the
// route's template gives (the target is http://upstream/{proxy} for
// ANY /{proxy+} and http://upstream/items/{id} for GET /items/{id}).
func TestProxyPathTraversal(t *testing.T) {
	addr, ul := startFramed(t, Timeouts{})
	tests := []struct {
		name     string
		target   string
		want     int
		upstream string // what the upstream received, "" for nothing
	}{
		{name: "plain greedy path", target: "/a/b", want: 200, upstream: "GET /a/b "},
		{name: "dots inside names are fine", target: "/a/..b/c..", want: 200, upstream: "GET /a/..b/c.. "},
		{name: "encoded slash in a greedy path", target: "/a%2Fb", want: 200, upstream: "GET /a/b "},
		{name: "dot-dot", target: "/a/../admin", want: 400},
		{name: "dot", target: "/a/./b", want: 400},
		{name: "encoded dot-dot", target: "/a/%2e%2e/admin", want: 400},
		{name: "encoded dot-dot, upper case", target: "/a/%2E%2E/admin", want: 400},
		{name: "half-encoded dot-dot", target: "/a/.%2e/admin", want: 400},
		{name: "dot-dot with encoded slashes", target: "/a%2F..%2F..%2Fadmin", want: 400},
		{name: "dot-dot with backslash", target: "/a/..%5Cadmin", want: 400},
		{name: "trailing dot-dot", target: "/a/..", want: 400},
		{name: "double-encoded dot-dot stays literal", target: "/a/%252e%252e/b", want: 200, upstream: "GET /a/%252e%252e/b "},
		{name: "single parameter", target: "/items/42", want: 200, upstream: "GET /items/42 "},
		{name: "encoded slash in a single parameter", target: "/items/a%2Fb", want: 404},
		{name: "dot-dot in a single parameter", target: "/items/..", want: 400},
		{name: "encoded dot-dot in a single parameter", target: "/items/%2e%2e", want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ul.all())
			got, _ := exchange(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if !equalInts(got, []int{tt.want}) {
				t.Fatalf("statuses = %v, want [%d]", got, tt.want)
			}
			after := ul.all()[before:]
			if want := tt.upstream; (want == "" && len(after) > 0) || (want != "" && (len(after) != 1 || after[0] != want)) {
				t.Errorf("upstream received %q, want %q", after, want)
			}
		})
	}
}
