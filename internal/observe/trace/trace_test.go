package trace

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

const (
	clientTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	clientTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
)

// memTracer records spans in memory, synchronously.
func memTracer(t testing.TB, ratio float64) (*Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	cfg, _, err := Config{SampleRatio: ratio}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	tr := &Tracer{log: logger(Deps{})}
	tr.startProvider(cfg, sdktrace.WithSyncer(exp))
	return tr, exp
}

func request(traceparent string) *http.Request {
	r := httptest.NewRequest("GET", "/prod/items/42", nil)
	if traceparent != "" {
		r.Header.Set("traceparent", traceparent)
	}
	return r
}

// serve runs a request through every kind of span, as the gateway does.
func serve(tr *Tracer, r *http.Request) (xray string, upstream http.Header) {
	ctx, end := tr.StartRequest(context.Background(), r)
	xray = XRayHeader(ctx)
	actx, aend := tr.StartAuthorizer(ctx, "JWT")
	_ = actx
	aend(nil)
	_, tend := tr.StartThrottleWait(ctx)
	tend(nil)
	ictx, iend := tr.StartIntegration(ctx, "HTTP_PROXY", "http://upstream")
	upstream = http.Header{"Traceparent": {"00-11111111111111111111111111111111-2222222222222222-01"}}
	Inject(ictx, upstream)
	_, fend := tr.StartInvoke(ictx, "hello")
	fend(invocation.Stats{Cold: true, Duration: time.Millisecond, ErrorType: "Sandbox.Timedout"})
	iend(errors.New("upstream closed"))
	end(&observe.Record{RouteKey: "GET /items/{id}", Status: 504, Stage: "prod", ErrorType: "INTEGRATION_TIMEOUT"})
	return xray, upstream
}

func TestSpansAndPropagation(t *testing.T) {
	tr, exp := memTracer(t, 1)
	xray, upstream := serve(tr, request(clientTraceparent))
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
		if got := s.SpanContext.TraceID().String(); got != clientTraceID {
			t.Errorf("span %s: trace id %s, want the client's %s", s.Name, got, clientTraceID)
		}
	}
	root := byName["GET /items/{id}"]
	tests := []struct {
		name, span string
		want       string // parent span id
	}{
		{"request continues the client's span", "GET /items/{id}", "00f067aa0ba902b7"},
		{"authorizer", "authorize", root.SpanContext.SpanID().String()},
		{"throttle", "throttle", root.SpanContext.SpanID().String()},
		{"integration", "integration HTTP_PROXY", root.SpanContext.SpanID().String()},
		{"invocation under integration", "invoke hello", byName["integration HTTP_PROXY"].SpanContext.SpanID().String()},
	}
	if len(spans) != len(tests) {
		t.Fatalf("spans = %d, want %d", len(spans), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := byName[tt.span]
			if !ok {
				t.Fatalf("no span %q", tt.span)
			}
			if got := s.Parent.SpanID().String(); got != tt.want {
				t.Errorf("parent = %s, want %s", got, tt.want)
			}
		})
	}
	want := "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=" + root.SpanContext.SpanID().String() + ";Sampled=1"
	if xray != want {
		t.Errorf("XRayHeader = %q, want %q", xray, want)
	}
	wantTP := "00-" + clientTraceID + "-" + byName["integration HTTP_PROXY"].SpanContext.SpanID().String() + "-01"
	if got := upstream.Get("traceparent"); got != wantTP {
		t.Errorf("upstream traceparent = %q, want %q (the integration span, replacing the client's)", got, wantTP)
	}
	if root.Status.Code.String() != "Error" || byName["invoke hello"].Status.Description != "Sandbox.Timedout" {
		t.Errorf("statuses: request %v, invoke %v", root.Status, byName["invoke hello"].Status)
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if attrs["http.route"] != "GET /items/{id}" || attrs["http.response.status_code"] != "504" || attrs["portico.error_type"] != "INTEGRATION_TIMEOUT" {
		t.Errorf("request attributes = %v", attrs)
	}
}

