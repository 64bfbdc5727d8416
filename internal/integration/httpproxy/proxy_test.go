package httpproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

// front serves p the way the gateway does: body read first, the
// integration called with the client's context (plus an optional timeout),
// errors rendered with edge.Render when nothing was written yet.
type front struct {
	routeKey string
	params   map[string]string
	stage    map[string]string
	timeout  time.Duration
	errs     chan error // Serve's errors, when non-nil
}

// recorder notes whether the integration wrote anything.
type recorder struct {
	http.ResponseWriter
	wrote bool
}

func (r *recorder) WriteHeader(code int)        { r.wrote = true; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) { r.wrote = true; return r.ResponseWriter.Write(b) }
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (f front) start(t *testing.T, in integration.Integration) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ir := f.request(r, body)
		ctx := r.Context()
		if f.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, f.timeout)
			defer cancel()
		}
		rec := &recorder{ResponseWriter: w}
		err := in.Serve(ctx, rec, ir)
		if err != nil && !rec.wrote {
			edge.Render(w, err)
		}
		if f.errs != nil {
			f.errs <- err
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (f front) request(r *http.Request, body []byte) *integration.Request {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	rk := f.routeKey
	if rk == "" {
		rk = "ANY /{proxy+}"
	}
	return &integration.Request{
		HTTP: r, Body: body, RawPath: r.URL.EscapedPath(), Path: r.URL.Path,
		RouteKey: rk, PathParameters: f.params, StageVariables: f.stage,
		RequestID: "req-1", Time: time.Unix(1700000000, 0), SourceIP: ip, DomainName: "api.example.com",
	}
}

func newProxy(t *testing.T, cfg Config) *Proxy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// rawUpstream serves each accepted connection with handle, for responses
// net/http would refuse to produce.
func rawUpstream(t *testing.T, handle func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// readRequestHead consumes one request (head and Content-Length body).
func readRequestHead(br *bufio.Reader) (*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return req, err
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "ok", cfg: Config{URI: "http://127.0.0.1:1/{proxy}"}},
		{name: "ok fixed method", cfg: Config{URI: "http://127.0.0.1:1/", Method: "post"}},
		{name: "ok any", cfg: Config{URI: "http://127.0.0.1:1/", Method: "ANY"}},
		{name: "bad uri", cfg: Config{URI: "127.0.0.1:1"}, wantErr: "scheme"},
		{name: "bad method", cfg: Config{URI: "http://h/", Method: "GE T"}, wantErr: "not a valid HTTP method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				p.Close() // idempotent
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewTransportErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     TransportConfig
		wantErr string
	}{
		{name: "defaults", cfg: TransportConfig{}},
		{name: "negative idle", cfg: TransportConfig{MaxIdleConnsPerHost: -1}, wantErr: "MaxIdleConnsPerHost"},
		{name: "negative timeout", cfg: TransportConfig{IdleConnTimeout: -1}, wantErr: "IdleConnTimeout"},
		{name: "negative dial", cfg: TransportConfig{DialTimeout: -1}, wantErr: "DialTimeout"},
		{name: "negative head", cfg: TransportConfig{MaxResponseHeaderBytes: -1}, wantErr: "MaxResponseHeaderBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewTransport(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				tr.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewTransport = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestRequestForwarding checks the request line, Host, forwarded and
// removed headers, and the body, through a raw upstream that sees the exact
// bytes.
func TestRequestForwarding(t *testing.T) {
	got := make(chan *http.Request, 1)
	gotBody := make(chan []byte, 1)
	addr := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		got <- req
		gotBody <- b
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	tests := []struct {
		name       string
		cfg        Config
		method     string
		body       string
		header     http.Header
		wantMethod string
		wantCL     string // "" means absent
		check      func(t *testing.T, h http.Header)
	}{
		{name: "get", method: "GET", wantMethod: "GET"},
		{name: "post body", method: "POST", body: "hello world", wantMethod: "POST", wantCL: "11"},
		{name: "empty post", method: "POST", wantMethod: "POST", wantCL: "0"},
		{name: "put", method: "PUT", body: "x", wantMethod: "PUT", wantCL: "1"},
		{name: "patch", method: "PATCH", body: "{}", wantMethod: "PATCH", wantCL: "2"},
		{name: "delete", method: "DELETE", wantMethod: "DELETE"},
		{name: "options", method: "OPTIONS", wantMethod: "OPTIONS"},
		{name: "fixed method", cfg: Config{Method: "POST"}, method: "GET", wantMethod: "POST", wantCL: "0"},
		{
			name: "hop-by-hop removed", method: "GET", wantMethod: "GET",
			header: http.Header{
				"Connection":          {"X-Named, keep-alive"},
				"X-Named":             {"secret"},
				"Keep-Alive":          {"timeout=5"},
				"Proxy-Authorization": {"Basic x"},
				"Proxy-Connection":    {"keep-alive"},
				"Te":                  {"trailers"},
				"Trailer":             {"X-T"},
				"Upgrade":             {"websocket"},
				"Expect":              {"100-continue"},
				"X-Kept":              {"a", "b"},
				"Authorization":       {"Bearer t"},
			},
			check: func(t *testing.T, h http.Header) {
				for _, k := range []string{"Connection", "X-Named", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Upgrade", "Expect"} {
					if v, ok := h[k]; ok {
						t.Errorf("%s forwarded: %q", k, v)
					}
				}
				if v := h["X-Kept"]; len(v) != 2 || v[0]+v[1] != "ab" && v[0]+v[1] != "ba" {
					t.Errorf("X-Kept = %q, want both values", v)
				}
				if h.Get("Authorization") != "Bearer t" {
					t.Errorf("Authorization = %q", h.Get("Authorization"))
				}
			},
		},
		{
			name: "aws headers", method: "GET", wantMethod: "GET",
			header: http.Header{"Forwarded": {"for=6.6.6.6"}, "Via": {"1.1 spoof"}, "X-Forwarded-For": {"9.9.9.9"}},
			check: func(t *testing.T, h http.Header) {
				if got, want := h.Get("Forwarded"), `by=127.0.0.1;for=127.0.0.1;host=api.example.com;proto=http`; got != want {
					t.Errorf("Forwarded = %q, want %q", got, want)
				}
				if got := h.Values("Via"); len(got) != 1 || got[0] != "HTTP/1.1 AmazonAPIGateway" {
					t.Errorf("Via = %q", got)
				}
				if got := h.Get("X-Amzn-Trace-Id"); !regexp.MustCompile(`^Root=1-6553f100-[0-9a-f]{24}$`).MatchString(got) {
					t.Errorf("X-Amzn-Trace-Id = %q", got)
				}
				if got := h.Get("X-Forwarded-For"); got != "9.9.9.9" {
					t.Errorf("X-Forwarded-For = %q, want the client's value untouched", got)
				}
				if h.Get("X-Forwarded-Proto") != "" || h.Get("X-Forwarded-Port") != "" {
					t.Errorf("X-Forwarded-Proto/Port sent without XForwarded")
				}
			},
		},
		{
			name: "trace id kept", method: "GET", wantMethod: "GET",
			header: http.Header{"X-Amzn-Trace-Id": {"Root=1-abc-def"}},
			check: func(t *testing.T, h http.Header) {
				if got := h.Values("X-Amzn-Trace-Id"); len(got) != 1 || got[0] != "Root=1-abc-def" {
					t.Errorf("X-Amzn-Trace-Id = %q", got)
				}
			},
		},
		{
			name: "x-forwarded option", cfg: Config{XForwarded: true}, method: "GET", wantMethod: "GET",
			header: http.Header{"X-Forwarded-For": {"9.9.9.9"}, "X-Forwarded-Proto": {"spoof"}},
			check: func(t *testing.T, h http.Header) {
				if got := h.Get("X-Forwarded-For"); got != "9.9.9.9, 127.0.0.1" {
					t.Errorf("X-Forwarded-For = %q", got)
				}
				if got := h.Values("X-Forwarded-Proto"); len(got) != 1 || got[0] != "http" {
					t.Errorf("X-Forwarded-Proto = %q", got)
				}
				if h.Get("X-Forwarded-Port") == "" {
					t.Errorf("X-Forwarded-Port missing")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.URI = "http://" + addr + "/base/{proxy}"
			p := newProxy(t, cfg)
			s := front{params: map[string]string{"proxy": "a b/c"}}.start(t, p)
			req, _ := http.NewRequest(tt.method, s.URL+"/x/a%20b/c?q=1&r=%2F", strings.NewReader(tt.body))
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("response %d %q", resp.StatusCode, b)
			}
			up, body := <-got, <-gotBody
			if up.Method != tt.wantMethod {
				t.Errorf("method = %s, want %s", up.Method, tt.wantMethod)
			}
			if up.RequestURI != "/base/a%20b/c?q=1&r=%2F" {
				t.Errorf("request-target = %q", up.RequestURI)
			}
			if up.Host != addr {
				t.Errorf("Host = %q, want %q", up.Host, addr)
			}
			if got := up.Header.Get("Content-Length"); got != tt.wantCL {
				t.Errorf("Content-Length = %q, want %q", got, tt.wantCL)
			}
			if tt.wantMethod == tt.method && string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			if tt.check != nil {
				tt.check(t, up.Header)
			}
		})
	}
}

func TestDefaultRouteAppendsPath(t *testing.T) {
	got := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.RequestURI }))
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL + "/base"})
	s := front{routeKey: "$default"}.start(t, p)
	resp, err := s.Client().Get(s.URL + "/dev/store/checkout?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if u := <-got; u != "/base/dev/store/checkout?x=1" {
		t.Fatalf("upstream got %q", u)
	}
}

