package lambda

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/asyncq"
)

// Asynchronous invocation, as Lambda does it: an Event invoke is written to
// the function's queue (durable when Deps.EventStore is a disk store) and
// answered 202; the queue delivers it later. A function error is retried
// MaximumRetryAttempts times (default 2) after Config.AsyncRetryDelays (1m,
// then 2m); a throttle or an undeployed function does not count as an
// attempt and is retried with exponential back-off from
// Config.AsyncThrottleDelay up to Config.AsyncMaxThrottleDelay; an event
// older than MaximumEventAgeInSeconds (default 6h) is given up. The outcome
// goes, as an invocation record, to the OnSuccess or OnFailure destination
// function when one is configured, through that function's own queue.

// Invocation record conditions (requestContext.condition).
const (
	ConditionSuccess          = "Success"
	ConditionRetriesExhausted = "RetriesExhausted"
	ConditionEventAgeExceeded = "EventAgeExceeded"
)

// CheckEventInvokeConfig reports what is wrong with c as Lambda's API
// would: ranges, and destinations that are not function ARNs.
func CheckEventInvokeConfig(c invocation.EventInvokeConfig) error {
	if v := c.MaximumRetryAttempts; v != nil && (*v < 0 || *v > 2) {
		return invocation.InvalidParameter(fmt.Sprintf("1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2 and greater than or equal to 0", *v))
	}
	if v := c.MaximumEventAgeInSeconds; v != nil && (*v < 60 || *v > 21600) {
		return invocation.InvalidParameter(fmt.Sprintf("1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600 and greater than or equal to 60", *v))
	}
	for _, d := range []string{c.OnSuccess, c.OnFailure} {
		if d == "" {
			continue
		}
		if ref, ok := invocation.ParseFunctionName(d); !ok || ref.Region == "" {
			return invocation.InvalidParameter(fmt.Sprintf("The destination ARN %s is invalid: Portico delivers invocation records to Lambda functions (arn:aws:lambda:REGION:ACCOUNT:function:NAME).", d))
		}
	}
	return nil
}

// eventHeap orders events by Due.
type eventHeap []*asyncq.Event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].Due.Before(h[j].Due) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(*asyncq.Event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// fnEvents is one function's queue in memory (the store holds the same
// events durably).
type fnEvents struct {
	pending eventHeap
	running map[string]*asyncq.Event
}

// eventQueue schedules the asynchronous invocations of every function.
type eventQueue struct {
	r       *Runner
	store   asyncq.Store
	durable bool // false: a Memory store, drained by Close

	mu       sync.Mutex
	fns      map[string]*fnEvents
	n        int  // events held, all functions
	closed   bool // no new events, no new deliveries
	deployed bool // the first Deploy happened: delivery may start
	wake     chan struct{}
	wg       sync.WaitGroup // deliveries and the scheduler
	ctx      context.Context
	cancel   context.CancelFunc

	cfgMu    sync.Mutex
	cfgs     map[string]*invocation.EventInvokeConfig // effective, by function name
	specCfgs map[string]invocation.EventInvokeConfig  // last given by SetEventInvokeConfigs
}

func (q *eventQueue) init(r *Runner, store asyncq.Store) error {
	q.r = r
	q.store, q.durable = store, true
	if store == nil {
		q.store, q.durable = &asyncq.Memory{}, false
	}
	q.fns = map[string]*fnEvents{}
	q.cfgs = map[string]*invocation.EventInvokeConfig{}
	q.wake = make(chan struct{}, 1)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	evs, err := q.store.Load()
	if err != nil {
		return fmt.Errorf("lambda: async queue: %w", err)
	}
	now := r.now()
	for _, e := range evs {
		if e.Throttles > 0 && e.Due.After(now) {
			// A throttle's back-off does not outlive the process: the
			// new one may have the capacity (or the function) it lacked.
			e.Due, e.Throttles = now, 0
		}
		q.push(e)
	}
	if len(evs) > 0 {
		r.log.Info("lambda async queue loaded", "events", len(evs))
	}
	q.wg.Add(1)
	go q.schedule()
	return nil
}

// push adds e to its function's pending heap; q.mu must not be held.
func (q *eventQueue) push(e *asyncq.Event) {
	q.mu.Lock()
	q.pushLocked(e)
	q.mu.Unlock()
	q.poke()
}

func (q *eventQueue) pushLocked(e *asyncq.Event) {
	f := q.fns[e.Function]
	if f == nil {
		f = &fnEvents{running: map[string]*asyncq.Event{}}
		q.fns[e.Function] = f
	}
	heap.Push(&f.pending, e)
	q.n++
}

func (q *eventQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// InvokeAsync queues an Event invocation and returns its request id. The
// function must exist and the payload fit the asynchronous limit; the
// event is in the queue's store (on disk, with a disk store) when it
// returns, and is invoked later.
func (r *Runner) InvokeAsync(req *invocation.Request) (string, error) {
	if len(req.Payload) > invocation.MaxAsyncPayload {
		return "", invocation.RequestTooLarge(invocation.MaxAsyncPayload, "InvokeAsync")
	}
	p, _, err := r.findFunction(req.FunctionName, req.Qualifier)
	if err != nil {
		return "", err
	}
	id := invocation.NewRequestID()
	now := r.now()
	ev := &asyncq.Event{ID: id, Function: p.fn.Name, Payload: req.Payload, TraceID: req.TraceID, Enqueued: now, Due: now}
	if err := r.events.add(ev); err != nil {
		return "", err
	}
	return id, nil
}

// add stores e and queues it.
func (q *eventQueue) add(e *asyncq.Event) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return &invocation.ServiceError{Status: http.StatusServiceUnavailable, Type: "ServiceException", Message: "The Lambda runner is shutting down."}
	}
	if q.n >= q.r.cfg.MaxQueuedEvents {
		q.mu.Unlock()
		return &invocation.ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
			Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
	}
	q.mu.Unlock()
	// The event may be delivered while its write is in flight (it is
	// queued in the store before anything that delivery writes), but it
	// is acknowledged only once it is on disk.
	wait := q.store.Submit([]*asyncq.Event{e}, nil)
	q.push(e)
	if err := wait(); err != nil {
		q.r.log.Error("lambda async queue: add event", "function", e.Function, "request_id", e.ID, "error", err)
		return &invocation.ServiceError{Status: http.StatusInternalServerError, Type: "ServiceException", Message: "The event could not be queued: " + err.Error()}
	}
	return nil
}

