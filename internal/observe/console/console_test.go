package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/live"
)

type fakeTopology []API

func (f fakeTopology) APIs() []API { return f }

type fakeFunctions []Function

func (f fakeFunctions) Functions() []Function { return f }

// fakeLogs holds each function's invocations by request id.
type fakeLogs map[string]map[string][]string

func (f fakeLogs) Tail(ctx context.Context, fn string, n int) ([]string, error) {
	var out []string
	for _, lines := range f[fn] {
		out = append(out, lines...)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

func (f fakeLogs) Invocation(ctx context.Context, fn, id string) ([]string, error) {
	if fn == "broken" {
		return nil, errors.New("log store unavailable")
	}
	return f[fn][id], nil
}

var testTopology = fakeTopology{{ID: "a1b2c3d4e5", Name: "shop", Stages: []Stage{{Name: "$default", AutoDeploy: true, Routes: []Route{
	{Key: "GET /items", Integration: "items", IntegrationType: "AWS_PROXY", Target: "items-fn", AuthorizationType: "JWT",
		Authorizer: "cognito", Scopes: []string{"read"}, ThrottleRate: 10, ThrottleBurst: 20},
	{Key: "$default", Integration: "web", IntegrationType: "HTTP_PROXY", Target: "http://127.0.0.1:9000/{proxy}", AuthorizationType: "NONE"},
}}}}}

func newTestConsole(t *testing.T, l *live.Live, opts ...func(*Config)) *Console {
	t.Helper()
	cfg := Config{
		Live:      l,
		Topology:  testTopology,
		Functions: fakeFunctions{{Name: "items-fn", Runtime: "python3.13", MemoryMB: 128, Warm: 2, Busy: 1, ColdStarts: 3, QueueDepth: 4, QueueAge: 90 * time.Second}},
		Logs: fakeLogs{"items-fn": {"req-1": {
			"START RequestId: req-1 Version: $LATEST",
			`{"level":"INFO","msg":"<listing items>"}`,
			"END RequestId: req-1",
			"REPORT RequestId: req-1\tDuration: 2.00 ms",
		}}},
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestNewNeedsLive(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "live") {
		t.Fatalf("New without Live: err = %v", err)
	}
}

func TestPages(t *testing.T) {
	l := live.New(live.Config{})
	c := newTestConsole(t, l)
	tests := []struct {
		name       string
		target     string
		wantStatus int
		want       []string
		notWant    []string
	}{
		{name: "index", target: "/", wantStatus: 200, want: []string{
			"shop", "a1b2c3d4e5", "GET /items", "AWS_PROXY", "items-fn", "JWT cognito", "[read]", "10/s burst 20",
			"http://127.0.0.1:9000/{proxy}", "<b>2</b> warm", "<b>1</b> busy", "<b>3</b> cold starts",
			"async queue: <b>4</b> events, oldest <b>1m30s</b>",
			"{&#34;level&#34;:&#34;INFO&#34;,&#34;msg&#34;:&#34;&lt;listing items&gt;&#34;}", `src="static/console.js"`,
		}},
		{name: "invocation logs", target: "/logs?function=items-fn&request=req-1", wantStatus: 200, want: []string{
			"START RequestId: req-1", "&lt;listing items&gt;", "REPORT RequestId: req-1",
		}, notWant: []string{"<listing"}},
		{name: "unknown request", target: "/logs?function=items-fn&request=nope", wantStatus: 200, want: []string{"no log lines"}},
		{name: "missing request id", target: "/logs?function=items-fn", wantStatus: 400, want: []string{"request id are required"}},
		{name: "log store error", target: "/logs?function=broken&request=x", wantStatus: 502, want: []string{"log store unavailable"}},
		{name: "script", target: "/static/console.js", wantStatus: 200, want: []string{"live.json"}},
		{name: "stylesheet", target: "/static/console.css", wantStatus: 200, want: []string{"path.rate"}},
		{name: "unknown page", target: "/nope", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, c, tt.target)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%s", status, tt.wantStatus, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("body has %q", w)
				}
			}
		})
	}
}

func TestLiveJSON(t *testing.T) {
	l := live.New(live.Config{})
	c := newTestConsole(t, l)
	now := time.Now()
	l.Observe(&observe.Record{RequestID: "gw-1", Time: now, APIID: "a1b2c3d4e5", APIName: "shop", Stage: "$default",
		RouteKey: "GET /items", HTTPMethod: "GET", Path: "/items", Status: 200, ResponseLatency: 4 * time.Millisecond, Function: "items-fn"})
	l.Observe(&observe.Record{RequestID: "gw-2", Time: now, APIID: "a1b2c3d4e5", Stage: "$default",
		HTTPMethod: "GET", Path: "/nope", Status: 404, ErrorType: "ROUTE_NOT_FOUND"})
	status, body := get(t, c, "/live.json")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	var got liveJSON
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Requests) != 2 || got.Requests[0].ID != "gw-2" || got.Requests[1].LogsURL != "logs?function=items-fn&request=gw-1" {
		t.Errorf("requests = %+v", got.Requests)
	}
	if got.Requests[0].LogsURL != "" {
		t.Errorf("a request without a function has a logs link: %q", got.Requests[0].LogsURL)
	}
	if len(got.Routes) != 2 || got.Routes[0].Route != "-" || got.Routes[0].Stage != "$default" || got.Routes[1].Route != "GET /items" {
		t.Fatalf("routes = %+v", got.Routes)
	}
	total := func(a []int) (n int) {
		for _, v := range a {
			n += v
		}
		return n
	}
	if total(got.Routes[1].Requests) != 1 || total(got.Routes[0].Errors) != 1 || len(got.Routes[1].P99) != 120 {
		t.Errorf("route series = %+v", got.Routes)
	}
}
