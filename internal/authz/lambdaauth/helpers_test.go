package lambdaauth

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
)

// The runner is an Invoker (a guard here: the package itself must not
// link the runner).
var _ Invoker = (*lambda.Runner)(nil)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testTime is the fixed receive time of every test request.
var testTime = time.Date(2020, 4, 21, 15, 8, 21, 67_000_000, time.UTC)

// respondFunc produces the fake function's answer to one event.
type respondFunc func(ctx context.Context, payload []byte) (*invocation.Result, error)

// fakeInvoker is an Invoker that answers with respond and records every
// event it was given.
type fakeInvoker struct {
	respond respondFunc
	mu      sync.Mutex
	events  [][]byte
	names   []string
}

func (f *fakeInvoker) Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error) {
	f.mu.Lock()
	f.events = append(f.events, bytes.Clone(req.Payload))
	f.names = append(f.names, req.FunctionName)
	f.mu.Unlock()
	return f.respond(ctx, req.Payload)
}

func (f *fakeInvoker) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

// answer returns a respondFunc giving payload as the function's result.
func answer(payload string) respondFunc {
	return func(context.Context, []byte) (*invocation.Result, error) {
		return &invocation.Result{Payload: []byte(payload)}, nil
	}
}

// byToken answers the simple response {"isAuthorized": token == "good"}
// according to the x-token header in a 2.0 event.
func byToken() respondFunc {
	return func(_ context.Context, p []byte) (*invocation.Result, error) {
		ok := bytes.Contains(p, []byte(`"x-token":"good"`))
		if ok {
			return &invocation.Result{Payload: []byte(`{"isAuthorized":true,"context":{"user":"alice"}}`)}, nil
		}
		return &invocation.Result{Payload: []byte(`{"isAuthorized":false}`)}, nil
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newRequest builds the request the gateway would hand over for method and
// target ("/v1/orders/42?x=1") on stage, matched by routeKey. hdr holds
// header name/value pairs.
func newRequest(method, target, stage, routeKey string, hdr ...string) *integration.Request {
	hr := httptest.NewRequest(method, "http://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"+target, nil)
	hr.Header = http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		hr.Header.Add(hdr[i], hdr[i+1])
	}
	path := hr.URL.EscapedPath()
	rel := path
	if stage != "$default" {
		rel = strings.TrimPrefix(path, "/"+stage)
		if rel == "" {
			rel = "/"
		}
	}
	return &integration.Request{
		HTTP:       hr,
		RawPath:    path,
		Path:       rel,
		RouteKey:   routeKey,
		Stage:      stage,
		RequestID:  "LV7fzho-PHcEJPw=",
		Time:       testTime,
		APIID:      "a1b2c3d4e5",
		AccountID:  "111122223333",
		DomainName: "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
		SourceIP:   "198.51.100.7",
	}
}

// tokenRequest is GET /v1/orders/42 with x-token: token.
func tokenRequest(token string) *integration.Request {
	return newRequest("GET", "/v1/orders/42", "v1", "GET /orders/{id}", "X-Token", token)
}

// baseConfig is a 2.0 simple-response authorizer on the x-token header
// with caching off.
func baseConfig() Config {
	return Config{
		Function:              "authFn",
		PayloadFormatVersion:  "2.0",
		EnableSimpleResponses: true,
		IdentitySource:        []string{"$request.header.X-Token"},
		Region:                "eu-west-1",
	}
}

func mustNew(t testing.TB, cfg Config, inv Invoker) *Authorizer {
	t.Helper()
	a, err := New(cfg, inv)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// kindOf is the edge kind of err, or -1 when err is not an *edge.Error.
func kindOf(err error) edge.Kind {
	var e *edge.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return -1
}