// limit is how many events of a function may run at once: its reserved
// concurrency (at least 1, so that a function reserved to 0 sees its
// events throttled and backed off, as on Lambda), else the runner's cap.
func (q *eventQueue) limit(name string) int {
	if p := q.r.lookup(name); p != nil && p.fn.ReservedConcurrency >= 0 {
		return max(1, p.fn.ReservedConcurrency)
	}
	return q.r.cfg.MaxConcurrency
}

// schedule starts due deliveries until the queue closes.
func (q *eventQueue) schedule() {
	defer q.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var next time.Time
		q.mu.Lock()
		if !q.closed && q.deployed {
			now := q.r.now()
			for name, f := range q.fns {
				lim := q.limit(name)
				for len(f.pending) > 0 && len(f.running) < lim {
					e := f.pending[0]
					if e.Due.After(now) {
						if next.IsZero() || e.Due.Before(next) {
							next = e.Due
						}
						break
					}
					heap.Pop(&f.pending)
					f.running[e.ID] = e
					q.wg.Add(1)
					go q.deliver(e)
				}
			}
		}
		q.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), time.Millisecond)
		}
		t.Reset(wait)
		select {
		case <-q.wake:
		case <-t.C:
		case <-q.ctx.Done():
			return
		}
	}
}

// config returns the effective configuration of a function (nil: the
// defaults).
func (q *eventQueue) config(name string) *invocation.EventInvokeConfig {
	q.cfgMu.Lock()
	defer q.cfgMu.Unlock()
	return q.cfgs[name]
}

