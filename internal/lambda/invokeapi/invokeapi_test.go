package invokeapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// fakeRunner knows one function, "echo", which answers its payload (or a
// function error for the payload "fail"); "busy" is throttled.
type fakeRunner struct {
	cfg *invocation.EventInvokeConfig
}

var _ Runner = (*fakeRunner)(nil)

func (f *fakeRunner) Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error) {
	if _, _, err := f.Resolve(req.FunctionName, req.Qualifier); err != nil {
		return nil, err
	}
	res := &invocation.Result{RequestID: "req-1", Payload: req.Payload, ExecutedVersion: invocation.LatestVersion, LogTail: []byte("tail\n")}
	if string(req.Payload) == `"fail"` {
		res.FunctionError, res.Payload = "Unhandled", []byte(`{"errorType":"E","errorMessage":"m"}`)
	}
	return res, nil
}

func (f *fakeRunner) InvokeStream(ctx context.Context, req *invocation.Request, w invocation.StreamWriter, opts invocation.StreamOptions) (*invocation.StreamResult, error) {
	if _, _, err := f.Resolve(req.FunctionName, req.Qualifier); err != nil {
		return nil, err
	}
	if err := w.Begin("text/plain"); err != nil {
		return nil, err
	}
	if _, err := w.Write(req.Payload); err != nil {
		return nil, err
	}
	return &invocation.StreamResult{Result: invocation.Result{RequestID: opts.RequestID, ExecutedVersion: invocation.LatestVersion}, Streamed: true}, nil
}

func (f *fakeRunner) InvokeAsync(req *invocation.Request) (string, error) {
	if _, _, err := f.Resolve(req.FunctionName, req.Qualifier); err != nil {
		return "", err
	}
	return "async-1", nil
}

func (f *fakeRunner) Resolve(functionName, qualifier string) (string, string, error) {
	switch functionName {
	case "echo":
		return "echo", f.FunctionARN("echo"), nil
	case "busy":
		return "", "", &invocation.ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
			Message: "Rate Exceeded.", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	}
	return "", "", invocation.FunctionNotFound(f.FunctionARN(functionName))
}

func (f *fakeRunner) FunctionARN(name string) string {
	return invocation.FunctionARN("us-east-1", "000000000000", name)
}

func (f *fakeRunner) WatchLogs(ctx context.Context, function string, lf invocation.LogFilter, follow bool, emit func([]byte) error) error {
	if function != "echo" {
		return invocation.FunctionNotFound(f.FunctionARN(function))
	}
	return emit([]byte("line " + lf.Text + "\n"))
}

func (f *fakeRunner) EventInvokeConfigOf(string) (invocation.EventInvokeConfig, bool) {
	if f.cfg == nil {
		return invocation.EventInvokeConfig{}, false
	}
	return *f.cfg, true
}

func (f *fakeRunner) UpdateEventInvokeConfig(function string, merge bool, set func(*invocation.EventInvokeConfig)) (invocation.EventInvokeConfig, bool, error) {
	var c invocation.EventInvokeConfig
	if merge {
		if f.cfg == nil {
			return c, false, nil
		}
		c = *f.cfg
	}
	set(&c)
	f.cfg = &c
	return c, true, nil
}

func (f *fakeRunner) DeleteEventInvokeConfig(string) bool {
	ok := f.cfg != nil
	f.cfg = nil
	return ok
}

