package runtimeapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const base = "/2018-06-01/runtime"

// harness serves a Server on a loopback httptest server.
type harness struct {
	s  *Server
	ts *httptest.Server
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	s := New(nil)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); ts.Close() })
	return &harness{s: s, ts: ts}
}

func (h *harness) do(t *testing.T, method, path, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, h.ts.URL+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

type outcome struct {
	res Result
	err error
}

// start begins Invoke of inv in the background.
func (h *harness) start(inv *Invocation, expired <-chan time.Time) chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := h.s.Invoke(context.Background(), inv, expired)
		ch <- outcome{res, err}
	}()
	return ch
}

func TestNextHeaders(t *testing.T) {
	tests := []struct {
		name string
		inv  Invocation
		want map[string]string // "" = absent
	}{
		{
			name: "all set",
			inv: Invocation{RequestID: "id-1", Deadline: time.UnixMilli(1700000000123), FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:f",
				TraceID: "Root=1-abc", ClientContext: `{"custom":{}}`, CognitoIdentity: `{"cognitoIdentityId":"x"}`, ContentType: "text/plain", Payload: []byte("hi")},
			want: map[string]string{HeaderRequestID: "id-1", HeaderDeadline: "1700000000123", HeaderFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:f",
				HeaderTraceID: "Root=1-abc", HeaderClientContext: `{"custom":{}}`, HeaderCognitoIdentity: `{"cognitoIdentityId":"x"}`, "Content-Type": "text/plain"},
		},
		{
			name: "empty ones absent",
			inv:  Invocation{RequestID: "id-2", Deadline: time.UnixMilli(5), Payload: []byte("{}")},
			want: map[string]string{HeaderRequestID: "id-2", HeaderDeadline: "5", HeaderTraceID: "", HeaderClientContext: "", HeaderCognitoIdentity: "",
				HeaderFunctionARN: "", "Content-Type": "application/json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.start(&tt.inv, nil)
			st, hdr, body := h.do(t, "GET", base+"/invocation/next", "", nil)
			if st != 200 || body != string(tt.inv.Payload) {
				t.Fatalf("next = %d %q", st, body)
			}
			for k, v := range tt.want {
				if _, present := hdr[http.CanonicalHeaderKey(k)]; hdr.Get(k) != v || (v == "" && present) {
					t.Errorf("%s = %q, want %q", k, hdr.Get(k), v)
				}
			}
			select {
			case <-h.s.Ready():
			default:
				t.Error("Ready not closed after /next")
			}
		})
	}
}