// deliver makes one attempt at e and decides what follows.
func (q *eventQueue) deliver(e *asyncq.Event) {
	defer q.wg.Done()
	r := q.r
	cfg := q.config(e.Function)
	maxAge := cfg.MaxAge(r.cfg.AsyncMaxEventAge)
	if r.now().Sub(e.Enqueued) > maxAge {
		q.finish(e, cfg, ConditionEventAgeExceeded, nil)
		return
	}
	req := &invocation.Request{FunctionName: e.Function, Qualifier: e.Qualifier, Payload: e.Payload, TraceID: e.TraceID}
	res, err := r.invoke(q.ctx, req, e.ID, nil)
	if q.ctx.Err() != nil {
		// Shutting down: the event stays in the store for the next start.
		q.release(e, false)
		return
	}
	var se *invocation.ServiceError
	switch {
	case err == nil && res.FunctionError == "":
		e.Attempts++
		q.finish(e, cfg, ConditionSuccess, res)
		return
	case err == nil:
		e.Attempts++
		e.FunctionError, e.Response = res.FunctionError, res.Payload
		if e.Attempts > cfg.Retries() {
			q.finish(e, cfg, ConditionRetriesExhausted, res)
			return
		}
		e.Due = r.now().Add(r.cfg.AsyncRetryDelays[min(e.Attempts-1, len(r.cfg.AsyncRetryDelays)-1)])
	case errors.As(err, &se) && (se.Status == http.StatusTooManyRequests || se.Status == http.StatusNotFound || se.Status >= 500):
		// Throttled, or the function is not (yet) deployed: back off
		// without counting an attempt.
		e.Due = r.now().Add(backoff(r.cfg.AsyncThrottleDelay, r.cfg.AsyncMaxThrottleDelay, e.Throttles))
		e.Throttles++
	default:
		r.log.Warn("lambda event dropped", "function", e.Function, "request_id", e.ID, "error", err)
		q.finish(e, nil, "", nil)
		return
	}
	if e.Due.Sub(e.Enqueued) > maxAge {
		q.finish(e, cfg, ConditionEventAgeExceeded, nil)
		return
	}
	if err := q.store.Commit([]*asyncq.Event{e}, nil); err != nil {
		r.log.Error("lambda async queue: update event", "function", e.Function, "request_id", e.ID, "error", err)
	}
	q.release(e, true)
}

// backoff is the wait before retry n (0-based) of a throttled event:
// base doubled each time, at most most.
func backoff(base, most time.Duration, n int) time.Duration {
	d := base
	for range min(n, 30) {
		d *= 2
		if d >= most {
			return most
		}
	}
	return min(d, most)
}

// release takes e off the running set; requeue puts it back as pending.
func (q *eventQueue) release(e *asyncq.Event, requeue bool) {
	q.mu.Lock()
	f := q.fns[e.Function]
	delete(f.running, e.ID)
	q.n--
	if requeue {
		q.pushLocked(e)
	}
	q.mu.Unlock()
	q.poke()
}

// finish removes e from the queue; with a condition and a destination for
// it, the invocation record is queued for the destination function in the
// same transaction.
func (q *eventQueue) finish(e *asyncq.Event, cfg *invocation.EventInvokeConfig, condition string, res *invocation.Result) {
	r := q.r
	var put []*asyncq.Event
	dest := ""
	if cfg != nil {
		if condition == ConditionSuccess {
			dest = cfg.OnSuccess
		} else if condition != "" {
			dest = cfg.OnFailure
		}
	}
	switch {
	case dest != "":
		ref, _ := invocation.ParseFunctionName(dest)
		now := r.now()
		put = append(put, &asyncq.Event{ID: invocation.NewRequestID(), Function: ref.Name, Payload: q.record(e, condition, res, now),
			Enqueued: now, Due: now})
	case condition == ConditionRetriesExhausted || condition == ConditionEventAgeExceeded:
		r.log.Warn("lambda event discarded", "function", e.Function, "request_id", e.ID, "condition", condition,
			"attempts", e.Attempts, "error", string(e.Response))
	}
	if err := q.store.Commit(put, []string{e.ID}); err != nil {
		r.log.Error("lambda async queue: finish event", "function", e.Function, "request_id", e.ID, "error", err)
	}
	q.release(e, false)
	for _, d := range put {
		q.push(d)
	}
}