func (f *fakeRunner) Now() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func TestHandler(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantStatus               int
		wantHeader               map[string]string
		wantBody                 string // a substring
	}{
		{name: "invoke", method: "POST", path: "/2015-03-31/functions/echo/invocations", body: `{"a":1}`,
			wantStatus: 200, wantHeader: map[string]string{"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}, wantBody: `{"a":1}`},
		{name: "function error with log tail", method: "POST", path: "/2015-03-31/functions/echo/invocations", body: `"fail"`,
			header:     map[string]string{"X-Amz-Log-Type": "Tail"},
			wantStatus: 200, wantHeader: map[string]string{"X-Amz-Function-Error": "Unhandled", "X-Amz-Log-Result": "dGFpbAo="}, wantBody: `"errorType":"E"`},
		{name: "event", method: "POST", path: "/2015-03-31/functions/echo/invocations", body: `{}`,
			header: map[string]string{"X-Amz-Invocation-Type": "Event"}, wantStatus: 202, wantHeader: map[string]string{"X-Amzn-Requestid": "async-1"}},
		{name: "dry run of an unknown function", method: "POST", path: "/2015-03-31/functions/nope/invocations",
			header:     map[string]string{"X-Amz-Invocation-Type": "DryRun"},
			wantStatus: 404, wantHeader: map[string]string{"X-Amzn-Errortype": "ResourceNotFoundException"}, wantBody: `"message":"Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"`},
		{name: "bad invocation type", method: "POST", path: "/2015-03-31/functions/echo/invocations",
			header:     map[string]string{"X-Amz-Invocation-Type": "Later"},
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-Errortype": "InvalidParameterValueException"}},
		{name: "not JSON", method: "POST", path: "/2015-03-31/functions/echo/invocations", body: `{a`,
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-Errortype": "InvalidRequestContentException"}},
		{name: "too large for Event", method: "POST", path: "/2015-03-31/functions/echo/invocations", body: `"` + strings.Repeat("x", invocation.MaxAsyncPayload) + `"`,
			header:     map[string]string{"X-Amz-Invocation-Type": "Event"},
			wantStatus: 413, wantHeader: map[string]string{"X-Amzn-Errortype": "RequestTooLargeException"}, wantBody: "InvokeAsync"},
		{name: "throttled", method: "POST", path: "/2015-03-31/functions/busy/invocations",
			wantStatus: 429, wantHeader: map[string]string{"Retry-After": "1"}, wantBody: `"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"`},
		{name: "stream", method: "POST", path: "/2021-11-15/functions/echo/response-streaming-invocations", body: `"hi"`,
			wantStatus: 200, wantHeader: map[string]string{"Content-Type": "text/plain"}, wantBody: "PayloadChunk"},
		{name: "logs", method: "GET", path: "/_portico/functions/echo/logs?filter=x",
			wantStatus: 200, wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, wantBody: "line x\n"},
		{name: "logs of an unknown function", method: "GET", path: "/_portico/functions/nope/logs",
			wantStatus: 404, wantHeader: map[string]string{"X-Amzn-Errortype": "ResourceNotFoundException"}},
		{name: "logs since nonsense", method: "GET", path: "/_portico/functions/echo/logs?since=yesterday",
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-Errortype": "InvalidParameterValueException"}, wantBody: "since"},
		{name: "event config of another version", method: "GET", path: "/2019-09-25/functions/echo/event-invoke-config?Qualifier=3",
			wantStatus: 404, wantBody: "(Portico runs $LATEST only)"},
		{name: "no event config", method: "GET", path: "/2019-09-25/functions/echo/event-invoke-config",
			wantStatus: 404, wantBody: "doesn't have an EventInvokeConfig"},
		{name: "update without a config", method: "POST", path: "/2019-09-25/functions/echo/event-invoke-config", body: `{"MaximumRetryAttempts":1}`,
			wantStatus: 404, wantBody: "doesn't have an EventInvokeConfig"},
		{name: "put event config", method: "PUT", path: "/2019-09-25/functions/echo/event-invoke-config", body: `{"MaximumRetryAttempts":1}`,
			wantStatus: 200, wantBody: `"FunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(&fakeRunner{})
			hr := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			for k, v := range tt.header {
				hr.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, hr)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for k, v := range tt.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", rec.Body, tt.wantBody)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"service error", invocation.InvalidParameter("bad"), 400, "InvalidParameterValueException", `{"Type":"User","message":"bad"}`},
		{"other error", context.DeadlineExceeded, 500, "ServiceException", `{"Type":"Service","message":"context deadline exceeded"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.wantStatus || rec.Header().Get("x-amzn-ErrorType") != tt.wantType || rec.Body.String() != tt.wantBody {
				t.Errorf("WriteError = %d %q %s, want %d %q %s", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body, tt.wantStatus, tt.wantType, tt.wantBody)
			}
		})
	}
}
