package lambdaproxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/invocation"
)

// invokerFunc adapts a function to Invoker.
type invokerFunc func(ctx context.Context, req *invocation.Request) (*invocation.Result, error)

func (f invokerFunc) Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error) {
	return f(ctx, req)
}

func returning(payload string) invokerFunc {
	return func(context.Context, *invocation.Request) (*invocation.Result, error) {
		return &invocation.Result{RequestID: "r1", Payload: []byte(payload)}, nil
	}
}

// serve runs one request through a Proxy and renders any error as the
// gateway would.
func serve(t *testing.T, ctx context.Context, cfg Config, inv Invoker) (*httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	r := newRequest("POST", "/v1/orders?x=1", "v1", "POST /orders", []byte(`{"a":1}`), "Content-Type", "application/json")
	err := New(cfg, inv).Serve(ctx, rec, r)
	if err != nil {
		var e *edge.Error
		if errors.As(err, &e) {
			edge.Render(rec, err)
		}
	}
	return rec, err
}

func TestServe(t *testing.T) {
	v2 := Config{Function: "orders", PayloadFormatVersion: "2.0"}
	v1 := Config{Function: "orders", PayloadFormatVersion: "1.0"}
	tests := []struct {
		name       string
		cfg        Config
		inv        invokerFunc
		ctx        func() (context.Context, context.CancelFunc)
		wantStatus int
		wantBody   string
		wantHeader http.Header
		wantKind   *edge.Kind // nil: success, or a non-edge error when wantErr
		wantErr    bool
	}{
		{name: "structured success", cfg: v2, inv: returning(`{"statusCode":201,"headers":{"x-a":"1","content-length":"999"},"cookies":["a=1","b=2"],"body":"created"}`),
			wantStatus: 201, wantBody: "created",
			wantHeader: http.Header{"X-A": {"1"}, "Set-Cookie": {"a=1", "b=2"}, "Content-Length": {"7"}, "Content-Type": {DefaultContentType}}},
		{name: "inferred success", cfg: v2, inv: returning(`{"ok":true}`),
			wantStatus: 200, wantBody: `{"ok":true}`, wantHeader: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"11"}}},
		{name: "1.0 success", cfg: v1, inv: returning(`{"statusCode":200,"multiValueHeaders":{"X-B":["1","2"]},"body":"aGk=","isBase64Encoded":true}`),
			wantStatus: 200, wantBody: "hi", wantHeader: http.Header{"X-B": {"1", "2"}, "Content-Length": {"2"}, "Content-Type": {DefaultContentType}}},
		{name: "204 without body framing", cfg: v2, inv: returning(`{"statusCode":204,"body":"ignored"}`),
			wantStatus: 204, wantBody: "", wantHeader: http.Header{"Content-Type": nil, "Content-Length": nil}},
		{name: "numeric content-length is replaced by the real one", cfg: v2, inv: returning(`{"statusCode":404,"headers":{"content-length":146,"x-powered-by":"Express"},"body":"not found"}`),
			wantStatus: 404, wantBody: "not found", wantHeader: http.Header{"Content-Length": {"9"}, "X-Powered-By": {"Express"}}},
		{name: "function error", cfg: v2, inv: func(context.Context, *invocation.Request) (*invocation.Result, error) {
			return &invocation.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`)}, nil
		}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
		{name: "invalid response", cfg: v2, inv: returning(`{"statusCode":"abc"}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
		{name: "1.0 inference not allowed", cfg: v1, inv: returning(`{"ok":true}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
		{name: "informational status", cfg: v2, inv: returning(`{"statusCode":101}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
		{name: "throttled", cfg: v2, inv: func(context.Context, *invocation.Request) (*invocation.Result, error) {
			return nil, &invocation.ServiceError{Status: 429, Type: "TooManyRequestsException", Message: "Rate Exceeded.", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
		}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
		{name: "function not found", cfg: v2, inv: func(context.Context, *invocation.Request) (*invocation.Result, error) {
			return nil, &invocation.ServiceError{Status: 404, Type: "ResourceNotFoundException", Message: "Function not found"}
		}, wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
		{name: "integration timeout", cfg: v2,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Millisecond)
			},
			inv: func(ctx context.Context, _ *invocation.Request) (*invocation.Result, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}, wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`, wantKind: kind(edge.ServiceUnavailable)},
		{name: "client gone", cfg: v2,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, func() {}
			},
			inv: func(ctx context.Context, _ *invocation.Request) (*invocation.Result, error) {
				return nil, ctx.Err()
			}, wantErr: true},
		{name: "bad payload format version", cfg: Config{Function: "f", PayloadFormatVersion: "3.0"}, inv: returning(`{}`),
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`, wantKind: kind(edge.InternalError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			rec, err := serve(t, ctx, tt.cfg, tt.inv)
			if tt.wantErr {
				var e *edge.Error
				if err == nil || errors.As(err, &e) || !errors.Is(err, context.Canceled) {
					t.Fatalf("error = %v, want a plain context.Canceled error", err)
				}
				return
			}
			if tt.wantKind == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantKind != nil {
				var e *edge.Error
				if !errors.As(err, &e) || e.Kind != *tt.wantKind {
					t.Fatalf("error = %v, want edge kind %d", err, *tt.wantKind)
				}
			}
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := rec.Header()[k]; strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func kind(k edge.Kind) *edge.Kind { return &k }

func TestServeInvokeRequest(t *testing.T) {
	var got *invocation.Request
	var payload []byte
	inv := invokerFunc(func(_ context.Context, req *invocation.Request) (*invocation.Result, error) {
		got = req
		payload = append([]byte(nil), req.Payload...)
		return &invocation.Result{Payload: []byte(`"ok"`)}, nil
	})
	rec := httptest.NewRecorder()
	r := newRequest("GET", "/v1/x", "v1", "GET /x", nil)
	r.AccountID = ""
	r.DomainName = ""
	p := New(Config{Function: "arn:aws:lambda:eu-west-1:111122223333:function:f:live", PayloadFormatVersion: "2.0", Region: "eu-west-1", AccountID: "999988887777"}, inv)
	if err := p.Serve(context.Background(), rec, r); err != nil {
		t.Fatal(err)
	}
	if got.FunctionName != "arn:aws:lambda:eu-west-1:111122223333:function:f:live" {
		t.Errorf("FunctionName = %q", got.FunctionName)
	}
	if got.TraceID != TraceID(r) || !strings.HasPrefix(got.TraceID, "Root=1-") {
		t.Errorf("TraceID = %q, want %q", got.TraceID, TraceID(r))
	}
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	rc := ev["requestContext"].(map[string]any)
	if rc["accountId"] != "999988887777" || rc["domainName"] != "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com" {
		t.Errorf("accountId %v domainName %v: config fallbacks not applied", rc["accountId"], rc["domainName"])
	}
	if ev["headers"].(map[string]any)["x-amzn-trace-id"] != got.TraceID {
		t.Error("event trace id differs from the invocation's")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"v2", Config{Function: "f", PayloadFormatVersion: "2.0"}, ""},
		{"v1", Config{Function: "f", PayloadFormatVersion: "1.0"}, ""},
		{"no function", Config{PayloadFormatVersion: "2.0"}, "function is required"},
		{"no version", Config{Function: "f"}, "payloadFormatVersion \"\""},
		{"bad version", Config{Function: "f", PayloadFormatVersion: "2"}, "payloadFormatVersion \"2\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestServeHead checks that the answer to HEAD keeps the length the
// function declared (the GET's) and sends no body.
func TestServeHead(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    string
	}{
		{name: "declared number", payload: `{"statusCode":200,"headers":{"content-type":"text/html","content-length":146}}`, want: "146"},
		{name: "declared string", payload: `{"statusCode":200,"headers":{"Content-Length":"12"},"body":""}`, want: "12"},
		{name: "not declared: the body's length", payload: `{"statusCode":200,"body":"abc"}`, want: "3"},
		{name: "invalid declaration ignored", payload: `{"statusCode":200,"headers":{"content-length":"-4"},"body":"abc"}`, want: "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := newRequest("HEAD", "/v1/page", "v1", "HEAD /page", nil)
			if err := New(Config{Function: "f", PayloadFormatVersion: "2.0"}, returning(tt.payload)).Serve(context.Background(), rec, r); err != nil {
				t.Fatal(err)
			}
			if got := rec.Header().Get("Content-Length"); got != tt.want {
				t.Errorf("Content-Length = %q, want %q", got, tt.want)
			}
			if rec.Body.Len() != 0 {
				t.Errorf("body = %q, want none", rec.Body.String())
			}
		})
	}
}

// TestEventPath checks the decoding of paths against the live HTTP API
// captures listed in docs/lambda-proxy.md, and the event members it fills.
func TestEventPath(t *testing.T) {
	tests := []struct {
		raw, want string
		wantErr   bool
	}{
		{raw: "/capture/plain", want: "/capture/plain"},
		{raw: "/capture/space%20value", want: "/capture/space value"},
		{raw: "/capture/question%3Fvalue", want: "/capture/question"},
		{raw: "/capture/percent%25done", wantErr: true},
		{raw: "/capture/hash%23value", want: "/capture/hash#value"},
		{raw: "/capture/slash%2Fvalue", want: "/capture/slash/value"},
		{raw: "/capture/unicode-%CE%BB-%E4%B8%96%E7%95%8C", want: "/capture/unicode-λ-世界"},
		{raw: "/capture/literal%252Fvalue", want: "/capture/literal/value"},
		{raw: "/capture/literal%253Fvalue", want: "/capture/literal?value"},
		{raw: "/capture/literal%2525value", want: "/capture/literal%value"},
		{raw: "/a+b", want: "/a+b"},
		{raw: "/a%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := EventPath(tt.raw)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("EventPath(%q) = %q, %v; want %q (error %v)", tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}

	for _, v := range []string{"1.0", "2.0"} {
		t.Run("event "+v, func(t *testing.T) {
			var payload []byte
			inv := invokerFunc(func(_ context.Context, req *invocation.Request) (*invocation.Result, error) {
				payload = append([]byte(nil), req.Payload...)
				return &invocation.Result{Payload: []byte(`{"statusCode":200}`)}, nil
			})
			r := newRequest("GET", "/v1/files/a%20b", "v1", "GET /files/{name}", nil)
			if err := New(Config{Function: "f", PayloadFormatVersion: v}, inv).Serve(context.Background(), httptest.NewRecorder(), r); err != nil {
				t.Fatal(err)
			}
			var ev struct {
				RawPath        string `json:"rawPath"`
				Path           string `json:"path"`
				RequestContext struct {
					Path string `json:"path"`
					HTTP struct {
						Path string `json:"path"`
					} `json:"http"`
				} `json:"requestContext"`
			}
			if err := json.Unmarshal(payload, &ev); err != nil {
				t.Fatal(err)
			}
			got := []string{ev.RawPath, ev.RequestContext.HTTP.Path}
			if v == "1.0" {
				got = []string{ev.Path, ev.RequestContext.Path}
			}
			for _, p := range got {
				if p != "/v1/files/a b" {
					t.Errorf("path member = %q, want %q", p, "/v1/files/a b")
				}
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		r := newRequest("GET", "/v1/files/a%25zz", "v1", "GET /files/{name}", nil)
		err := New(Config{Function: "f", PayloadFormatVersion: "2.0"}, returning(`{"statusCode":200}`)).Serve(context.Background(), httptest.NewRecorder(), r)
		var e *edge.Error
		if !errors.As(err, &e) || e.Kind != edge.BadRequest {
			t.Fatalf("error = %v, want a 400", err)
		}
	})
}
