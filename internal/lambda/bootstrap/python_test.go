package bootstrap_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
)

func pythonFn(t testing.TB, handler string) bootstrap.Function {
	return bootstrap.Function{Name: "hello", Runtime: "python3.12", Handler: handler, CodeDir: testdata(t, "python"), MemoryMB: 256}
}

func TestPythonInvoke(t *testing.T) {
	need(t, "python3")
	api := newFakeAPI(t)
	sb := startSandbox(t, api, pythonFn(t, "handler.main"))

	header := http.Header{}
	header.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
	header.Set("Lambda-Runtime-Client-Context", `{"client":{"installation_id":"inst-1","app_title":"app"},"custom":{"k":"v"},"env":{"platform":"test"}}`)
	header.Set("Lambda-Runtime-Cognito-Identity", `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`)
	header.Set("Lambda-Runtime-Aws-Tenant-Id", "tenant-7")
	p := api.invoke(t, invocation{ID: "req-1", Body: []byte(`{"name":"world"}`), Header: header})

	if p.Kind != "response" || p.RequestID != "req-1" {
		t.Fatalf("posted %s for %q, want response for req-1: %s", p.Kind, p.RequestID, p.Body)
	}
	if got := p.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	got := decodeJSON(t, p.Body)
	want := map[string]any{
		"event":                    map[string]any{"name": "world"},
		"function_name":            "hello",
		"function_version":         "$LATEST",
		"invoked_function_arn":     testARN,
		"memory_limit_in_mb":       "256",
		"aws_request_id":           "req-1",
		"log_group_name":           "/aws/lambda/hello",
		"log_stream_name":          "2026/01/02/[$LATEST]0123456789abcdef0123456789abcdef",
		"cognito_identity_id":      "id-1",
		"cognito_identity_pool_id": "pool-1",
		"client_installation_id":   "inst-1",
		"client_custom":            map[string]any{"k": "v"},
		"client_env":               map[string]any{"platform": "test"},
		"tenant_id":                "tenant-7",
		"trace_id":                 "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
		"execution_env":            "AWS_Lambda_python3.12",
	}
	remaining, _ := got["remaining_ms"].(float64)
	delete(got, "remaining_ms")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("context:\n got %v\nwant %v", got, want)
	}
	if remaining < 25000 || remaining > 30000 {
		t.Errorf("get_remaining_time_in_millis() = %v, want about 30000", remaining)
	}

	// Without the optional headers the context has empty values and the
	// trace variable is removed.
	p = api.invoke(t, invocation{ID: "req-2", Body: []byte(`{"name":"again"}`)})
	got = decodeJSON(t, p.Body)
	for _, k := range []string{"trace_id", "tenant_id", "client_installation_id", "cognito_identity_id"} {
		if got[k] != nil {
			t.Errorf("%s = %v without its header, want null", k, got[k])
		}
	}

	if !matchesEventually(sb.stdout, `(?m)^\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\thello world$`) {
		t.Errorf("stdout has no Lambda-formatted log line for req-1:\n%s", sb.stdout)
	}
	if !eventually(func() bool { return strings.Contains(sb.stdout.String(), "plain print\n") }) {
		t.Errorf("stdout lacks the print output:\n%s", sb.stdout)
	}
}

func TestPythonKeepAlive(t *testing.T) {
	need(t, "python3")
	tests := []struct {
		name    string
		handler string
	}{
		{name: "buffered", handler: "handler.echo"},
		{name: "streaming", handler: "handler.stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			startSandbox(t, api, pythonFn(t, tt.handler))
			for i := range 8 {
				p := api.invoke(t, invocation{ID: fmt.Sprintf("req-%d", i), Body: []byte(fmt.Sprint(i))})
				if p.Kind != "response" {
					t.Fatalf("invocation %d: %s %s", i, p.Kind, p.Body)
				}
			}
			if n := api.conns.Load(); n != 1 {
				t.Errorf("%d TCP connections for 8 invocations, want 1", n)
			}
		})
	}
}

