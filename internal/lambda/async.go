package lambda

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// eventQueue runs Event (asynchronous) invocations in the background: each
// is tried once and retried after each of Config.AsyncRetryDelays when the
// function fails; throttled attempts wait Config.AsyncThrottleDelay and do
// not count, until the event is older than Config.AsyncMaxEventAge. Events
// are kept in memory only: they survive nothing but the process.
type eventQueue struct {
	r      *Runner
	mu     sync.Mutex
	n      int // queued or running
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
}

func (q *eventQueue) init(r *Runner) {
	q.r = r
	q.ctx, q.cancel = context.WithCancel(context.Background())
}

// InvokeAsync queues an Event invocation and returns its request id. The
// function must exist and the payload fit the asynchronous limit; the
// invocation itself happens later.
func (r *Runner) InvokeAsync(req *InvokeRequest) (string, error) {
	if len(req.Payload) > MaxAsyncPayload {
		return "", requestTooLarge(MaxAsyncPayload, "InvokeAsync")
	}
	if _, _, err := r.findFunction(req.FunctionName, req.Qualifier); err != nil {
		return "", err
	}
	q := &r.events
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return "", &ServiceError{Status: http.StatusServiceUnavailable, Type: "ServiceException", Message: "The Lambda runner is shutting down."}
	}
	if q.n >= r.cfg.MaxQueuedEvents {
		q.mu.Unlock()
		return "", &ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
			Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
	}
	q.n++
	q.wg.Add(1)
	q.mu.Unlock()
	id := newRequestID()
	ev := *req
	ev.LogTail = false
	go q.run(&ev, id)
	return id, nil
}

func (q *eventQueue) run(req *InvokeRequest, id string) {
	defer func() {
		q.mu.Lock()
		q.n--
		q.mu.Unlock()
		q.wg.Done()
	}()
	r := q.r
	queued := r.now()
	attempt := 0
	for {
		res, err := r.invoke(q.ctx, req, id, nil)
		var se *ServiceError
		switch {
		case err == nil && res.FunctionError == "":
			return
		case errors.As(err, &se) && se.Status == http.StatusTooManyRequests:
			if r.now().Sub(queued) > r.cfg.AsyncMaxEventAge {
				r.log.Warn("lambda event dropped", "function", req.FunctionName, "request_id", id, "reason", "maximum event age")
				return
			}
			if !q.sleep(r.cfg.AsyncThrottleDelay) {
				return
			}
			continue
		case err != nil:
			r.log.Warn("lambda event dropped", "function", req.FunctionName, "request_id", id, "error", err)
			return
		}
		if attempt >= len(r.cfg.AsyncRetryDelays) {
			r.log.Warn("lambda event failed", "function", req.FunctionName, "request_id", id,
				"attempts", attempt+1, "error", string(res.Payload))
			return
		}
		if !q.sleep(r.cfg.AsyncRetryDelays[attempt]) {
			return
		}
		attempt++
	}
}

// sleep waits d; false when the queue was cancelled.
func (q *eventQueue) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-q.ctx.Done():
		return false
	}
}

// close stops accepting events and waits for the queued ones until ctx
// ends, then cancels those left.
func (q *eventQueue) close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		q.mu.Lock()
		left := q.n
		q.mu.Unlock()
		err = fmt.Errorf("lambda close: %d event invocations not finished: %w", left, ctx.Err())
		q.cancel()
		<-done
	}
	q.cancel()
	return err
}