// invocationRecord is what Lambda sends to a destination.
type invocationRecord struct {
	Version        string          `json:"version"`
	Timestamp      string          `json:"timestamp"`
	RequestContext recordRequest   `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
	// ResponseContext and ResponsePayload are absent when the function
	// never ran (an event too old before its first attempt).
	ResponseContext *recordResponse `json:"responseContext,omitempty"`
	ResponsePayload json.RawMessage `json:"responsePayload,omitempty"`
}

type recordRequest struct {
	RequestID              string `json:"requestId"`
	FunctionARN            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type recordResponse struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// record builds the invocation record of e.
func (q *eventQueue) record(e *asyncq.Event, condition string, res *invocation.Result, now time.Time) []byte {
	r := q.r
	rec := invocationRecord{
		Version:   "1.0",
		Timestamp: now.UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: recordRequest{
			RequestID:              e.ID,
			FunctionARN:            FunctionARN(r.cfg.Region, r.cfg.AccountID, e.Function) + ":" + executedVersion,
			Condition:              condition,
			ApproximateInvokeCount: e.Attempts,
		},
		RequestPayload: jsonOrNull(e.Payload),
	}
	payload, ferr := e.Response, e.FunctionError
	if res != nil {
		payload, ferr = res.Payload, res.FunctionError
	}
	if e.Attempts > 0 {
		rec.ResponseContext = &recordResponse{StatusCode: http.StatusOK, ExecutedVersion: executedVersion, FunctionError: ferr}
		rec.ResponsePayload = jsonOrNull(payload)
	}
	b, _ := json.Marshal(rec)
	return b
}

// jsonOrNull is b when it is JSON, else b as a JSON string (null when
// empty): a record must stay JSON whatever a function answered.
func jsonOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// deployedOnce lets delivery start: events loaded at start wait for their
// functions to be deployed rather than backing off.
func (q *eventQueue) deployedOnce() {
	q.mu.Lock()
	q.deployed = true
	q.mu.Unlock()
	q.poke()
}

// Queues reports each function's asynchronous queue, by name.
func (r *Runner) Queues() []invocation.QueueStatus {
	q := &r.events
	now := r.now()
	q.mu.Lock()
	out := make([]invocation.QueueStatus, 0, len(q.fns))
	for name, f := range q.fns {
		s := invocation.QueueStatus{Function: name, Depth: len(f.pending) + len(f.running)}
		var oldest time.Time
		for _, e := range f.pending {
			if oldest.IsZero() || e.Enqueued.Before(oldest) {
				oldest = e.Enqueued
			}
		}
		for _, e := range f.running {
			if oldest.IsZero() || e.Enqueued.Before(oldest) {
				oldest = e.Enqueued
			}
		}
		if !oldest.IsZero() {
			s.OldestAge = max(now.Sub(oldest), 0)
		}
		out = append(out, s)
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out
}

// idle reports whether nothing is running and nothing is due.
func (q *eventQueue) idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.r.now()
	for _, f := range q.fns {
		if len(f.running) > 0 || len(f.pending) > 0 && !f.pending[0].Due.After(now) {
			return false
		}
	}
	return true
}

// close stops the queue. With a memory store, the events that are due are
// delivered first (until ctx ends), since nothing keeps them; with a disk
// store, only the running deliveries are waited for (until ctx ends, then
// cancelled): the others stay on disk for the next start.
func (q *eventQueue) close(ctx context.Context) error {
	var err error
	if !q.durable {
		for !q.idle() {
			select {
			case <-ctx.Done():
				err = fmt.Errorf("lambda close: event invocations not finished: %w", ctx.Err())
			case <-time.After(5 * time.Millisecond):
				continue
			}
			break
		}
	}
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for {
			q.mu.Lock()
			running := 0
			for _, f := range q.fns {
				running += len(f.running)
			}
			q.mu.Unlock()
			if running == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("lambda close: event invocations not finished: %w", ctx.Err())
		}
	}
	q.cancel()
	q.wg.Wait()
	return err
}

// SetEventInvokeConfigs sets the asynchronous configurations given by the
// spec, by function name. A function whose spec configuration changed (or
// that is new) takes it; one whose spec configuration is unchanged keeps
// what the API may have set since.
func (r *Runner) SetEventInvokeConfigs(cfgs map[string]invocation.EventInvokeConfig) {
	q := &r.events
	q.cfgMu.Lock()
	defer q.cfgMu.Unlock()
	now := r.now()
	for name, c := range cfgs {
		if old, ok := q.specCfgs[name]; ok && sameConfig(old, c) {
			continue
		}
		cp := c
		cp.LastModified = now
		q.cfgs[name] = &cp
	}
	for name := range q.specCfgs {
		if _, ok := cfgs[name]; !ok {
			delete(q.cfgs, name)
		}
	}
	q.specCfgs = cfgs
}

func sameConfig(a, b invocation.EventInvokeConfig) bool {
	eq := func(x, y *int) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return eq(a.MaximumRetryAttempts, b.MaximumRetryAttempts) && eq(a.MaximumEventAgeInSeconds, b.MaximumEventAgeInSeconds) &&
		a.OnSuccess == b.OnSuccess && a.OnFailure == b.OnFailure
}
