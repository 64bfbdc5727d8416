// Package queue limits the requests in flight to a scarce backend (a model
// server behind HTTP_PROXY, a function with few sandboxes behind AWS_PROXY)
// and keeps the overflow in a bounded first-in, first-out queue.
//
// A Limiter admits up to MaxConcurrency requests at once. Further requests
// wait in a FIFO queue of at most MaxQueue; a request that finds the queue
// full is refused at once with 429 Too Many Requests, one that waits longer
// than QueueTimeout with 503 Service Unavailable, both with a Retry-After
// estimate. Slots are handed over in arrival order: a finished request
// passes its slot directly to the oldest waiter, so a newcomer can never
// overtake the queue.
//
// A Limiter holds no goroutines and no timers of its own; a waiting request
// waits in its own goroutine. Memory grows with the number of waiting
// requests only (bounded by MaxQueue): refusals allocate nothing that
// outlives them. The policy is documented in docs/queues-and-failover.md.
package queue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/edge"
)

// Limits on configuration values.
const (
	// MaxMaxConcurrency bounds Config.MaxConcurrency.
	MaxMaxConcurrency = 1 << 20
	// MaxMaxQueue bounds Config.MaxQueue, so that a queue's memory stays
	// bounded (a waiting request costs a few hundred bytes here).
	MaxMaxQueue = 1 << 20
	// DefaultQueueTimeout is used when Config.QueueTimeout is zero; it
	// matches the spec's default queueTimeoutInMillis.
	DefaultQueueTimeout = 30 * time.Second
	// maxRetryAfter caps the Retry-After estimate, in seconds.
	maxRetryAfter = 3600
)

// Errors in the Cause of the edge errors Acquire returns; match them with
// errors.Is.
var (
	// ErrFull: every slot was busy and the queue full (429).
	ErrFull = errors.New("queue: full")
	// ErrTimeout: the request waited QueueTimeout, or until its context's
	// deadline, without getting a slot (503).
	ErrTimeout = errors.New("queue: timed out waiting for a concurrency slot")
)

// Config sizes a Limiter.
type Config struct {
	// MaxConcurrency is the number of requests served at once; at least 1.
	MaxConcurrency int
	// MaxQueue is the number of requests that may wait for a slot beyond
	// MaxConcurrency; 0 means none wait (refused at once when all slots
	// are busy).
	MaxQueue int
	// QueueTimeout is the longest a request waits in the queue; zero means
	// DefaultQueueTimeout. A context deadline that comes first ends the
	// wait the same way.
	QueueTimeout time.Duration
	// Now is the clock used to measure waits and service times; nil means
	// time.Now.
	Now func() time.Time
}

// Stats is a snapshot of a Limiter, for metrics.
type Stats struct {
	MaxConcurrency int
	MaxQueue       int
	InFlight       int // requests holding a slot
	Queued         int // requests waiting for one

	Admitted  uint64        // requests that got a slot (at once or after waiting)
	Rejected  uint64        // refused because the queue was full (429)
	TimedOut  uint64        // gave up after QueueTimeout or their deadline (503)
	Cancelled uint64        // left the queue because their client went away
	Waited    time.Duration // total time admitted requests spent queued
}

// Limiter is a concurrency limit with a bounded FIFO queue. It is safe for
// concurrent use.
type Limiter struct {
	max, maxQueue int
	timeout       time.Duration
	now           func() time.Time

	mu       sync.Mutex
	inFlight int
	head     *waiter // oldest waiter
	tail     *waiter
	queued   int
	enqSeq   uint64 // sequence number of the last waiter enqueued
	grantSeq uint64 // sequence number of the last waiter granted a slot
	service  time.Duration
	stats    Stats
}

// waiter is one queued request. ready is closed when the request was
// granted a slot; granted is set under Limiter.mu at the same time.
type waiter struct {
	prev, next *waiter
	ready      chan struct{}
	granted    bool
	seq        uint64
}