func TestResponseAndErrorStatuses(t *testing.T) {
	tests := []struct {
		name       string
		path       string // after /invocation/<id>
		id         string // "" = the current id
		hdr        map[string]string
		body       string
		wantStatus int
		wantBody   string
		wantResult Result
	}{
		{"response", "/response", "", map[string]string{"Content-Type": "text/plain"}, "hello", 202, `{"status":"OK"}`,
			Result{Payload: []byte("hello"), ContentType: "text/plain"}},
		{"unknown id", "/response", "nope", nil, "x", 400, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`, Result{}},
		{"bad mode", "/response", "", map[string]string{HeaderResponseMode: "chunky"}, "x", 400,
			`{"errorMessage":"Invalid function response mode","errorType":"InvalidFunctionResponseMode"}`, Result{}},
		{"too large", "/response", "", nil, strings.Repeat("x", MaxPayloadBytes+1), 413,
			`{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`,
			Result{Error: true, ErrorType: "Function.ResponseSizeTooLarge", ContentType: "application/json", Discard: true,
				Payload: []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`)}},
		{"exactly the limit", "/response", "", nil, strings.Repeat("x", MaxPayloadBytes), 202, `{"status":"OK"}`,
			Result{Payload: []byte(strings.Repeat("x", MaxPayloadBytes))}},
		{"error with type", "/error", "", map[string]string{HeaderErrorType: "Function.MyError"}, `{"errorMessage":"m","errorType":"MyError"}`, 202, `{"status":"OK"}`,
			Result{Error: true, ErrorType: "Function.MyError", ContentType: "application/json", Payload: []byte(`{"errorMessage":"m","errorType":"MyError"}`)}},
		{"error type sanitised", "/error", "", map[string]string{HeaderErrorType: "Oops"}, `{"errorMessage":"m"}`, 202, `{"status":"OK"}`,
			Result{Error: true, ErrorType: "Runtime.Unknown", ContentType: "application/json", Payload: []byte(`{"errorMessage":"m"}`)}},
		{"error unknown id", "/error", "nope", nil, `{}`, 400, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`, Result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			done := h.start(&Invocation{RequestID: "req-1", Payload: []byte("{}")}, nil)
			h.do(t, "GET", base+"/invocation/next", "", nil)
			id := tt.id
			if id == "" {
				id = "req-1"
			}
			st, _, body := h.do(t, "POST", base+"/invocation/"+id+tt.path, tt.body, tt.hdr)
			if st != tt.wantStatus || strings.TrimSpace(body) != tt.wantBody {
				t.Errorf("status %d body %s, want %d %s", st, body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantResult.Payload == nil {
				select {
				case o := <-done:
					t.Errorf("invocation ended: %+v", o)
				case <-time.After(20 * time.Millisecond):
				}
				return
			}
			o := <-done
			if o.err != nil || string(o.res.Payload) != string(tt.wantResult.Payload) || o.res.ContentType != tt.wantResult.ContentType ||
				o.res.Error != tt.wantResult.Error || o.res.ErrorType != tt.wantResult.ErrorType || o.res.Discard != tt.wantResult.Discard {
				t.Errorf("result %+v %v, want %+v", trimResult(o.res), o.err, trimResult(tt.wantResult))
			}
		})
	}
}

func trimResult(r Result) Result {
	if len(r.Payload) > 200 {
		r.Payload = r.Payload[:200]
	}
	return r
}

func TestSecondResponseForbidden(t *testing.T) {
	h := newHarness(t)
	done := h.start(&Invocation{RequestID: "r", Payload: []byte("{}")}, nil)
	h.do(t, "GET", base+"/invocation/next", "", nil)
	if st, _, _ := h.do(t, "POST", base+"/invocation/r/response", "1", nil); st != 202 {
		t.Fatalf("first response %d", st)
	}
	st, _, body := h.do(t, "POST", base+"/invocation/r/response", "2", nil)
	want := `{"errorMessage":"State transition from RuntimeResponseSentState to InvocationResponse failed for runtime. Error: State transition is not allowed","errorType":"InvalidStateTransition"}`
	if st != 403 || body != want {
		t.Errorf("second response: %d %s", st, body)
	}
	if st, _, _ := h.do(t, "POST", base+"/invocation/r/error", "{}", nil); st != 403 {
		t.Errorf("error after response: %d", st)
	}
	if o := <-done; string(o.res.Payload) != "1" {
		t.Errorf("result %s", o.res.Payload)
	}
}

func TestResponseAfterTimeout(t *testing.T) {
	h := newHarness(t)
	expired := make(chan time.Time)
	done := h.start(&Invocation{RequestID: "r", Payload: []byte("{}")}, expired)
	h.do(t, "GET", base+"/invocation/next", "", nil)
	expired <- time.Now()
	if o := <-done; !errors.Is(o.err, ErrTimeout) {
		t.Fatalf("err = %v", o.err)
	}
	st, _, body := h.do(t, "POST", base+"/invocation/r/response", "late", nil)
	if st != 400 || !strings.Contains(body, "InvalidRequestID") {
		t.Errorf("late response: %d %s", st, body)
	}
}

func TestNextWhileBusy(t *testing.T) {
	h := newHarness(t)
	h.start(&Invocation{RequestID: "r", Payload: []byte("{}")}, nil)
	h.do(t, "GET", base+"/invocation/next", "", nil)
	if st, _, body := h.do(t, "GET", base+"/invocation/next", "", nil); st != 403 || !strings.Contains(body, "InvalidStateTransition") {
		t.Errorf("second next: %d %s", st, body)
	}
}

func TestStreamingResponse(t *testing.T) {
	tests := []struct {
		name        string
		trailerType string
		trailerBody string
		want        Result
	}{
		{"ok", "", "", Result{Payload: []byte("chunk1chunk2"), ContentType: "text/plain"}},
		{"error trailer", "Function.Broke", base64.StdEncoding.EncodeToString([]byte(`{"errorType":"Broke","errorMessage":"m"}`)),
			Result{Payload: []byte(`{"errorType":"Broke","errorMessage":"m"}`), ContentType: "application/json", Error: true, ErrorType: "Function.Broke"}},
		{"error trailer, bad type", "nonsense", "!!notbase64",
			Result{Payload: []byte(`{"errorMessage":"","errorType":"nonsense"}`), ContentType: "application/json", Error: true, ErrorType: "Runtime.Unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			done := h.start(&Invocation{RequestID: "s", Payload: []byte("{}")}, nil)
			h.do(t, "GET", base+"/invocation/next", "", nil)
			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", h.ts.URL+base+"/invocation/s/response", pr)
			req.ContentLength = -1 // chunked
			req.Header.Set(HeaderResponseMode, "streaming")
			req.Header.Set("Content-Type", "text/plain")
			req.Trailer = http.Header{HeaderErrorType: nil, HeaderErrorBody: nil}
			go func() {
				pw.Write([]byte("chunk1"))
				pw.Write([]byte("chunk2"))
				if tt.trailerType != "" {
					req.Trailer.Set(HeaderErrorType, tt.trailerType)
					req.Trailer.Set(HeaderErrorBody, tt.trailerBody)
				}
				pw.Close()
			}()
			resp, err := h.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 202 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			o := <-done
			if string(o.res.Payload) != string(tt.want.Payload) || o.res.Error != tt.want.Error || o.res.ErrorType != tt.want.ErrorType || o.res.ContentType != tt.want.ContentType {
				t.Errorf("result %+v (%s), want %+v", o.res, o.res.Payload, tt.want)
			}
		})
	}
}

func TestInitError(t *testing.T) {
	h := newHarness(t)
	done := h.start(&Invocation{RequestID: "i", Payload: []byte("{}")}, nil)
	st, _, _ := h.do(t, "POST", base+"/init/error", `{"errorMessage":"bad import","errorType":"Runtime.ImportModuleError"}`,
		map[string]string{HeaderErrorType: "Runtime.ImportModuleError"})
	if st != 202 {
		t.Fatalf("init error: %d", st)
	}
	o := <-done
	if !errors.Is(o.err, ErrInit) || o.res.ErrorType != "Runtime.ImportModuleError" || !strings.Contains(string(o.res.Payload), "bad import") {
		t.Errorf("got %+v %v", o.res, o.err)
	}
	if st, _, _ := h.do(t, "POST", base+"/init/error", `{}`, nil); st != 403 {
		t.Errorf("second init error: %d", st)
	}
	// After the first /next, init errors are refused.
	h2 := newHarness(t)
	h2.start(&Invocation{RequestID: "j"}, nil)
	h2.do(t, "GET", base+"/invocation/next", "", nil)
	if st, _, _ := h2.do(t, "POST", base+"/init/error", `{}`, nil); st != 403 {
		t.Errorf("init error after next: %d", st)
	}
}

func TestClose(t *testing.T) {
	h := newHarness(t)
	// Not delivered: the runtime never asked.
	done := h.start(&Invocation{RequestID: "a"}, nil)
	h.s.Close()
	if o := <-done; !errors.Is(o.err, ErrNotDelivered) {
		t.Errorf("err = %v, want ErrNotDelivered", o.err)
	}
	if st, _, _ := h.do(t, "GET", base+"/invocation/next", "", nil); st != 500 {
		t.Errorf("next after close: %d", st)
	}
	// Delivered, then gone.
	h2 := newHarness(t)
	done = h2.start(&Invocation{RequestID: "b"}, nil)
	h2.do(t, "GET", base+"/invocation/next", "", nil)
	h2.s.Close()
	if o := <-done; !errors.Is(o.err, ErrExited) {
		t.Errorf("err = %v, want ErrExited", o.err)
	}
}

func TestKeepAlive(t *testing.T) {
	s := New(nil)
	ts := httptest.NewUnstartedServer(s)
	var newConns atomic.Int32
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			newConns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	defer s.Close()
	h := &harness{s: s, ts: ts}
	c := ts.Client()
	for i := 0; i < 5; i++ {
		id := "k" + strconv.Itoa(i)
		done := h.start(&Invocation{RequestID: id, Payload: []byte("{}")}, nil)
		resp, err := c.Get(ts.URL + base + "/invocation/next")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resp, err = c.Post(ts.URL+base+"/invocation/"+id+"/response", "application/json", strings.NewReader(`1`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		<-done
	}
	if n := newConns.Load(); n != 1 {
		t.Errorf("%d connections for 10 sequential requests, want 1 (keep-alive)", n)
	}
}

func TestSanitizeErrorType(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"runtime", "Runtime.ImportModuleError", "Runtime.ImportModuleError"},
		{"function", "Function.Foo", "Function.Foo"},
		{"function junk", "Function.foo-bar", "Function.Unknown"},
		{"plain", "ValueError", "Runtime.Unknown"},
		{"empty", "", "Runtime.Unknown"},
		{"lower case", "Runtime.bad", "Runtime.Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SanitizeErrorType(tt.in); got != tt.want {
				t.Errorf("SanitizeErrorType(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzSanitizeErrorType(f *testing.F) {
	f.Add("Runtime.X")
	f.Add("Function.")
	f.Fuzz(func(t *testing.T, s string) {
		got := SanitizeErrorType(s)
		if got != s && got != "Runtime.Unknown" && got != "Function.Unknown" {
			t.Fatalf("SanitizeErrorType(%q) = %q", s, got)
		}
	})
}
