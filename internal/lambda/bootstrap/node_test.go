package bootstrap_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
)

func nodeFn(t testing.TB, handler string) bootstrap.Function {
	return bootstrap.Function{Name: "hello", Runtime: "nodejs20.x", Handler: handler, CodeDir: testdata(t, "node"), MemoryMB: 256}
}

func TestNodeInvoke(t *testing.T) {
	need(t, "node")
	api := newFakeAPI(t)
	sb := startSandbox(t, api, nodeFn(t, "index.handler"))

	header := http.Header{}
	header.Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1")
	header.Set("Lambda-Runtime-Client-Context", `{"client":{"installation_id":"inst-1"},"custom":{"k":"v"},"env":{}}`)
	header.Set("Lambda-Runtime-Cognito-Identity", `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`)
	header.Set("Lambda-Runtime-Aws-Tenant-Id", "tenant-7")
	p := api.invoke(t, invocation{ID: "req-1", Body: []byte(`{"name":"world"}`), Header: header})
	if p.Kind != "response" || p.RequestID != "req-1" {
		t.Fatalf("posted %s for %q: %s", p.Kind, p.RequestID, p.Body)
	}
	if got := p.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	got := decodeJSON(t, p.Body)
	remaining, _ := got["remainingMs"].(float64)
	delete(got, "remainingMs")
	want := map[string]any{
		"event":              map[string]any{"name": "world"},
		"functionName":       "hello",
		"functionVersion":    "$LATEST",
		"invokedFunctionArn": testARN,
		"memoryLimitInMB":    "256",
		"awsRequestId":       "req-1",
		"logGroupName":       "/aws/lambda/hello",
		"logStreamName":      "2026/01/02/[$LATEST]0123456789abcdef0123456789abcdef",
		"identity":           map[string]any{"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
		"clientContext":      map[string]any{"client": map[string]any{"installation_id": "inst-1"}, "custom": map[string]any{"k": "v"}, "env": map[string]any{}},
		"tenantId":           "tenant-7",
		"traceId":            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
		"executionEnv":       "AWS_Lambda_nodejs20.x",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("context:\n got %v\nwant %v", got, want)
	}
	if remaining < 25000 || remaining > 30000 {
		t.Errorf("getRemainingTimeInMillis() = %v, want about 30000", remaining)
	}

	// Keep-alive: many invocations, one connection.
	for i := range 8 {
		if p := api.invoke(t, invocation{ID: fmt.Sprintf("k-%d", i), Body: []byte(`{}`)}); p.Kind != "response" {
			t.Fatalf("invocation %d: %s %s", i, p.Kind, p.Body)
		}
	}
	if n := api.conns.Load(); n != 1 {
		t.Errorf("%d TCP connections for 9 invocations, want 1", n)
	}

	for _, re := range []string{
		`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\tINFO\thello world$`,
		`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\tWARN\tcareful$`,
	} {
		if !matchesEventually(sb.stdout, re) {
			t.Errorf("stdout does not match %s:\n%s", re, sb.stdout)
		}
	}
}

func TestNodeHandlers(t *testing.T) {
	need(t, "node")
	tests := []struct {
		name    string
		handler string
		want    string
		// minDelay is how long the response must take: the callback
		// handler's timer runs first.
		minDelay time.Duration
	}{
		{name: "callback waits for the event loop", handler: "index.callback", want: `{"via":"callback"}`, minDelay: 140 * time.Millisecond},
		{name: "callback without waiting", handler: "index.nowait", want: `"no wait"`},
		{name: "context.succeed", handler: "index.succeed", want: `{"via":"succeed"}`},
		{name: "nested export", handler: "index.nested.deep.fn", want: `"nested"`},
		{name: "ES module .mjs", handler: "esm.handler", want: `{"esm":true,"event":{"n":1}}`},
		{name: "package.json type module", handler: "esmpkg/app.handler", want: `{"typeModule":true,"file":"app.js"}`},
		{name: "CommonJS .cjs", handler: "other.handler", want: `"cjs extension"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			startSandbox(t, api, nodeFn(t, tt.handler))
			for i := range 2 { // the second invocation checks the loop goes on
				start := time.Now()
				p := api.invoke(t, invocation{ID: fmt.Sprintf("r-%d", i), Body: []byte(`{"n":1}`)})
				if p.Kind != "response" || string(p.Body) != tt.want {
					t.Fatalf("posted %s %s, want response %s", p.Kind, p.Body, tt.want)
				}
				if d := time.Since(start); d < tt.minDelay {
					t.Errorf("response after %v, want it after the handler's timer (%v)", d, tt.minDelay)
				}
			}
		})
	}
}

func TestNodeErrors(t *testing.T) {
	need(t, "node")
	tests := []struct {
		name        string
		handler     string
		wantType    string
		wantMessage string
	}{
		{name: "async throw", handler: "index.fail", wantType: "TypeError", wantMessage: "boom"},
		{name: "callback error", handler: "index.cbfail", wantType: "Error", wantMessage: "callback boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			sb := startSandbox(t, api, nodeFn(t, tt.handler))
			p := api.invoke(t, invocation{ID: "e-1", Body: []byte(`{}`)})
			if p.Kind != "error" || p.RequestID != "e-1" {
				t.Fatalf("posted %s for %q: %s", p.Kind, p.RequestID, p.Body)
			}
			var e struct {
				ErrorType    string   `json:"errorType"`
				ErrorMessage string   `json:"errorMessage"`
				Trace        []string `json:"trace"`
			}
			if err := json.Unmarshal(p.Body, &e); err != nil {
				t.Fatal(err)
			}
			if e.ErrorType != tt.wantType || e.ErrorMessage != tt.wantMessage {
				t.Errorf("error = %+v, want %s %q", e, tt.wantType, tt.wantMessage)
			}
			if len(e.Trace) < 2 || e.Trace[0] != tt.wantType+": "+tt.wantMessage || !strings.Contains(e.Trace[1], "index.js") {
				t.Errorf("trace = %q", e.Trace)
			}
			if got := p.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tt.wantType {
				t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", got, tt.wantType)
			}
			if !matchesEventually(sb.stdout, `(?m)^\S+Z\te-1\tERROR\tInvoke Error \t\{"errorType":"`+tt.wantType) {
				t.Errorf("stdout lacks the Invoke Error record:\n%s", sb.stdout)
			}
			// The runtime survives a function error.
			if p := api.invoke(t, invocation{ID: "e-2", Body: []byte(`{}`)}); p.Kind != "error" {
				t.Errorf("second invocation posted %s", p.Kind)
			}
		})
	}
}