func TestResponses(t *testing.T) {
	sizes := []int{0, 1, 100, 4095, 4096, 16 << 10, 32<<10 + 1, 1<<20 + 3}
	type tc struct {
		name    string
		method  string
		status  int
		size    int
		chunked bool
	}
	var tests []tc
	for _, st := range []int{200, 201, 301, 404, 500, 503} {
		tests = append(tests, tc{name: "status " + strconv.Itoa(st), method: "GET", status: st, size: 10})
	}
	for _, n := range sizes {
		tests = append(tests, tc{name: fmt.Sprintf("fixed %d", n), method: "GET", status: 200, size: n})
		tests = append(tests, tc{name: fmt.Sprintf("chunked %d", n), method: "GET", status: 200, size: n, chunked: true})
	}
	tests = append(tests,
		tc{name: "head", method: "HEAD", status: 200, size: 1234},
		tc{name: "no content", method: "DELETE", status: 204},
		tc{name: "not modified", method: "GET", status: 304},
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, _ := strconv.Atoi(r.URL.Query().Get("status"))
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		body := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		w.Header().Set("X-Up", "1")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("Keep-Alive", "timeout=9")
		if r.URL.Query().Get("chunked") == "" && st != 204 && st != 304 {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.WriteHeader(st)
		if r.URL.Query().Get("chunked") != "" {
			for len(body) > 0 { // several chunks
				k := min(len(body), 5000)
				w.Write(body[:k])
				w.(http.Flusher).Flush()
				body = body[k:]
			}
			return
		}
		w.Write(body)
	}))
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL + "/{proxy}"})
	s := front{params: map[string]string{"proxy": "x"}}.start(t, p)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := fmt.Sprintf("%s/x?status=%d&size=%d", s.URL, tt.status, tt.size)
			if tt.chunked {
				u += "&chunked=1"
			}
			req, _ := http.NewRequest(tt.method, u, nil)
			c := s.Client()
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			want := bytes.Repeat([]byte("0123456789abcdef"), tt.size/16+1)[:tt.size]
			if tt.method == "HEAD" || tt.status == 204 || tt.status == 304 {
				want = nil
			}
			if !bytes.Equal(b, want) {
				t.Errorf("body: %d bytes, want %d", len(b), len(want))
			}
			if resp.Header.Get("X-Up") != "1" || len(resp.Header.Values("Set-Cookie")) != 2 {
				t.Errorf("headers = %v", resp.Header)
			}
			if resp.Header.Get("Keep-Alive") != "" {
				t.Errorf("Keep-Alive forwarded")
			}
			if tt.method == "HEAD" && resp.ContentLength != int64(tt.size) {
				t.Errorf("HEAD Content-Length = %d, want %d", resp.ContentLength, tt.size)
			}
			if !tt.chunked && tt.method == "GET" && tt.status != 304 && resp.ContentLength != int64(tt.size) {
				t.Errorf("Content-Length = %d, want %d", resp.ContentLength, tt.size)
			}
		})
	}
}

