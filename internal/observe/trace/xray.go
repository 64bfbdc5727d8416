package trace

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"time"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/internal/xrayid"
)

// xrayIDs generates trace IDs X-Ray accepts: the first 4 bytes are the
// Unix time in seconds, the other 12 random; span IDs are random.
type xrayIDs struct{}

func (xrayIDs) NewIDs(ctx context.Context) (oteltrace.TraceID, oteltrace.SpanID) {
	tid := oteltrace.TraceID(xrayid.New(time.Now()))
	return tid, xrayIDs{}.NewSpanID(ctx, tid)
}

func (xrayIDs) NewSpanID(context.Context, oteltrace.TraceID) oteltrace.SpanID {
	var sid oteltrace.SpanID
	for sid == (oteltrace.SpanID{}) {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// XRayTraceID is the trace ID of the span in ctx in X-Ray form,
// 1-<8 hex>-<24 hex>: the W3C trace ID's 32 hex digits split after the
// eighth ($context.xrayTraceId). "" if ctx has no span.
func XRayTraceID(ctx context.Context) string {
	sc := oteltrace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return xrayTraceID(sc.TraceID())
}

func xrayTraceID(tid oteltrace.TraceID) string {
	return xrayid.ID(tid).String()
}

// XRayHeader is the X-Ray trace header of the span in ctx,
// Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>, for
// _X_AMZN_TRACE_ID and Lambda-Runtime-Trace-Id. "" if ctx has no span.
func XRayHeader(ctx context.Context) string {
	return xrayHeader(oteltrace.SpanContextFromContext(ctx))
}

func xrayHeader(sc oteltrace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	// Built in one buffer: this runs for every request.
	var buf [len("Root=1-12345678-123456789012345678901234;Parent=1234567890123456;Sampled=0")]byte
	b := xrayid.ID(sc.TraceID()).Append(append(buf[:0], "Root="...))
	sid := sc.SpanID()
	b = hex.AppendEncode(append(b, ";Parent="...), sid[:])
	sampled := byte('0')
	if sc.IsSampled() {
		sampled = '1'
	}
	return string(append(append(b, ";Sampled="...), sampled))
}
