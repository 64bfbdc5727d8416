package httpproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
)

// counted is an upstream that answers status with body name and counts its
// requests.
type counted struct {
	url  string
	hits atomic.Int64
}

func countedUpstream(t *testing.T, name string, status int) *counted {
	t.Helper()
	u := &counted{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		io.ReadAll(r.Body)
		w.WriteHeader(status)
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	u.url = s.URL
	return u
}

// downURL is an address nothing listens on.
func downURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// serveOnce calls p.Serve for one POST and renders an error as the gateway
// does.
func serveOnce(t *testing.T, ctx context.Context, p *Proxy) (*httptest.ResponseRecorder, error) {
	t.Helper()
	req := httptest.NewRequest("POST", "/", nil)
	rec := httptest.NewRecorder()
	err := p.Serve(ctx, rec, front{}.request(req, []byte(`{"prompt":"hi"}`)))
	if err != nil && rec.Code == 200 && rec.Body.Len() == 0 {
		rec = httptest.NewRecorder()
		edge.Render(rec, err)
	}
	return rec, err
}

func TestNewUpstreamErrors(t *testing.T) {
	ok := "http://127.0.0.1:1/"
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "upstreams", cfg: Config{Upstreams: []Upstream{{URI: ok}, {URI: ok, Priority: 1, Weight: 3}}}},
		{name: "idle timeout", cfg: Config{URI: ok, IdleTimeout: time.Second}},
		{name: "neither", cfg: Config{}, wantErr: "uri or upstreams is required"},
		{name: "both", cfg: Config{URI: ok, Upstreams: []Upstream{{URI: ok}}}, wantErr: "exclusive"},
		{name: "bad upstream uri", cfg: Config{Upstreams: []Upstream{{URI: ok}, {URI: "ftp://x/"}}}, wantErr: "upstreams[1]: uri"},
		{name: "negative weight", cfg: Config{Upstreams: []Upstream{{URI: ok, Weight: -1}}}, wantErr: "upstreams[0]: weight -1"},
		{name: "huge weight", cfg: Config{Upstreams: []Upstream{{URI: ok, Weight: 1 << 21}}}, wantErr: "upstreams[0]: weight 2097152"},
		{name: "negative idle", cfg: Config{URI: ok, IdleTimeout: -time.Second}, wantErr: "idle timeout"},
		{name: "negative cooldown", cfg: Config{URI: ok, Cooldown: -time.Second}, wantErr: "cooldown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFailover(t *testing.T) {
	tests := []struct {
		name       string
		a, b       int // statuses; 0 means down
		wantStatus int
		wantBody   string
		wantHits   [2]int64
	}{
		{name: "first down, second answers", a: 0, b: 200, wantStatus: 200, wantBody: "b", wantHits: [2]int64{0, 1}},
		{name: "5xx moves on", a: 500, b: 200, wantStatus: 200, wantBody: "b", wantHits: [2]int64{1, 1}},
		{name: "503 moves on", a: 503, b: 200, wantStatus: 200, wantBody: "b", wantHits: [2]int64{1, 1}},
		{name: "429 moves on", a: 429, b: 200, wantStatus: 200, wantBody: "b", wantHits: [2]int64{1, 1}},
		{name: "4xx is an answer", a: 404, b: 200, wantStatus: 404, wantBody: "a", wantHits: [2]int64{1, 0}},
		{name: "first answers", a: 200, b: 200, wantStatus: 200, wantBody: "a", wantHits: [2]int64{1, 0}},
		{name: "all fail, last answer", a: 500, b: 502, wantStatus: 502, wantBody: "b", wantHits: [2]int64{1, 1}},
		{name: "last down", a: 429, b: 0, wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`, wantHits: [2]int64{1, 0}},
		{name: "all down", a: 0, b: 0, wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ups := [2]*counted{}
			var cfg Config
			for i, st := range []int{tt.a, tt.b} {
				ups[i] = &counted{url: downURL(t)}
				if st != 0 {
					ups[i] = countedUpstream(t, string(rune('a'+i)), st)
				}
				// Listed in reverse: priority, not order, decides.
				cfg.Upstreams = append([]Upstream{{URI: ups[i].url, Priority: 10 * i}}, cfg.Upstreams...)
			}
			p := newProxy(t, cfg)
			rec, _ := serveOnce(t, context.Background(), p)
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
			}
			if got := [2]int64{ups[0].hits.Load(), ups[1].hits.Load()}; got != tt.wantHits {
				t.Errorf("upstream hits %v, want %v", got, tt.wantHits)
			}
		})
	}
}

// TestFailoverReplaysBody: the next upstream gets the same request.
func TestFailoverReplaysBody(t *testing.T) {
	a := countedUpstream(t, "a", 500)
	got := make(chan string, 1)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.URL.Path + " " + string(body)
	}))
	defer b.Close()
	p := newProxy(t, Config{Upstreams: []Upstream{{URI: a.url + "/v1/{proxy}"}, {URI: b.URL + "/v2/{proxy}", Priority: 1}}})
	req := httptest.NewRequest("POST", "/", nil)
	r := front{params: map[string]string{"proxy": "chat"}}.request(req, []byte("payload"))
	if err := p.Serve(context.Background(), httptest.NewRecorder(), r); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "POST /v2/chat payload" {
		t.Fatalf("second upstream got %q", s)
	}
}

// TestFailoverStopsAtDeadline: once the request's deadline has passed, no
// further upstream is tried.
func TestFailoverStopsAtDeadline(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // else net/http does not notice the close
		<-r.Context().Done()
	}))
	defer hang.Close()
	b := countedUpstream(t, "b", 200)
	p := newProxy(t, Config{Upstreams: []Upstream{{URI: hang.URL}, {URI: b.url, Priority: 1}}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rec, _ := serveOnce(t, ctx, p)
	if rec.Code != 503 {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if n := b.hits.Load(); n != 0 {
		t.Fatalf("second upstream tried %d times after the deadline", n)
	}
}

func TestFailoverWeights(t *testing.T) {
	const n = 400
	a, b := countedUpstream(t, "a", 200), countedUpstream(t, "b", 200)
	backup := countedUpstream(t, "c", 200)
	p := newProxy(t, Config{Upstreams: []Upstream{
		{URI: a.url, Weight: 3}, {URI: b.url, Weight: 1}, {URI: backup.url, Priority: 1, Weight: 100},
	}})
	for range n {
		if rec, err := serveOnce(t, context.Background(), p); err != nil || rec.Code != 200 {
			t.Fatalf("Serve = %v, %d", err, rec.Code)
		}
	}
	// Expected 300 and 100, standard deviation about 9.
	if got := a.hits.Load(); got < 255 || got > 345 {
		t.Errorf("weight 3 upstream got %d of %d requests, want about 300", got, n)
	}
	if got := a.hits.Load() + b.hits.Load(); got != n {
		t.Errorf("priority 0 upstreams got %d of %d", got, n)
	}
	if got := backup.hits.Load(); got != 0 {
		t.Errorf("lower priority upstream got %d requests while the others were healthy", got)
	}
}

// TestNoFailoverAfterResponseStarted: a failure once the response is on its
// way to the client cuts it short instead of trying another upstream.
func TestNoFailoverAfterResponseStarted(t *testing.T) {
	addr := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequestHead(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	})
	b := countedUpstream(t, "b", 200)
	p := newProxy(t, Config{Upstreams: []Upstream{{URI: "http://" + addr}, {URI: b.url, Priority: 1}}})
	errs := make(chan error, 1)
	s := front{errs: errs}.start(t, p)
	resp, err := s.Client().Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || rerr == nil {
		t.Fatalf("got %d %q (read error %v), want a cut-short 200", resp.StatusCode, body, rerr)
	}
	if serr := <-errs; serr == nil {
		t.Fatal("Serve returned nil for a cut-short response")
	}
	if n := b.hits.Load(); n != 0 {
		t.Fatalf("second upstream tried %d times after the response started", n)
	}
}

func TestFailoverCooldown(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Unix(1700000000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	a, b := countedUpstream(t, "a", 500), countedUpstream(t, "b", 200)
	p := newProxy(t, Config{
		Upstreams: []Upstream{{URI: a.url}, {URI: b.url, Priority: 1}},
		Cooldown:  5 * time.Second, Now: clock,
	})
	step := func(wantA, wantB int64) {
		t.Helper()
		if rec, _ := serveOnce(t, context.Background(), p); rec.Code != 200 || rec.Body.String() != "b" {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
		if ga, gb := a.hits.Load(), b.hits.Load(); ga != wantA || gb != wantB {
			t.Fatalf("hits a=%d b=%d, want a=%d b=%d", ga, gb, wantA, wantB)
		}
	}
	step(1, 1) // a fails and cools down
	now.Add(int64(4 * time.Second))
	step(1, 2) // a is passed over
	now.Add(int64(2 * time.Second))
	step(2, 3) // cooldown over: a is tried again, fails again

	// When every upstream is cooling down they are still tried, in order.
	c, d := countedUpstream(t, "c", 500), countedUpstream(t, "d", 503)
	q := newProxy(t, Config{Upstreams: []Upstream{{URI: c.url}, {URI: d.url, Priority: 1}}, Now: clock})
	for range 2 {
		if rec, _ := serveOnce(t, context.Background(), q); rec.Code != 503 || rec.Body.String() != "d" {
			t.Fatalf("got %d %q, want the last upstream's 503", rec.Code, rec.Body)
		}
	}
	if c.hits.Load() != 2 || d.hits.Load() != 2 {
		t.Fatalf("hits c=%d d=%d, want 2 each", c.hits.Load(), d.hits.Load())
	}
}

// TestIdleTimeoutStalledStream: an upstream that sends the head and one
// event, then nothing, has its stream ended after IdleTimeout and its
// connection closed.
func TestIdleTimeoutStalledStream(t *testing.T) {
	upClosed := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // stalls until the proxy closes the connection
		close(upClosed)
	}))
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL, IdleTimeout: 100 * time.Millisecond})
	errs := make(chan error, 1)
	s := front{errs: errs}.start(t, p)
	start := time.Now()
	resp, err := s.Client().Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "data: one\n\n" {
		t.Fatalf("client got %q", body)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("stream ended after %v, want about the idle timeout", d)
	}
	if serr := <-errs; !errors.Is(serr, ErrIdleTimeout) {
		t.Errorf("Serve = %v, want ErrIdleTimeout", serr)
	}
	select {
	case <-upClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream connection not closed")
	}
}

// TestIdleTimeoutPerRead: the idle timeout bounds each silence, not the
// response, nor the wait for the response head; a connection used under
// it is reused without a stale deadline.
func TestIdleTimeoutPerRead(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slowhead") != "" {
			time.Sleep(150 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond)
		}
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL, IdleTimeout: 80 * time.Millisecond})
	for i, query := range []string{"", "slowhead=1"} {
		if i > 0 {
			time.Sleep(120 * time.Millisecond) // longer than the idle timeout, while pooled
		}
		req := httptest.NewRequest("GET", "/?"+query, nil)
		rec := httptest.NewRecorder()
		if err := p.Serve(context.Background(), rec, front{}.request(req, nil)); err != nil {
			t.Fatalf("request %d: Serve = %v", i, err)
		}
		if n := strings.Count(rec.Body.String(), "data: "); n != 5 {
			t.Fatalf("request %d: %d events, want 5", i, n)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections, want 1 (reused)", n)
	}
}
