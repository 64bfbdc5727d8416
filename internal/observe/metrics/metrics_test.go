package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
)

// scrape returns the handler's text output.
func scrape(t testing.TB, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// series counts the sample lines of metric names starting with prefix.
func series(text, prefix string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func rec(route string, status int) *observe.Record {
	return &observe.Record{APIName: "shop", APIID: "a1b2c3", Stage: "prod", RouteKey: route, Status: status,
		ResponseLatency: 3 * time.Millisecond, IntegrationLatency: 2 * time.Millisecond, RequestLen: 10, ResponseLen: 100}
}

func TestScrape(t *testing.T) {
	m := New()
	m.Observe(rec("GET /items", 200))
	m.Observe(rec("GET /items", 201))
	m.Observe(&observe.Record{APIName: "shop", Stage: "prod", Status: 404, ErrorType: "ROUTE_NOT_FOUND", ResponseLatency: time.Millisecond})
	throttled := rec("GET /items", 429)
	throttled.ErrorType, throttled.IntegrationLatency = "THROTTLED", 0
	m.Observe(throttled)
	m.Observe(&observe.Record{APIID: "x9", Stage: "$default", RouteKey: "POST /login", Status: 401, ErrorType: "UNAUTHORIZED"})
	failed := rec("GET /items", 502)
	failed.ErrorType = "INTEGRATION_FAILURE"
	m.Observe(failed)
	m.Observe(&observe.Record{APIName: "shop", Stage: "prod", RouteKey: "GET /items", Status: 0}) // client went away
	ai := rec("POST /v1/chat/completions", 200)
	ai.PromptTokens, ai.CompletionTokens, ai.Model, ai.QueueWait = 12, 30, "llama3", 500*time.Millisecond
	m.Observe(ai)

	m.SandboxChanged("hello", invocation.SandboxNone, invocation.SandboxInitializing)
	m.SandboxChanged("hello", invocation.SandboxInitializing, invocation.SandboxBusy)
	m.Invoked("hello", invocation.Stats{Duration: 20 * time.Millisecond, InitDuration: 150 * time.Millisecond, Cold: true})
	m.SandboxChanged("hello", invocation.SandboxBusy, invocation.SandboxIdle)
	m.SandboxChanged("hello", invocation.SandboxNone, invocation.SandboxInitializing)
	m.Invoked("hello", invocation.Stats{Duration: 5 * time.Millisecond, ErrorType: "ValueError"})
	m.Invoked("hello", invocation.Stats{Duration: 3 * time.Second, ErrorType: "Sandbox.Timedout"})
	m.Invoked("hello", invocation.Stats{ErrorType: invocation.ErrorCanceled})
	m.Throttled("hello", "ReservedFunctionConcurrentInvocationLimitExceeded")
	m.Throttled("hello", "")

	text := scrape(t, m)
	const shop = `api="shop",route="GET /items",stage="prod"`
	want := []string{
		`portico_http_requests_total{` + shop + `,status_class="2xx"} 2`,
		`portico_http_requests_total{` + shop + `,status_class="4xx"} 1`,
		`portico_http_requests_total{` + shop + `,status_class="5xx"} 1`,
		`portico_http_requests_total{` + shop + `,status_class="other"} 1`,
		`portico_http_requests_total{` + shop + `,status_class="1xx"} 0`,
		`portico_http_requests_total{api="shop",route="-",stage="prod",status_class="4xx"} 1`,
		`portico_http_requests_total{api="x9",route="POST /login",stage="$default",status_class="4xx"} 1`,
		`portico_http_request_duration_seconds_bucket{` + shop + `,le="0.0025"} 1`,
		`portico_http_request_duration_seconds_bucket{` + shop + `,le="0.005"} 5`,
		`portico_http_request_duration_seconds_count{` + shop + `} 5`,
		`portico_http_integration_duration_seconds_count{` + shop + `} 3`,
		`portico_http_integration_duration_seconds_sum{` + shop + `} 0.006`,
		`portico_http_request_bytes_total{` + shop + `} 40`,
		`portico_http_response_bytes_total{` + shop + `} 400`,
		`portico_http_gateway_errors_total{api="shop",error_type="THROTTLED",route="GET /items",stage="prod"} 1`,
		`portico_http_gateway_errors_total{api="shop",error_type="INTEGRATION_FAILURE",route="GET /items",stage="prod"} 1`,
		`portico_http_gateway_errors_total{api="shop",error_type="ROUTE_NOT_FOUND",route="-",stage="prod"} 1`,
		`portico_http_gateway_errors_total{api="x9",error_type="UNAUTHORIZED",route="POST /login",stage="$default"} 1`,
		`portico_ai_tokens_total{api="shop",model="llama3",route="POST /v1/chat/completions",stage="prod",type="prompt"} 12`,
		`portico_ai_tokens_total{api="shop",model="llama3",route="POST /v1/chat/completions",stage="prod",type="completion"} 30`,
		`portico_http_queue_wait_seconds_sum{api="shop",route="POST /v1/chat/completions",stage="prod"} 0.5`,
		`portico_lambda_invocations_total{function="hello"} 4`,
		`portico_lambda_cold_starts_total{function="hello"} 1`,
		`portico_lambda_errors_total{error_type="Unhandled",function="hello"} 1`,
		`portico_lambda_errors_total{error_type="Sandbox.Timedout",function="hello"} 1`,
		`portico_lambda_errors_total{error_type="Canceled",function="hello"} 1`,
		`portico_lambda_throttles_total{function="hello",reason="ReservedFunctionConcurrentInvocationLimitExceeded"} 1`,
		`portico_lambda_throttles_total{function="hello",reason="-"} 1`,
		`portico_lambda_duration_seconds_count{function="hello"} 3`,
		`portico_lambda_duration_seconds_bucket{function="hello",le="0.025"} 2`,
		`portico_lambda_init_duration_seconds_count{function="hello"} 1`,
		`portico_lambda_init_duration_seconds_sum{function="hello"} 0.15`,
		`portico_lambda_concurrent_executions{function="hello"} 1`,
		`portico_lambda_sandboxes{function="hello",state="cold"} 1`,
		`portico_lambda_sandboxes{function="hello",state="warm"} 1`,
		`go_goroutines `,
		`process_start_time_seconds `,
		`# TYPE portico_http_requests_total counter`,
		`# TYPE portico_http_request_duration_seconds histogram`,
		`# TYPE portico_lambda_sandboxes gauge`,
	}
	for _, w := range want {
		t.Run(w, func(t *testing.T) {
			if !strings.Contains(text, w+"\n") && !(strings.HasSuffix(w, " ") && strings.Contains(text, "\n"+w)) {
				t.Errorf("scrape lacks %q", w)
			}
		})
	}
	for _, bad := range []string{"/items/", "ValueError"} {
		if strings.Contains(text, bad) {
			t.Errorf("scrape contains %q: raw paths and function error names must not become labels", bad)
		}
	}
}

func TestRegisterFuncs(t *testing.T) {
	m := New()
	tests := []struct {
		name, metric string
		wantErr      bool
	}{
		{"good", "portico_accesslog_dropped_total", false},
		{"duplicate", "portico_accesslog_dropped_total", true},
		{"invalid name", "bad-name", true},
		{"clashes with a built-in", "portico_http_requests_total", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.CounterFunc(tt.metric, "help", func() float64 { return 7 })
			if (err != nil) != tt.wantErr {
				t.Errorf("CounterFunc(%q) = %v, want error %v", tt.metric, err, tt.wantErr)
			}
		})
	}
	if err := m.GaugeFunc("portico_accesslog_queue", "help", func() float64 { return 3 }); err != nil {
		t.Fatal(err)
	}
	text := scrape(t, m)
	for _, w := range []string{"portico_accesslog_dropped_total 7\n", "portico_accesslog_queue 3\n"} {
		if !strings.Contains(text, w) {
			t.Errorf("scrape lacks %q", w)
		}
	}
}

func TestOpenLabelsAreCapped(t *testing.T) {
	m := New()
	for i := range maxLabelsPerSeries + 10 {
		r := rec("POST /chat", 200)
		r.Model, r.PromptTokens = fmt.Sprintf("model-%d", i), 1
		m.Observe(r)
		m.Invoked("f", invocation.Stats{ErrorType: fmt.Sprintf("Runtime.Error%d", i)})
	}
	text := scrape(t, m)
	if got := series(text, "portico_ai_tokens_total{"); got != maxLabelsPerSeries+1 {
		t.Errorf("AI token series = %d, want %d (the cap plus _other)", got, maxLabelsPerSeries+1)
	}
	if !strings.Contains(text, `model="_other",route="POST /chat",stage="prod",type="prompt"} 10`) {
		t.Errorf("models beyond the cap are not counted as _other")
	}
	if got := series(text, "portico_lambda_errors_total{"); got != maxLabelsPerSeries+1 {
		t.Errorf("error type series = %d, want %d", got, maxLabelsPerSeries+1)
	}
}

func TestRetainBoundsSeriesAcrossRedeploys(t *testing.T) {
	m := New()
	for deploy := range 50 {
		var routes []RouteID
		for i := range 5 {
			route := fmt.Sprintf("GET /v%d/r%d", deploy, i)
			m.Observe(rec(route, 200))
			routes = append(routes, RouteID{"shop", "prod", route})
		}
		fn := fmt.Sprintf("fn%d", deploy)
		m.Invoked(fn, invocation.Stats{Duration: time.Millisecond})
		m.SandboxChanged(fn, invocation.SandboxNone, invocation.SandboxInitializing)
		m.SandboxChanged(fn, invocation.SandboxInitializing, invocation.SandboxNone)
		m.Retain(routes, []string{fn})
	}
	text := scrape(t, m)
	if got := series(text, "portico_http_requests_total{"); got != 5*5 {
		t.Errorf("request series after 50 redeploys = %d, want 25 (5 routes x 5 status classes)", got)
	}
	if strings.Contains(text, "/v48/") || !strings.Contains(text, "/v49/") {
		t.Errorf("old routes kept or current ones dropped")
	}
	if got := series(text, "portico_lambda_invocations_total{"); got != 1 {
		t.Errorf("function series = %d, want 1", got)
	}
	// A function removed while a sandbox still runs keeps its gauges.
	m.SandboxChanged("busy", invocation.SandboxNone, invocation.SandboxInitializing)
	m.Retain(nil, nil)
	if text := scrape(t, m); !strings.Contains(text, `portico_lambda_sandboxes{function="busy",state="cold"} 1`) {
		t.Errorf("gauges of a removed function with a live sandbox were dropped")
	}
	m.SandboxChanged("busy", invocation.SandboxInitializing, invocation.SandboxNone)
	m.Retain(nil, nil)
	if text := scrape(t, m); strings.Contains(text, `function="busy"`) {
		t.Errorf("gauges of a removed function with no sandbox left were kept")
	}
}

func TestConcurrentObserveScrapeRetain(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m.Observe(rec(fmt.Sprintf("GET /r%d", i%7), 200+100*(i%4)))
				fn := fmt.Sprintf("f%d", g)
				m.SandboxChanged(fn, invocation.SandboxNone, invocation.SandboxBusy)
				m.Invoked(fn, invocation.Stats{Duration: time.Millisecond, ErrorType: "x"})
				m.SandboxChanged(fn, invocation.SandboxBusy, invocation.SandboxNone)
			}
		}()
	}
	for i := range 20 {
		scrape(t, m)
		m.Retain([]RouteID{{"shop", "prod", fmt.Sprintf("GET /r%d", i%7)}}, []string{"f0"})
	}
	close(stop)
	wg.Wait()
	text := scrape(t, m)
	// f0 is retained; the others may have been dropped once idle.
	if !strings.Contains(text, `portico_lambda_concurrent_executions{function="f0"} 0`) {
		t.Errorf("f0 concurrent executions not back to 0")
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New()
	r := rec("GET /items/{id}", 200)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(r)
		}
	})
}

func BenchmarkInvoked(b *testing.B) {
	m := New()
	s := invocation.Stats{Duration: 3 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.SandboxChanged("f", invocation.SandboxIdle, invocation.SandboxBusy)
		m.Invoked("f", s)
		m.SandboxChanged("f", invocation.SandboxBusy, invocation.SandboxIdle)
	}
}