func TestPythonEvent(t *testing.T) {
	need(t, "python3")
	tests := []struct {
		name        string
		contentType string
		body        string
		wantKind    string
		want        string // response body, or errorType for errors
	}{
		{name: "json object", contentType: "application/json", body: `{"a":[1,2]}`, wantKind: "response", want: `{"type": "dict", "value": {"a": [1, 2]}}`},
		{name: "json string", contentType: "application/json", body: `"hi"`, wantKind: "response", want: `{"type": "str", "value": "hi"}`},
		{name: "other content type is bytes", contentType: "text/plain", body: `{"a":1}`, wantKind: "response", want: `{"type": "bytes", "value": "{\"a\":1}"}`},
		{name: "bad json", contentType: "application/json", body: `{nope`, wantKind: "error", want: "Runtime.UnmarshalError"},
	}
	api := newFakeAPI(t)
	startSandbox(t, api, pythonFn(t, "handler.echo"))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Content-Type", tt.contentType)
			p := api.invoke(t, invocation{ID: fmt.Sprintf("ev-%d", i), Body: []byte(tt.body), Header: h})
			if p.Kind != tt.wantKind {
				t.Fatalf("kind = %s (%s), want %s", p.Kind, p.Body, tt.wantKind)
			}
			if tt.wantKind == "response" {
				if string(p.Body) != tt.want {
					t.Errorf("body = %s, want %s", p.Body, tt.want)
				}
				return
			}
			if got := decodeJSON(t, p.Body)["errorType"]; got != tt.want {
				t.Errorf("errorType = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestPythonResults(t *testing.T) {
	need(t, "python3")
	tests := []struct {
		name            string
		handler         string
		wantKind        string
		wantContentType string
		wantBody        string
		wantErrorType   string
		wantMessage     string
	}{
		{name: "bytes as-is", handler: "handler.raw", wantKind: "response", wantContentType: "application/unknown", wantBody: "\x00raw bytes"},
		{name: "not serializable", handler: "handler.unserializable", wantKind: "error", wantErrorType: "Runtime.MarshalError",
			wantMessage: "Unable to marshal response: Object of type object is not JSON serializable"},
		{name: "exception", handler: "handler.fail", wantKind: "error", wantErrorType: "ValueError", wantMessage: "boom"},
		{name: "nested module path", handler: "pkg/mod.fn", wantKind: "response", wantContentType: "application/json", wantBody: `"nested"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			sb := startSandbox(t, api, pythonFn(t, tt.handler))
			p := api.invoke(t, invocation{ID: "r-1", Body: []byte(`{}`)})
			if p.Kind != tt.wantKind || p.RequestID != "r-1" {
				t.Fatalf("posted %s for %q (%s), want %s for r-1", p.Kind, p.RequestID, p.Body, tt.wantKind)
			}
			if tt.wantKind == "response" {
				if got := p.Header.Get("Content-Type"); got != tt.wantContentType {
					t.Errorf("Content-Type = %q, want %q", got, tt.wantContentType)
				}
				if string(p.Body) != tt.wantBody {
					t.Errorf("body = %q, want %q", p.Body, tt.wantBody)
				}
				return
			}
			var e struct {
				ErrorMessage string   `json:"errorMessage"`
				ErrorType    string   `json:"errorType"`
				RequestID    string   `json:"requestId"`
				StackTrace   []string `json:"stackTrace"`
			}
			if err := json.Unmarshal(p.Body, &e); err != nil {
				t.Fatalf("error body %s: %v", p.Body, err)
			}
			if e.ErrorType != tt.wantErrorType || e.ErrorMessage != tt.wantMessage || e.RequestID != "r-1" {
				t.Errorf("error = %+v, want type %s message %q requestId r-1", e, tt.wantErrorType, tt.wantMessage)
			}
			if got := p.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tt.wantErrorType {
				t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", got, tt.wantErrorType)
			}
			if tt.wantErrorType == "ValueError" {
				if len(e.StackTrace) == 0 || !strings.Contains(e.StackTrace[0], "handler.py") || strings.Contains(strings.Join(e.StackTrace, ""), "bootstrap.py") {
					t.Errorf("stackTrace = %q, want the handler's frames only", e.StackTrace)
				}
				if !eventually(func() bool {
					return strings.Contains(sb.stdout.String(), "[ERROR] ValueError: boom\rTraceback (most recent call last):\r")
				}) {
					t.Errorf("stdout lacks the error record:\n%q", sb.stdout)
				}
			}
		})
	}
}

func TestPythonInitErrors(t *testing.T) {
	need(t, "python3")
	tests := []struct {
		name        string
		handler     string
		wantType    string
		wantMessage string
	}{
		{name: "no dot", handler: "handler", wantType: "Runtime.MalformedHandlerName",
			wantMessage: "Bad handler 'handler': not enough values to unpack (expected 2, got 1)"},
		{name: "module missing", handler: "nosuchmodule.main", wantType: "Runtime.ImportModuleError",
			wantMessage: "Unable to import module 'nosuchmodule': No module named 'nosuchmodule'"},
		{name: "import fails", handler: "importerror.main", wantType: "Runtime.ImportModuleError",
			wantMessage: "Unable to import module 'importerror': No module named 'portico_module_that_does_not_exist'"},
		{name: "syntax error", handler: "syntaxerror.main", wantType: "Runtime.UserCodeSyntaxError",
			wantMessage: "Syntax error in module 'syntaxerror': "},
		{name: "function missing", handler: "handler.missing", wantType: "Runtime.HandlerNotFound",
			wantMessage: "Handler 'missing' missing on module 'handler'"},
		{name: "built-in module", handler: "sys.main", wantType: "Runtime.BuiltInModuleConflict",
			wantMessage: "Cannot use built-in module sys as a handler module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			sb := startSandbox(t, api, pythonFn(t, tt.handler))
			p := api.wait(t)
			if p.Kind != "init-error" {
				t.Fatalf("posted %s (%s), want init-error", p.Kind, p.Body)
			}
			if got := p.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tt.wantType {
				t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", got, tt.wantType)
			}
			e := decodeJSON(t, p.Body)
			msg, _ := e["errorMessage"].(string)
			if e["errorType"] != tt.wantType || !strings.HasPrefix(msg, tt.wantMessage) {
				t.Errorf("error = %v, want type %s message %q", e, tt.wantType, tt.wantMessage)
			}
			if e["requestId"] != "" {
				t.Errorf("requestId = %v, want empty for an init error", e["requestId"])
			}
			if code := sb.exitCode(t); code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
		})
	}
}

func TestPythonStreaming(t *testing.T) {
	need(t, "python3")
	api := newFakeAPI(t)

	startSandbox(t, api, pythonFn(t, "handler.stream"))
	p := api.invoke(t, invocation{ID: "s-1", Body: []byte(`{}`)})
	assertStreamHeaders(t, p, "application/octet-stream")
	if got, want := readsAsStrings(p.Reads), []string{"hello ", "world"}; !reflect.DeepEqual(got, want) {
		t.Errorf("chunks = %q, want %q", got, want)
	}
	if got := p.Trailer.Get("Lambda-Runtime-Function-Error-Type"); got != "" {
		t.Errorf("error trailer %q on a good stream", got)
	}

	t.Run("mid-stream error", func(t *testing.T) {
		api := newFakeAPI(t)
		startSandbox(t, api, pythonFn(t, "handler.stream_fail"))
		p := api.invoke(t, invocation{ID: "s-2", Body: []byte(`{}`)})
		assertStreamHeaders(t, p, "application/octet-stream")
		if string(p.Body) != "partial" {
			t.Errorf("body = %q, want partial", p.Body)
		}
		e := assertErrorTrailers(t, p, "RuntimeError")
		if e["errorMessage"] != "mid-stream" || e["requestId"] != "s-2" {
			t.Errorf("trailer error = %v", e)
		}
	})

	t.Run("error before the first chunk", func(t *testing.T) {
		api := newFakeAPI(t)
		startSandbox(t, api, pythonFn(t, "handler.stream_fail_early"))
		p := api.invoke(t, invocation{ID: "s-3", Body: []byte(`{}`)})
		if p.Kind != "error" || p.Header.Get("Lambda-Runtime-Function-Error-Type") != "KeyError" {
			t.Fatalf("posted %s %v %s, want a KeyError /error", p.Kind, p.Header, p.Body)
		}
	})
}

func assertStreamHeaders(t *testing.T, p posted, contentType string) {
	t.Helper()
	if p.Kind != "response" {
		t.Fatalf("posted %s (%s), want response", p.Kind, p.Body)
	}
	if got := p.Header.Get("Lambda-Runtime-Function-Response-Mode"); got != "streaming" {
		t.Errorf("Lambda-Runtime-Function-Response-Mode = %q, want streaming", got)
	}
	if !reflect.DeepEqual(p.TransferEncoding, []string{"chunked"}) {
		t.Errorf("Transfer-Encoding = %v, want chunked", p.TransferEncoding)
	}
	if got := p.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type = %q, want %q", got, contentType)
	}
	for _, k := range []string{"Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"} {
		if _, ok := p.Trailer[k]; !ok {
			t.Errorf("trailer %s not declared (trailers %v)", k, p.Trailer)
		}
	}
}

func assertErrorTrailers(t *testing.T, p posted, wantType string) map[string]any {
	t.Helper()
	if got := p.Trailer.Get("Lambda-Runtime-Function-Error-Type"); got != wantType {
		t.Errorf("error type trailer = %q, want %q", got, wantType)
	}
	raw, err := base64.StdEncoding.DecodeString(p.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
	if err != nil {
		t.Fatalf("error body trailer is not base64: %v", err)
	}
	e := decodeJSON(t, raw)
	if e["errorType"] != wantType {
		t.Errorf("trailer errorType = %v, want %s", e["errorType"], wantType)
	}
	return e
}

// BenchmarkPythonRoundTrip measures a warm invocation: /next, the handler,
// /response, as the Python bootstrap does it against our server.
func BenchmarkPythonRoundTrip(b *testing.B) {
	need(b, "python3")
	api := newFakeAPI(b)
	startSandbox(b, api, pythonFn(b, "handler.echo"))
	body := []byte(`{"ping":1}`)
	api.invoke(b, invocation{ID: "warm", Body: body})
	for i := 0; b.Loop(); i++ {
		p := api.invoke(b, invocation{ID: "b-" + fmt.Sprint(i), Body: body})
		if p.Kind != "response" {
			b.Fatalf("posted %s", p.Kind)
		}
	}
}
