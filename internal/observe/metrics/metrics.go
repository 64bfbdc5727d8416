// Package metrics turns what the gateway and the function runner report
// into Prometheus metrics, in a registry the app owns (never the global
// one), served in the Prometheus text format by Handler.
//
// Label values come from the deployed configuration only: API names, stage
// names, route keys (the spec's "GET /items/{id}", never a request path)
// and function names. Their number is bounded by what is deployed; Retain
// drops the series of routes and functions a redeploy removed, and a hard
// cap folds anything beyond MaxRoutes into route="_other".
package metrics

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/portico-dev/portico/internal/observe"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Interface guards (lambda.Observer's is in guard_test.go: this package
// does not import the runner).
var _ observe.Sink = (*Metrics)(nil)

// MaxRoutes caps the (api, stage, route) label sets; observations beyond
// it are counted under route="_other" of their API and stage.
const MaxRoutes = 10000

// maxLabelsPerSeries caps the distinct values of an open-ended label
// (AI model, function error type) per route or function; beyond it the
// value becomes "_other".
const maxLabelsPerSeries = 32

// latencyBuckets span 100 µs to 60 s, in seconds.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics is the app's metrics registry. It is an observe.Sink (per API,
// stage and route) and a lambda.Observer (per function). It is safe for
// concurrent use, including Observe while Handler is being scraped.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec   // api, stage, route, status_class
	latency       *prometheus.HistogramVec // api, stage, route
	integLatency  *prometheus.HistogramVec // api, stage, route
	queueWait     *prometheus.HistogramVec // api, stage, route
	requestBytes  *prometheus.CounterVec   // api, stage, route
	responseBytes *prometheus.CounterVec   // api, stage, route
	gatewayErrors *prometheus.CounterVec   // api, stage, route, error_type
	aiTokens      *prometheus.CounterVec   // api, stage, route, model, type

	invocations  *prometheus.CounterVec   // function
	coldStarts   *prometheus.CounterVec   // function
	errors       *prometheus.CounterVec   // function, error_type
	throttles    *prometheus.CounterVec   // function, reason
	duration     *prometheus.HistogramVec // function
	initDuration *prometheus.HistogramVec // function
	concurrent   *prometheus.GaugeVec     // function
	sandboxes    *prometheus.GaugeVec     // function, state

	routes   routeTable
	funcs    sync.Map   // function name -> *funcHandle
	retainMu sync.Mutex // serializes Retain
}

// New returns metrics in a fresh registry that also holds the Go runtime
// and process collectors.
func New() *Metrics {
	route := []string{"api", "stage", "route"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_http_requests_total",
			Help: "HTTP API requests, by status class (AWS Count, 4xx, 5xx)."}, append(route, "status_class")),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_http_request_duration_seconds",
			Help: "Time from receiving a request to sending its response (AWS Latency).", Buckets: latencyBuckets}, route),
		integLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_http_integration_duration_seconds",
			Help: "Time from relaying a request to the integration to its response (AWS IntegrationLatency).", Buckets: latencyBuckets}, route),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_http_queue_wait_seconds",
			Help: "Time a request waited for a concurrency slot before its integration ran.", Buckets: latencyBuckets}, route),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_http_request_bytes_total",
			Help: "Request body bytes received (with response bytes: AWS DataProcessed)."}, route),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_http_response_bytes_total",
			Help: "Response body bytes sent (with request bytes: AWS DataProcessed)."}, route),
		gatewayErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_http_gateway_errors_total",
			Help: "Responses the gateway generated itself, by gateway response type (THROTTLED, UNAUTHORIZED...)."}, append(route, "error_type")),
		aiTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_ai_tokens_total",
			Help: "Tokens of OpenAI-compatible responses, by model and type (prompt, completion)."}, append(route, "model", "type")),

		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_invocations_total",
			Help: "Function invocations that reached the function, failed ones included (AWS Invocations)."}, []string{"function"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_cold_starts_total",
			Help: "Invocations that started a new sandbox."}, []string{"function"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_errors_total",
			Help: "Invocations that ended in an error, by error type (AWS Errors)."}, []string{"function", "error_type"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "portico_lambda_throttles_total",
			Help: "Invocations rejected for lack of concurrency, by reason (AWS Throttles)."}, []string{"function", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_lambda_duration_seconds",
			Help: "Time the function's code ran per invocation (AWS Duration).", Buckets: latencyBuckets}, []string{"function"}),
		initDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "portico_lambda_init_duration_seconds",
			Help: "Init phase of cold starts (the REPORT line's Init Duration).", Buckets: latencyBuckets}, []string{"function"}),
		concurrent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "portico_lambda_concurrent_executions",
			Help: "Sandboxes initializing or running an invocation (AWS ConcurrentExecutions)."}, []string{"function"}),
		sandboxes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "portico_lambda_sandboxes",
			Help: "Sandboxes by temperature: cold (initializing) or warm (initialized, busy or idle)."}, []string{"function", "state"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.integLatency, m.queueWait, m.requestBytes, m.responseBytes,
		m.gatewayErrors, m.aiTokens, m.invocations, m.coldStarts, m.errors, m.throttles, m.duration,
		m.initDuration, m.concurrent, m.sandboxes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format. A collector failing does not fail the whole scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// CounterFunc registers a counter whose value f returns at each scrape, for
// components that count things themselves (e.g. dropped access log
// records). name must be a valid, unused metric name ending in _total.
func (m *Metrics) CounterFunc(name, help string, f func() float64) error {
	if !metricNameRE.MatchString(name) {
		return fmt.Errorf("metrics: register %q: not a valid metric name", name)
	}
	if err := m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)); err != nil {
		return fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return nil
}

// GaugeFunc registers a gauge whose value f returns at each scrape.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) error {
	if !metricNameRE.MatchString(name) {
		return fmt.Errorf("metrics: register %q: not a valid metric name", name)
	}
	if err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)); err != nil {
		return fmt.Errorf("metrics: register %s: %w", name, err)
	}
	return nil
}

// metricNameRE is the classic Prometheus metric name syntax, which every
// scraper and query language accepts.
var metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// statusClass is the status_class label of a status code.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// orDash replaces an empty label value (not applicable) with "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// capped keeps the distinct values of an open-ended label bounded.
type capped struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// value returns v if it was seen before or fits under the cap, else "_other".
func (c *capped) value(v string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[v]; ok {
		return v
	}
	if len(c.seen) >= maxLabelsPerSeries {
		return "_other"
	}
	if c.seen == nil {
		c.seen = map[string]struct{}{}
	}
	c.seen[v] = struct{}{}
	return v
}