// New validates cfg and returns a Limiter.
func New(cfg Config) (*Limiter, error) {
	var errs []error
	if cfg.MaxConcurrency < 1 || cfg.MaxConcurrency > MaxMaxConcurrency {
		errs = append(errs, fmt.Errorf("maxConcurrency %d: must be between 1 and %d", cfg.MaxConcurrency, MaxMaxConcurrency))
	}
	if cfg.MaxQueue < 0 || cfg.MaxQueue > MaxMaxQueue {
		errs = append(errs, fmt.Errorf("maxQueue %d: must be between 0 and %d", cfg.MaxQueue, MaxMaxQueue))
	}
	if cfg.QueueTimeout < 0 {
		errs = append(errs, fmt.Errorf("queueTimeout %v: must not be negative", cfg.QueueTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{
		max:      cfg.MaxConcurrency,
		maxQueue: cfg.MaxQueue,
		timeout:  cfg.QueueTimeout,
		now:      cfg.Now,
		stats:    Stats{MaxConcurrency: cfg.MaxConcurrency, MaxQueue: cfg.MaxQueue},
	}, nil
}

// Acquire waits for a slot, in FIFO order with the other waiters.
//
// On success it returns release, which the caller must call exactly once
// when the request is finished (for a streamed response: when the stream
// ended); further calls do nothing. waited is the time spent queued, also
// on failure.
//
// It fails at once with an *edge.Error of kind TooManyRequests (cause
// ErrFull) when every slot is busy and the queue is full, and with kind
// ServiceUnavailable (cause ErrTimeout) after QueueTimeout or when ctx's
// deadline passes while queued; both carry a Retry-After header. When ctx
// is cancelled otherwise (the client went away) the request leaves the
// queue and Acquire returns an error wrapping ctx.Err().
func (l *Limiter) Acquire(ctx context.Context) (release func(), waited time.Duration, err error) {
	l.mu.Lock()
	if l.inFlight < l.max && l.head == nil {
		l.inFlight++
		l.stats.Admitted++
		l.mu.Unlock()
		return l.releaser(l.now()), 0, nil
	}
	if l.queued >= l.maxQueue {
		l.stats.Rejected++
		secs := l.retryAfterLocked(l.queued + 1)
		l.mu.Unlock()
		return nil, 0, refusal(edge.TooManyRequests, ErrFull, secs)
	}
	l.enqSeq++
	w := &waiter{ready: make(chan struct{}), seq: l.enqSeq}
	l.pushLocked(w)
	l.mu.Unlock()

	start := l.now()
	timer := time.NewTimer(l.timeout)
	defer timer.Stop()
	var cause error
	select {
	case <-w.ready:
		waited = l.now().Sub(start)
		l.mu.Lock()
		l.stats.Waited += waited
		l.mu.Unlock()
		return l.releaser(l.now()), waited, nil
	case <-timer.C:
		cause = ErrTimeout
	case <-ctx.Done():
		cause = ctx.Err()
	}

	l.mu.Lock()
	waited = l.now().Sub(start)
	if w.granted {
		// The slot arrived as the wait ended: take it when only the
		// queue timeout fired, pass it on when the request is over.
		if cause == ErrTimeout {
			l.stats.Waited += waited
			l.mu.Unlock()
			return l.releaser(l.now()), waited, nil
		}
		l.stats.Admitted--
		l.mu.Unlock()
		l.release(time.Time{})
		l.mu.Lock()
	} else {
		l.removeLocked(w)
	}
	defer l.mu.Unlock()
	if cause != ErrTimeout && !errors.Is(cause, context.DeadlineExceeded) {
		l.stats.Cancelled++
		return nil, waited, fmt.Errorf("queue: waiting for a concurrency slot: %w", cause)
	}
	l.stats.TimedOut++
	if cause != ErrTimeout {
		cause = fmt.Errorf("%w: %w", ErrTimeout, cause)
	}
	ahead := min(w.seq-l.grantSeq, uint64(l.queued+1))
	return nil, waited, refusal(edge.ServiceUnavailable, cause, l.retryAfterLocked(int(ahead)))
}

// releaser returns the release function of a slot taken at start (zero:
// do not sample the service time).
func (l *Limiter) releaser(start time.Time) func() {
	var once sync.Once
	return func() { once.Do(func() { l.release(start) }) }
}

// release gives the slot to the oldest waiter, or frees it.
func (l *Limiter) release(start time.Time) {
	var d time.Duration
	if !start.IsZero() {
		d = l.now().Sub(start)
	}
	l.mu.Lock()
	if d > 0 {
		// Exponentially weighted mean of recent service times.
		if l.service == 0 {
			l.service = d
		} else {
			l.service += (d - l.service) / 8
		}
	}
	if w := l.head; w != nil {
		l.removeLocked(w)
		w.granted = true
		l.grantSeq = w.seq
		l.stats.Admitted++
		close(w.ready)
	} else {
		l.inFlight--
	}
	l.mu.Unlock()
}

func (l *Limiter) pushLocked(w *waiter) {
	w.prev = l.tail
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.queued++
}

func (l *Limiter) removeLocked(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	l.queued--
}

// retryAfterLocked estimates, in whole seconds, how long until position
// requests ahead (counting the caller) have been served: the recent mean
// service time times the rounds of MaxConcurrency requests they need, at
// least 1 s (also when nothing was served yet) and at most an hour.
func (l *Limiter) retryAfterLocked(position int) int64 {
	rounds := (max(position, 1) + l.max - 1) / l.max
	est := l.service.Seconds() * float64(rounds)
	secs := int64(math.Ceil(est))
	return min(max(secs, 1), maxRetryAfter)
}

// refusal is a gateway error with a Retry-After header.
func refusal(k edge.Kind, cause error, secs int64) *edge.Error {
	return &edge.Error{Kind: k, Cause: cause, Header: http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}}
}

// Stats returns a snapshot of the Limiter's counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.InFlight = l.inFlight
	s.Queued = l.queued
	return s
}
