package runtimeapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveHarness serves a Server with Serve on a loopback listener.
func serveHarness(t *testing.T) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		s.Shutdown()
		if err := <-done; !errors.Is(err, ErrServerStopped) {
			t.Errorf("Serve = %v", err)
		}
	})
	return s, ln.Addr().String()
}

// raw sends req on a new connection and returns everything the server
// wrote until it closed the connection or went quiet.
func raw(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestServeMatchesServeHTTP runs the same exchanges through Serve and
// through ServeHTTP and compares status, headers (but Date) and body.
func TestServeMatchesServeHTTP(t *testing.T) {
	type step struct{ method, path, body, mode string }
	tests := []struct {
		name  string
		steps []step
	}{
		{"next then response", []step{{"GET", "/invocation/next", "", ""}, {"POST", "/invocation/req-1/response", "hello", ""}}},
		{"next then error", []step{{"GET", "/invocation/next", "", ""}, {"POST", "/invocation/req-1/error", `{"errorMessage":"m"}`, ""}}},
		{"unknown id", []step{{"GET", "/invocation/next", "", ""}, {"POST", "/invocation/nope/response", "x", ""}}},
		{"bad mode", []step{{"GET", "/invocation/next", "", ""}, {"POST", "/invocation/req-1/response", "x", "chunky"}}},
		{"second answer", []step{{"GET", "/invocation/next", "", ""}, {"POST", "/invocation/req-1/response", "1", ""}, {"POST", "/invocation/req-1/response", "2", ""}}},
		{"next while busy", []step{{"GET", "/invocation/next", "", ""}, {"GET", "/invocation/next", "", ""}}},
		{"unknown path", []step{{"GET", "/nope", "", ""}}},
		{"wrong method", []step{{"POST", "/invocation/next", "", ""}, {"GET", "/init/error", "", ""}}},
		{"init error", []step{{"POST", "/init/error", `{"errorType":"x"}`, ""}, {"POST", "/init/error", `{}`, ""}}},
	}
	run := func(t *testing.T, s *Server, url string, steps []step) []string {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go s.Invoke(ctx, &Invocation{RequestID: "req-1", Deadline: time.UnixMilli(42), FunctionARN: "arn:f", TraceID: "Root=1", Payload: []byte(`{"a":1}`)}, nil)
		c := &http.Client{Transport: &http.Transport{}}
		defer c.CloseIdleConnections()
		var out []string
		for _, st := range steps {
			req, _ := http.NewRequest(st.method, url+base+st.path, strings.NewReader(st.body))
			if st.mode != "" {
				req.Header.Set(HeaderResponseMode, st.mode)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Header.Del("Date")
			var sb strings.Builder
			resp.Header.Write(&sb)
			out = append(out, resp.Status+"\n"+sb.String()+string(b))
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			want := run(t, h.s, h.ts.URL, tt.steps)
			s, addr := serveHarness(t)
			got := run(t, s, "http://"+addr, tt.steps)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("step %d:\n got %q\nwant %q", i, got[i], want[i])
				}
			}
		})
	}
}

