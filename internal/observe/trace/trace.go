// Package trace follows each request through the gateway with
// OpenTelemetry: a span per request (continuing a W3C traceparent the
// client sent), child spans for the authorizer, the throttle wait, the
// integration and the function's invocation, the traceparent propagated to
// HTTP upstreams, and the same trace ID given to functions in X-Ray format
// (_X_AMZN_TRACE_ID, Lambda-Runtime-Trace-Id).
//
// Export (OTLP over HTTP, protobuf) happens only when Config.Endpoint is
// set. Without it the Tracer keeps no SDK state: it only reads or creates
// trace and span IDs and carries them in the context, so that functions,
// upstreams and access logs still see a trace ID.
//
// Every method works on a nil *Tracer (no IDs, no spans), and every
// returned end function is safe to call exactly once.
package trace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/observe"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// The lambda.InvokeTracer guard is in guard_test.go: this package does not
// import the runner.

// Config configures a Tracer. Zero values mean the documented defaults.
type Config struct {
	// Endpoint is the OpenTelemetry collector's OTLP/HTTP endpoint, e.g.
	// http://127.0.0.1:4318 (the path defaults to /v1/traces). "" turns
	// export off: IDs are still propagated, no spans are recorded.
	Endpoint string
	// ServiceName is the service.name resource attribute. Default "portico".
	ServiceName string
	// SampleRatio is the fraction of new traces recorded, in (0, 1].
	// Default 1. A client's traceparent sampled flag takes precedence.
	SampleRatio float64
	// Headers are added to every export request (e.g. an API key).
	Headers map[string]string
}

// Deps are the Tracer's collaborators.
type Deps struct {
	Logger *slog.Logger // export failures; default: discard
}

// Tracer starts spans and converts trace IDs. It is safe for concurrent
// use.
type Tracer struct {
	tp        *sdktrace.TracerProvider // nil when export is off
	tr        oteltrace.Tracer         // nil when export is off
	log       *slog.Logger
	exportErr atomic.Int64
}

// propagator reads and writes W3C traceparent and tracestate headers.
var propagator = propagation.TraceContext{}

// New returns a Tracer; with cfg.Endpoint set it exports batches of spans
// in the background (never blocking requests: a full queue drops spans).
// Call Shutdown to flush.
func New(cfg Config, deps Deps) (*Tracer, error) {
	cfg, endpoint, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		return &Tracer{log: logger(deps)}, nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(endpoint), otlptracehttp.WithTimeout(10 * time.Second),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: time.Second,
			MaxInterval: 5 * time.Second, MaxElapsedTime: 30 * time.Second})}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("trace: otlp exporter %s: %w", endpoint, err)
	}
	t := &Tracer{log: logger(deps)}
	t.startProvider(cfg, sdktrace.WithBatcher(&countingExporter{SpanExporter: exp, t: t}))
	return t, nil
}

func logger(deps Deps) *slog.Logger {
	if deps.Logger != nil {
		return deps.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// normalize applies defaults and validates; endpoint is the full URL.
func (cfg Config) normalize() (Config, string, error) {
	if cfg.ServiceName == "" {
		cfg.ServiceName = "portico"
	}
	if cfg.SampleRatio == 0 {
		cfg.SampleRatio = 1
	}
	var errs []error
	if math.IsNaN(cfg.SampleRatio) || cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		errs = append(errs, fmt.Errorf("sample ratio %v: must be in (0, 1]", cfg.SampleRatio))
	}
	endpoint := ""
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("endpoint %q: %w", cfg.Endpoint, err))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("endpoint %q: scheme must be http or https", cfg.Endpoint))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("endpoint %q: no host", cfg.Endpoint))
		default:
			if u.Path == "" || u.Path == "/" {
				u.Path = "/v1/traces"
			}
			endpoint = u.String()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, "", fmt.Errorf("trace config: %w", err)
	}
	return cfg, endpoint, nil
}

// startProvider builds the SDK pipeline around a span processor option.
func (t *Tracer) startProvider(cfg Config, processor sdktrace.TracerProviderOption) {
	t.tp = sdktrace.NewTracerProvider(
		processor,
		sdktrace.WithIDGenerator(xrayIDs{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.ServiceName))),
	)
	t.tr = t.tp.Tracer("github.com/portico-dev/portico/internal/observe/trace")
}

// Enabled says spans are recorded and exported.
func (t *Tracer) Enabled() bool { return t != nil && t.tp != nil }

// ExportErrors counts the span batches that could not be exported.
func (t *Tracer) ExportErrors() int64 {
	if t == nil {
		return 0
	}
	return t.exportErr.Load()
}

// Shutdown flushes pending spans and stops exporting; it returns early
// with ctx's error. Spans started afterwards are not exported.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("trace: shutdown: %w", err)
	}
	return nil
}

// countingExporter counts and logs failed exports instead of handing them
// to OpenTelemetry's global error handler.
type countingExporter struct {
	sdktrace.SpanExporter
	t *Tracer
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		e.t.exportErr.Add(1)
		e.t.log.Warn("trace export failed", "spans", len(spans), "error", err)
	}
	return nil
}

// End ends a span; err, when not nil, marks it failed.
type End func(err error)

// EndRequest ends a request span with what the request's access record
// says (route key, status, error type). It does not keep rec.
type EndRequest func(rec *observe.Record)

func noEnd(error)                  {}
func noEndRequest(*observe.Record) {}

