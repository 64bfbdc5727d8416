package queue

import (
	"context"
	"net/http"
	"time"

	"github.com/portico-dev/portico/internal/integration"
)

// waitKey is the context key of WithWaitReport.
type waitKey struct{}

// WithWaitReport returns a context under which a Wrap integration stores
// the time the request spent queued in *dst (zero when it was admitted at
// once; the time waited before a refusal too). The gateway passes
// &record.QueueWait. *dst is written by the goroutine that calls Serve,
// before Serve returns.
func WithWaitReport(ctx context.Context, dst *time.Duration) context.Context {
	return context.WithValue(ctx, waitKey{}, dst)
}

// Wrap returns next behind l: Serve acquires a slot (or returns the
// limiter's *edge.Error without writing anything), serves the request with
// next, and releases the slot when next.Serve returns, that is once the
// response, streamed or not, is complete. Time spent queued counts against
// ctx's deadline (the integration timeout).
func Wrap(l *Limiter, next integration.Integration) integration.Integration {
	return &limited{l: l, next: next}
}

type limited struct {
	l    *Limiter
	next integration.Integration
}

var _ integration.BodyStreamer = (*limited)(nil)

func (q *limited) Serve(ctx context.Context, w http.ResponseWriter, r *integration.Request) error {
	release, waited, err := q.l.Acquire(ctx)
	if dst, ok := ctx.Value(waitKey{}).(*time.Duration); ok && dst != nil {
		*dst = waited
	}
	if err != nil {
		return err
	}
	defer release()
	return q.next.Serve(ctx, w, r)
}

// StreamsBody reports whether the wrapped integration takes a streamed body
// (integration.BodyStreamer): the queue reads no body, so a queued route
// streams when its integration does. The rest of a streamed body is read
// only once the slot is held; the client waits, blocked by TCP flow control,
// while the request is queued, and that wait counts against the body
// timeouts like any slow upload.
func (q *limited) StreamsBody() bool {
	bs, ok := q.next.(integration.BodyStreamer)
	return ok && bs.StreamsBody()
}

// Unwrap returns the wrapped integration (to close it, for example).
func (q *limited) Unwrap() integration.Integration { return q.next }