// TestRawResponses covers responses net/http servers do not produce.
func TestRawResponses(t *testing.T) {
	tests := []struct {
		name       string
		resp       string
		wantStatus int
		wantBody   string
		wantHeader http.Header
		wantErr    bool // Serve returns an error
		wantCut    bool // the client sees a truncated body
	}{
		{name: "interim 100 and 103 dropped", resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", wantStatus: 200, wantBody: "hi"},
		{name: "http/1.0 close-delimited", resp: "HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nuntil close", wantStatus: 200, wantBody: "until close", wantHeader: http.Header{"X-A": {"1"}}},
		{name: "connection-named header dropped", resp: "HTTP/1.1 200 OK\r\nConnection: X-Secret, close\r\nX-Secret: s\r\nX-Kept: k\r\nContent-Length: 0\r\n\r\n", wantStatus: 200, wantHeader: http.Header{"X-Kept": {"k"}, "X-Secret": nil}},
		{name: "lower-case names", resp: "HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\nx-multi: a\r\nx-multi: b\r\ncontent-length: 3\r\n\r\nabc", wantStatus: 201, wantBody: "abc", wantHeader: http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"a", "b"}}},
		{name: "chunked with extensions and trailers", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: v\r\n\r\n", wantStatus: 200, wantBody: "abcde"},
		{name: "bare LF", resp: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", wantStatus: 200, wantBody: "ok"},
		{name: "no reason phrase", resp: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", wantStatus: 200, wantBody: "ok"},
		{name: "bad status line", resp: "HTTP/2 200 OK\r\n\r\n", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "garbage", resp: "hello\r\n\r\n", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "bad header line", resp: "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "obs-fold", resp: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "conflicting content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "bad content-length", resp: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "101", resp: "HTTP/1.1 101 Switching Protocols\r\n\r\n", wantStatus: 502, wantBody: `{"message":"Bad Gateway"}`, wantErr: true},
		{name: "closed before response", resp: "", wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`, wantErr: true},
		{name: "closed mid-head", resp: "HTTP/1.1 200 OK\r\nX-A: 1\r\n", wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`, wantErr: true},
		{name: "closed mid-body fixed", resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", wantStatus: 200, wantErr: true, wantCut: true},
		{name: "closed mid-body chunked", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nshort", wantStatus: 200, wantErr: true, wantCut: true},
		{name: "bad chunk size", resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantStatus: 200, wantErr: true, wantCut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequestHead(br); err != nil {
					return
				}
				io.WriteString(c, tt.resp)
			})
			p := newProxy(t, Config{URI: "http://" + addr})
			errs := make(chan error, 1)
			s := front{errs: errs}.start(t, p)
			resp, err := s.Client().Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantCut {
				if rerr == nil {
					t.Errorf("body read %q without error, want a cut-short response", b)
				}
			} else if rerr != nil || string(b) != tt.wantBody {
				t.Errorf("body = %q (%v), want %q", b, rerr, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Values(k); strings.Join(got, "|") != strings.Join(v, "|") {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if serr := <-errs; (serr != nil) != tt.wantErr {
				t.Errorf("Serve error = %v, want error %v", serr, tt.wantErr)
			}
		})
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, uri := range []string{"http://" + addr, "http://no-such-host.invalid/"} {
		p := newProxy(t, Config{URI: uri})
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		err := p.Serve(context.Background(), rec, front{}.request(req, nil))
		var e *edge.Error
		if !errors.As(err, &e) || e.Kind != edge.ServiceUnavailable {
			t.Fatalf("%s: Serve = %v, want a ServiceUnavailable edge error", uri, err)
		}
		if rec.Code != 200 || rec.Body.Len() != 0 || len(rec.Header()) != 0 {
			t.Fatalf("%s: Serve wrote before failing", uri)
		}
	}
}

func TestDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL})
	s := front{timeout: 100 * time.Millisecond}.start(t, p)
	start := time.Now()
	resp, err := s.Client().Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(b) != `{"message":"Service Unavailable"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %v", resp.StatusCode, b, resp.Header)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestClientCancelCancelsUpstream(t *testing.T) {
	upCancelled := make(chan struct{})
	started := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
		close(upCancelled)
	}))
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL})
	errs := make(chan error, 1)
	s := front{errs: errs}.start(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	resp.Body.Close()
	select {
	case <-upCancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request not cancelled")
	}
	if err := <-errs; err == nil {
		t.Fatal("Serve returned nil after the client went away")
	}
}

func TestServerSentEvents(t *testing.T) {
	const events = 5
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			fmt.Fprintf(w, "data: event %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next: // the test read event i: only now send i+1
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL})
	s := front{}.start(t, p)
	resp, err := s.Client().Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content-type %q", resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() != "" {
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	for i := range events {
		select {
		case l := <-lines:
			if want := fmt.Sprintf("data: event %d", i); l != want {
				t.Fatalf("got %q, want %q", l, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not delivered while the upstream waits", i)
		}
		next <- struct{}{}
	}
}

func TestKeepAliveAndConnectionClose(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("close") != "" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	p := newProxy(t, Config{URI: up.URL})
	do := func(query string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/?"+query, nil)
		rec := httptest.NewRecorder()
		if err := p.Serve(context.Background(), rec, front{}.request(req, nil)); err != nil || rec.Body.String() != "ok" {
			t.Fatalf("Serve = %v, body %q", err, rec.Body)
		}
	}
	for range 10 {
		do("")
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections for 10 sequential requests, want 1", n)
	}
	do("close=1")
	do("")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d upstream connections, want 2 after a Connection: close response", n)
	}
}

func TestSharedTransport(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	tr, err := NewTransport(TransportConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	call := func(p *Proxy) {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := p.Serve(context.Background(), rec, front{}.request(httptest.NewRequest("GET", "/", nil), nil)); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := New(Config{URI: up.URL + "/a", Transport: tr})
	call(old)
	redeployed, _ := New(Config{URI: up.URL + "/b", Transport: tr})
	old.Close() // retiring the old version keeps the shared connection
	call(redeployed)
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1 shared across versions", n)
	}
	redeployed.Close() // last user: idle connections closed
	tr.mu.Lock()
	left := len(tr.pools)
	tr.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d pools left after the last Proxy closed", left)
	}
}

func TestStageVariableHost(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) }))
	defer up.Close()
	host := strings.TrimPrefix(up.URL, "http://")
	p := newProxy(t, Config{URI: "http://${stageVariables.backend}/x"})
	for _, tt := range []struct {
		name, backend string
		wantStatus    int
	}{
		{"good", host, 200},
		{"bad", "a b", 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := front{stage: map[string]string{"backend": tt.backend}}.start(t, p)
			resp, err := s.Client().Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tt.wantStatus)
			}
			if tt.wantStatus == 200 && string(b) != host {
				t.Fatalf("upstream saw Host %q, want %q", b, host)
			}
		})
	}
}

func TestHTTPSUpstream(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secure") }))
	defer up.Close()
	tr, err := NewTransport(TransportConfig{TLSClientConfig: up.Client().Transport.(*http.Transport).TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p := newProxy(t, Config{URI: up.URL, Transport: tr})
	rec := httptest.NewRecorder()
	if err := p.Serve(context.Background(), rec, front{}.request(httptest.NewRequest("GET", "/", nil), nil)); err != nil || rec.Body.String() != "secure" {
		t.Fatalf("Serve = %v, body %q", err, rec.Body)
	}
}