// StartRequest starts the span of one request to the gateway, continuing
// the trace of the request's traceparent header when it has a valid one,
// else starting a new trace. The returned context carries the span for the
// child spans, Inject and XRayHeader.
func (t *Tracer) StartRequest(ctx context.Context, r *http.Request) (context.Context, EndRequest) {
	if t == nil {
		return ctx, noEndRequest
	}
	ctx = propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	if t.tr == nil {
		return oteltrace.ContextWithSpanContext(ctx, childOf(oteltrace.SpanContextFromContext(ctx))), noEndRequest
	}
	ctx, span := t.tr.Start(ctx, r.Method, oteltrace.WithSpanKind(oteltrace.SpanKindServer),
		oteltrace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
	if !span.IsRecording() {
		return ctx, func(*observe.Record) { span.End() }
	}
	return ctx, func(rec *observe.Record) {
		if rec != nil {
			if rec.RouteKey != "" {
				span.SetName(rec.RouteKey)
				span.SetAttributes(attribute.String("http.route", rec.RouteKey))
			}
			span.SetAttributes(attribute.Int("http.response.status_code", rec.Status),
				attribute.String("portico.api", rec.APIName), attribute.String("portico.stage", rec.Stage),
				attribute.String("portico.request_id", rec.RequestID))
			if rec.ErrorType != "" {
				span.SetAttributes(attribute.String("portico.error_type", rec.ErrorType))
			}
			if rec.Status >= 500 {
				span.SetStatus(codes.Error, rec.ErrorMessage)
			}
		}
		span.End()
	}
}

// childOf returns a new span context in parent's trace (same sampled
// flag and trace state), or in a new unsampled trace when parent is not
// valid; used when export is off.
func childOf(parent oteltrace.SpanContext) oteltrace.SpanContext {
	var ids xrayIDs
	if !parent.IsValid() {
		tid, sid := ids.NewIDs(context.Background())
		return oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid})
	}
	return parent.WithSpanID(ids.NewSpanID(context.Background(), parent.TraceID())).WithRemote(false)
}

// start starts a child span of the span in ctx.
func (t *Tracer) start(ctx context.Context, name string, kind oteltrace.SpanKind, attrs ...attribute.KeyValue) (context.Context, End) {
	if t == nil || t.tr == nil {
		return ctx, noEnd
	}
	ctx, span := t.tr.Start(ctx, name, oteltrace.WithSpanKind(kind), oteltrace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// StartSpan starts an internal child span named name.
func (t *Tracer) StartSpan(ctx context.Context, name string) (context.Context, End) {
	return t.start(ctx, name, oteltrace.SpanKindInternal)
}

// StartAuthorizer starts the span of a route's authorizer; kind is its
// authorization type (JWT, CUSTOM, AWS_IAM). End it with the error that
// denied the request, if any.
func (t *Tracer) StartAuthorizer(ctx context.Context, kind string) (context.Context, End) {
	return t.start(ctx, "authorize", oteltrace.SpanKindInternal, attribute.String("portico.authorizer.type", kind))
}

// StartThrottleWait starts the span of the time spent in throttling and
// waiting for a concurrency slot.
func (t *Tracer) StartThrottleWait(ctx context.Context) (context.Context, End) {
	return t.start(ctx, "throttle", oteltrace.SpanKindInternal)
}

// StartIntegration starts the span of a route's integration; kind is its
// type (AWS_PROXY, HTTP_PROXY) and target the function name or upstream
// URL. Call Inject with the returned context for HTTP upstreams.
func (t *Tracer) StartIntegration(ctx context.Context, kind, target string) (context.Context, End) {
	if t == nil || t.tr == nil {
		return ctx, noEnd // before building the name and attributes
	}
	return t.start(ctx, "integration "+kind, oteltrace.SpanKindClient,
		attribute.String("portico.integration.type", kind), attribute.String("portico.integration.target", target))
}

// StartInvoke implements lambda.InvokeTracer: a span per function
// invocation, whose ID becomes the function's X-Ray Parent. Without
// export, the header carries the trace of ctx (a new one if ctx has none).
func (t *Tracer) StartInvoke(ctx context.Context, function string) (string, func(invocation.Stats)) {
	if t == nil || t.tr == nil {
		sc := oteltrace.SpanContextFromContext(ctx)
		if !sc.IsValid() {
			sc = childOf(sc)
		}
		return xrayHeader(sc), func(invocation.Stats) {}
	}
	ctx, span := t.tr.Start(ctx, "invoke "+function, oteltrace.WithSpanKind(oteltrace.SpanKindInternal),
		oteltrace.WithAttributes(attribute.String("faas.invoked_name", function)))
	return xrayHeader(span.SpanContext()), func(s invocation.Stats) {
		span.SetAttributes(attribute.Bool("faas.coldstart", s.Cold), attribute.Float64("portico.lambda.duration_ms", float64(s.Duration)/1e6))
		if s.Cold {
			span.SetAttributes(attribute.Float64("portico.lambda.init_duration_ms", float64(s.InitDuration)/1e6))
		}
		if s.ErrorType != "" {
			span.SetStatus(codes.Error, s.ErrorType)
		}
		span.End()
	}
}

// Inject writes the traceparent (and tracestate) of the span in ctx into
// h, replacing any the client sent; for requests to HTTP upstreams.
func Inject(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// TraceID is the W3C trace ID (32 hex digits) of the span in ctx; "" if
// none.
func TraceID(ctx context.Context) string {
	sc := oteltrace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}