var xrayRE = regexp.MustCompile(`^Root=1-([0-9a-f]{8})-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=([01])$`)

func TestBadTraceparentStartsNewTrace(t *testing.T) {
	tests := []struct {
		name, traceparent string
	}{
		{"none", ""},
		{"garbage", "hello"},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"short", "00-4bf92f35-00f067aa0ba902b7-01"},
		{"upper case", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"},
	}
	for _, enabled := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(strconv.FormatBool(enabled)+"/"+tt.name, func(t *testing.T) {
				tr, _ := memTracer(t, 1)
				if !enabled {
					tr = &Tracer{}
				}
				ctx, end := tr.StartRequest(context.Background(), request(tt.traceparent))
				defer end(nil)
				h := XRayHeader(ctx)
				m := xrayRE.FindStringSubmatch(h)
				if m == nil || TraceID(ctx) == clientTraceID || strings.Contains(h, "4bf92f35") {
					t.Fatalf("XRayHeader = %q, want a new valid trace", h)
				}
				epoch, _ := strconv.ParseInt(m[1], 16, 64)
				if d := time.Since(time.Unix(epoch, 0)); d < -time.Minute || d > time.Minute {
					t.Errorf("trace id epoch %s is not now (X-Ray rejects old IDs)", time.Unix(epoch, 0))
				}
				if want := map[bool]string{true: "1", false: "0"}[enabled]; m[2] != want {
					t.Errorf("Sampled = %s, want %s", m[2], want)
				}
			})
		}
	}
}

func TestDisabledPropagatesIDsOnly(t *testing.T) {
	tr, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("a tracer with no endpoint is enabled")
	}
	ctx, end := tr.StartRequest(context.Background(), request(clientTraceparent))
	h := XRayHeader(ctx)
	if !strings.HasPrefix(h, "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=") || strings.Contains(h, "00f067aa0ba902b7") || !strings.HasSuffix(h, ";Sampled=1") {
		t.Errorf("XRayHeader = %q, want the client's trace, a new parent, its sampled flag", h)
	}
	ictx, iend := tr.StartIntegration(ctx, "AWS_PROXY", "hello")
	if ictx != ctx {
		t.Error("disabled StartIntegration changed the context")
	}
	hdr, fend := tr.StartInvoke(ictx, "hello")
	if hdr != h {
		t.Errorf("StartInvoke header = %q, want the request's %q", hdr, h)
	}
	fend(invocation.Stats{})
	iend(nil)
	end(&observe.Record{})
	if got := XRayTraceID(ctx); got != "1-4bf92f35-77b34da6a3ce929d0e0e4736" {
		t.Errorf("XRayTraceID = %q", got)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	// Direct invocations (no request) still get a trace header.
	if hdr, _ := tr.StartInvoke(context.Background(), "hello"); !xrayRE.MatchString(hdr) {
		t.Errorf("StartInvoke without a request = %q, want a new header", hdr)
	}
	// A nil Tracer is a valid no-op.
	var none *Tracer
	nctx, nend := none.StartRequest(context.Background(), request(clientTraceparent))
	nend(nil)
	if XRayHeader(nctx) != "" || none.Enabled() || none.ExportErrors() != 0 || none.Shutdown(context.Background()) != nil {
		t.Error("nil Tracer is not a no-op")
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    string // endpoint, or error substring
		wantErr bool
	}{
		{"off", Config{}, "", false},
		{"host and port", Config{Endpoint: "http://127.0.0.1:4318"}, "http://127.0.0.1:4318/v1/traces", false},
		{"full path", Config{Endpoint: "https://otel.example:4318/custom/traces"}, "https://otel.example:4318/custom/traces", false},
		{"ratio", Config{SampleRatio: 0.25}, "", false},
		{"negative ratio", Config{SampleRatio: -0.1}, "sample ratio -0.1", true},
		{"ratio above 1", Config{SampleRatio: 1.5}, "sample ratio 1.5", true},
		{"NaN ratio", Config{SampleRatio: math.NaN()}, "sample ratio NaN", true},
		{"grpc scheme", Config{Endpoint: "grpc://127.0.0.1:4317"}, "scheme must be http or https", true},
		{"no scheme", Config{Endpoint: "127.0.0.1:4318"}, "endpoint", true},
		{"no host", Config{Endpoint: "http://"}, "no host", true},
		{"unparsable", Config{Endpoint: "http://[::1"}, "endpoint", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, endpoint, err := tt.cfg.normalize()
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want %q", err, tt.want)
				}
				if _, err := New(tt.cfg, Deps{}); err == nil {
					t.Error("New accepted a bad config")
				}
				return
			}
			if err != nil || endpoint != tt.want {
				t.Errorf("endpoint = %q, %v; want %q", endpoint, err, tt.want)
			}
		})
	}
}