func TestServeMalformed(t *testing.T) {
	tests := []struct {
		name string
		req  string
		want string // prefix of the server's answer; "" = closed without one
	}{
		{"bad request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"bad protocol", "GET /x HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"missing host", "GET " + base + "/invocation/next HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"bad header line", "GET /x HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"space before colon", "GET /x HTTP/1.1\r\nHost : a\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"oversized headers", "GET /x HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", maxHeaderBytes) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{"bad content length", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"two content lengths", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "HTTP/1.1 400 Bad Request\r\n"},
		{"chunked and length", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"unknown coding", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 Not Implemented\r\n"},
		{"bad chunked encoding", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"},
		{"bad trailer", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nnope\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"},
		{"unknown path", "GET /2018-06-01/ping HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 19\r\n"},
		{"empty id", "POST " + base + "/invocation//response HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
		{"wrong method", "PUT " + base + "/init/error HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST\r\n"},
		{"truncated headers", "GET /x HTTP/1.1\r\nHost: a\r\n", ""},
		{"bad expectation", "POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", "HTTP/1.1 417 Expectation Failed\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := serveHarness(t)
			got := raw(t, addr, tt.req)
			if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want prefix %q", got, tt.want)
			}
		})
	}
}

// TestServePipelined sends three requests at once on one connection: the
// answers come in order, the connection stays open.
func TestServePipelined(t *testing.T) {
	s, addr := serveHarness(t)
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Invoke(context.Background(), &Invocation{RequestID: "p", Payload: []byte("ev")}, nil)
		done <- outcome{res, err}
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET "+base+"/invocation/next HTTP/1.1\r\nHost: a\r\n\r\n"+
		"POST "+base+"/invocation/p/response HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"+
		"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []int{200, 202, 404} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != want || resp.Close {
			t.Errorf("response %d: %d close=%v, want %d keep-alive", i, resp.StatusCode, resp.Close, want)
		}
	}
	if o := <-done; o.err != nil || string(o.res.Payload) != "ok" {
		t.Errorf("result %+v %v", o.res, o.err)
	}
}

// TestServeChunkedTrailersAndContinue streams a response with error
// trailers after Expect: 100-continue, then closes with Connection: close.
func TestServeChunkedTrailersAndContinue(t *testing.T) {
	s, addr := serveHarness(t)
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Invoke(context.Background(), &Invocation{RequestID: "c", Payload: []byte("ev")}, nil)
		done <- outcome{res, err}
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	io.WriteString(c, "GET "+base+"/invocation/next HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.Header.Get(HeaderRequestID) != "c" {
		t.Fatalf("next: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	io.WriteString(c, "POST "+base+"/invocation/c/response HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nConnection: close\r\n"+
		HeaderResponseMode+": streaming\r\nTransfer-Encoding: chunked\r\nTrailer: "+HeaderErrorType+"\r\n\r\n")
	line, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, want 100 Continue", line)
	}
	br.ReadString('\n')
	io.WriteString(c, "3\r\nabc\r\n0\r\n"+HeaderErrorType+": Function.Broke\r\n"+HeaderErrorBody+": e30=\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 202 || !resp.Close {
		t.Fatalf("response: %v %v", resp, err)
	}
	o := <-done
	if o.err != nil || !o.res.Error || o.res.ErrorType != "Function.Broke" || string(o.res.Payload) != "{}" {
		t.Errorf("result %+v %v", o.res, o.err)
	}
}

// TestServeNextGone: a runtime that drops its waiting /next leaves the
// invocation for the /next of its new connection.
func TestServeNextGone(t *testing.T) {
	s, addr := serveHarness(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET "+base+"/invocation/next HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	c.Close()
	time.Sleep(20 * time.Millisecond)
	done := make(chan outcome, 1)
	go func() {
		res, err := s.Invoke(context.Background(), &Invocation{RequestID: "g", Payload: []byte("ev")}, nil)
		done <- outcome{res, err}
	}()
	cl := &http.Client{Transport: &http.Transport{}}
	defer cl.CloseIdleConnections()
	resp, err := cl.Get("http://" + addr + base + "/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get(HeaderRequestID); id != "g" {
		t.Fatalf("next gave %q", id)
	}
	resp, err = cl.Post("http://"+addr+base+"/invocation/g/response", "text/plain", strings.NewReader("r"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if o := <-done; o.err != nil || string(o.res.Payload) != "r" || o.res.ContentType != "text/plain" {
		t.Errorf("result %+v %v", o.res, o.err)
	}
}

// FuzzServeRequest feeds arbitrary bytes to Serve: it must answer or close,
// never hang or panic.
func FuzzServeRequest(f *testing.F) {
	f.Add("GET " + base + "/invocation/next HTTP/1.1\r\nHost: a\r\n\r\n")
	f.Add("POST " + base + "/init/error HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n")
	f.Fuzz(func(t *testing.T, req string) {
		_, addr := serveHarness(t)
		raw(t, addr, req)
	})
}