func TestNodeInitErrors(t *testing.T) {
	need(t, "node")
	tests := []struct {
		name        string
		handler     string
		wantType    string
		wantMessage string // prefix
	}{
		{name: "syntax error", handler: "bad.handler", wantType: "Runtime.UserCodeSyntaxError", wantMessage: "SyntaxError: "},
		{name: "module missing", handler: "nope.handler", wantType: "Runtime.ImportModuleError", wantMessage: "Error: Cannot find module 'nope'"},
		{name: "function missing", handler: "index.missing", wantType: "Runtime.HandlerNotFound", wantMessage: "index.missing is undefined or not exported"},
		{name: "not a function", handler: "index.nested", wantType: "Runtime.HandlerNotFound", wantMessage: "index.nested is not a function"},
		{name: "parent directory", handler: "../node/index.handler", wantType: "Runtime.MalformedHandlerName", wantMessage: "'../node/index.handler' is not a valid handler name."},
		{name: "no dot", handler: "index", wantType: "Runtime.MalformedHandlerName", wantMessage: "Bad handler"},
		{name: "module throws", handler: "throws.handler", wantType: "Error", wantMessage: "init failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t)
			sb := startSandbox(t, api, nodeFn(t, tt.handler))
			p := api.wait(t)
			if p.Kind != "init-error" {
				t.Fatalf("posted %s (%s), want init-error", p.Kind, p.Body)
			}
			e := decodeJSON(t, p.Body)
			msg, _ := e["errorMessage"].(string)
			if e["errorType"] != tt.wantType || !strings.HasPrefix(msg, tt.wantMessage) {
				t.Errorf("error = %v, want %s %q", e, tt.wantType, tt.wantMessage)
			}
			if _, ok := e["trace"].([]any); !ok {
				t.Errorf("error has no trace array: %v", e)
			}
			if got := p.Header.Get("Lambda-Runtime-Function-Error-Type"); got != tt.wantType {
				t.Errorf("Lambda-Runtime-Function-Error-Type = %q, want %q", got, tt.wantType)
			}
			if code := sb.exitCode(t); code == 0 {
				t.Errorf("exit code 0 after an init error")
			}
		})
	}
}

func TestNodeStreaming(t *testing.T) {
	need(t, "node")
	t.Run("streamifyResponse", func(t *testing.T) {
		api := newFakeAPI(t)
		startSandbox(t, api, nodeFn(t, "index.stream"))
		for i := range 3 {
			p := api.invoke(t, invocation{ID: fmt.Sprint("s-", i), Body: []byte(`{}`)})
			assertStreamHeaders(t, p, "text/plain")
			if got, want := readsAsStrings(p.Reads), []string{"hello ", "world"}; !reflect.DeepEqual(got, want) {
				t.Errorf("chunks = %q, want %q", got, want)
			}
			if got := p.Trailer.Get("Lambda-Runtime-Function-Error-Type"); got != "" {
				t.Errorf("error trailer %q on a good stream", got)
			}
		}
		if n := api.conns.Load(); n != 1 {
			t.Errorf("%d TCP connections for 3 streamed invocations, want 1", n)
		}
	})
	t.Run("HttpResponseStream.from", func(t *testing.T) {
		api := newFakeAPI(t)
		startSandbox(t, api, nodeFn(t, "index.http"))
		p := api.invoke(t, invocation{ID: "h-1", Body: []byte(`{}`)})
		assertStreamHeaders(t, p, "application/vnd.awslambda.http-integration-response")
		want := `{"statusCode":201,"headers":{"x-custom":"yes"},"cookies":["a=b"]}` + strings.Repeat("\x00", 8) + "body"
		if string(p.Body) != want {
			t.Errorf("body = %q, want %q", p.Body, want)
		}
	})
	t.Run("mid-stream error", func(t *testing.T) {
		api := newFakeAPI(t)
		startSandbox(t, api, nodeFn(t, "index.streamFail"))
		p := api.invoke(t, invocation{ID: "f-1", Body: []byte(`{}`)})
		assertStreamHeaders(t, p, "application/octet-stream")
		if string(p.Body) != "partial" {
			t.Errorf("body = %q, want partial", p.Body)
		}
		e := assertErrorTrailers(t, p, "RangeError")
		if e["errorMessage"] != "mid-stream" {
			t.Errorf("trailer error = %v", e)
		}
		if _, ok := e["trace"].([]any); !ok {
			t.Errorf("trailer error has no trace: %v", e)
		}
	})
}