// receiver is a fake OTLP/HTTP collector.
type receiver struct {
	mu       sync.Mutex
	requests int
	spans    []string
	status   int
	problems []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("X-Api-Key") != "k" {
		rc.problems = append(rc.problems, r.URL.Path+" "+r.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		rc.problems = append(rc.problems, err.Error())
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				rc.spans = append(rc.spans, s.Name)
			}
		}
	}
	if rc.status != 0 {
		w.WriteHeader(rc.status)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Write(b)
}

func TestOTLPExport(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantErrors int64
	}{
		{"accepted", 0, 0},
		{"rejected", http.StatusBadRequest, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{status: tt.status}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			tr, err := New(Config{Endpoint: srv.URL, ServiceName: "portico-test", Headers: map[string]string{"X-Api-Key": "k"}}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			serve(tr, request(clientTraceparent))
			serve(tr, request(""))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tr.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if rc.requests != 1 || len(rc.spans) != 10 || len(rc.problems) > 0 {
				t.Errorf("receiver got %d requests, spans %q, problems %q; want one batch of 10 spans", rc.requests, rc.spans, rc.problems)
			}
			if got := tr.ExportErrors(); got != tt.wantErrors {
				t.Errorf("ExportErrors = %d, want %d", got, tt.wantErrors)
			}
		})
	}
}

func TestSampling(t *testing.T) {
	tr, exp := memTracer(t, 1e-12)
	serve(tr, request(""))
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("unsampled new trace recorded %d spans", n)
	}
	xray, _ := serve(tr, request(clientTraceparent))
	if n := len(exp.GetSpans()); n != 5 || !strings.HasSuffix(xray, "Sampled=1") {
		t.Errorf("client-sampled trace recorded %d spans (%s), want 5", n, xray)
	}
	exp.Reset()
	xray, _ = serve(tr, request("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
	if n := len(exp.GetSpans()); n != 0 || !strings.HasSuffix(xray, "Sampled=0") {
		t.Errorf("client-unsampled trace recorded %d spans (%s), want none", n, xray)
	}
}

func benchRequest(b *testing.B, tr *Tracer) {
	r := request(clientTraceparent)
	b.ReportAllocs()
	for b.Loop() {
		ctx, end := tr.StartRequest(context.Background(), r)
		ictx, iend := tr.StartIntegration(ctx, "AWS_PROXY", "hello")
		h, fend := tr.StartInvoke(ictx, "hello")
		if h == "" {
			b.Fatal("no header")
		}
		fend(invocation.Stats{})
		iend(nil)
		end(nil)
	}
}

func BenchmarkRequestDisabled(b *testing.B) { benchRequest(b, &Tracer{}) }

func BenchmarkRequestNil(b *testing.B) {
	var tr *Tracer
	r := request(clientTraceparent)
	b.ReportAllocs()
	for b.Loop() {
		_, end := tr.StartRequest(context.Background(), r)
		end(nil)
	}
}

func BenchmarkRequestEnabled(b *testing.B) {
	cfg, _, _ := Config{}.normalize()
	tr := &Tracer{log: logger(Deps{})}
	tr.startProvider(cfg, sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer tr.Shutdown(context.Background())
	benchRequest(b, tr)
}
