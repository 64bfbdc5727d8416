package queue

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
)

func newLimiter(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fakeClock is a manual clock for service-time estimates.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// waitFor polls cond (state reached by other goroutines) for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustAcquire(t *testing.T, l *Limiter) func() {
	t.Helper()
	release, _, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return release
}

// wantRefusal checks an Acquire error: edge kind, cause and Retry-After.
func wantRefusal(t *testing.T, err error, kind edge.Kind, cause error, retryAfter string) {
	t.Helper()
	var e *edge.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Fatalf("err = %v, want an edge error of kind %d", err, kind)
	}
	if !errors.Is(err, cause) {
		t.Errorf("err = %v, want cause %v", err, cause)
	}
	if got := e.Header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "ok", cfg: Config{MaxConcurrency: 1}},
		{name: "ok queue", cfg: Config{MaxConcurrency: 4, MaxQueue: 100, QueueTimeout: time.Second}},
		{name: "zero concurrency", cfg: Config{}, wantErr: "maxConcurrency 0"},
		{name: "negative concurrency", cfg: Config{MaxConcurrency: -1}, wantErr: "maxConcurrency -1"},
		{name: "huge concurrency", cfg: Config{MaxConcurrency: MaxMaxConcurrency + 1}, wantErr: "maxConcurrency"},
		{name: "negative queue", cfg: Config{MaxConcurrency: 1, MaxQueue: -1}, wantErr: "maxQueue -1"},
		{name: "huge queue", cfg: Config{MaxConcurrency: 1, MaxQueue: MaxMaxQueue + 1}, wantErr: "maxQueue"},
		{name: "negative timeout", cfg: Config{MaxConcurrency: 1, QueueTimeout: -time.Second}, wantErr: "queueTimeout"},
		{name: "all at once", cfg: Config{MaxQueue: -1, QueueTimeout: -1}, wantErr: "maxQueue -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || l == nil {
					t.Fatalf("New = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFIFOUnderContention(t *testing.T) {
	const n = 8
	l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: n})
	hold := mustAcquire(t, l)
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, _, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			release()
		}()
		// Enqueue one at a time so that arrival order is known.
		waitFor(t, "waiter to queue", func() bool { return l.Stats().Queued == i+1 })
	}
	// A newcomer while the queue is non-empty must not overtake it even
	// when a slot frees: it queues behind.
	hold()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("admission order %v, want 0..%d", order, n-1)
		}
	}
	if s := l.Stats(); s.InFlight != 0 || s.Queued != 0 || s.Admitted != n+1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestNoOvertaking: a freed slot goes to the oldest waiter, never to a
// request that arrives at the same moment.
func TestNoOvertaking(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: 1})
	hold := mustAcquire(t, l)
	admitted := make(chan func(), 1)
	go func() {
		release, _, err := l.Acquire(context.Background())
		if err != nil {
			t.Error(err)
			release = func() {}
		}
		admitted <- release
	}()
	waitFor(t, "waiter to queue", func() bool { return l.Stats().Queued == 1 })
	hold()
	release := <-admitted
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if r, _, err := l.Acquire(ctx); err == nil {
		r()
		t.Fatal("newcomer admitted while the waiter holds the only slot")
	}
	release()
	if s := l.Stats(); s.InFlight != 0 || s.Admitted != 2 || s.TimedOut != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestQueueFull(t *testing.T) {
	tests := []struct {
		name     string
		maxQueue int
	}{
		{name: "no queue", maxQueue: 0},
		{name: "queue of two", maxQueue: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: tt.maxQueue})
			hold := mustAcquire(t, l)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i := range tt.maxQueue {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l.Acquire(ctx)
				}()
				waitFor(t, "waiter to queue", func() bool { return l.Stats().Queued == i+1 })
			}
			release, waited, err := l.Acquire(context.Background())
			if release != nil || waited != 0 {
				t.Errorf("refusal returned release %v, waited %v", release != nil, waited)
			}
			wantRefusal(t, err, edge.TooManyRequests, ErrFull, "1")
			if s := l.Stats(); s.Rejected != 1 || s.Queued != tt.maxQueue || s.InFlight != 1 {
				t.Errorf("stats %+v", s)
			}
			cancel()
			wg.Wait()
			hold()
		})
	}
}

func TestQueueTimeout(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: 1, QueueTimeout: 30 * time.Millisecond})
	hold := mustAcquire(t, l)
	defer hold()
	release, waited, err := l.Acquire(context.Background())
	if release != nil {
		t.Fatal("timed-out Acquire returned a release")
	}
	wantRefusal(t, err, edge.ServiceUnavailable, ErrTimeout, "1")
	if waited < 30*time.Millisecond {
		t.Errorf("waited %v, want at least the queue timeout", waited)
	}
	if s := l.Stats(); s.TimedOut != 1 || s.Queued != 0 || s.InFlight != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestContextDeadlineWhileQueued(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: 1, QueueTimeout: time.Hour})
	hold := mustAcquire(t, l)
	defer hold()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := l.Acquire(ctx)
	wantRefusal(t, err, edge.ServiceUnavailable, ErrTimeout, "1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap the deadline", err)
	}
}

func TestCancelRemovesWaiter(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 1, MaxQueue: 2})
	hold := mustAcquire(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() {
		_, _, err := l.Acquire(ctx)
		errA <- err
	}()
	waitFor(t, "A to queue", func() bool { return l.Stats().Queued == 1 })
	admittedB := make(chan func(), 1)
	go func() {
		release, _, err := l.Acquire(context.Background())
		if err != nil {
			t.Error(err)
			release = func() {}
		}
		admittedB <- release
	}()
	waitFor(t, "B to queue", func() bool { return l.Stats().Queued == 2 })
	cancel()
	err := <-errA
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("A: err = %v, want context.Canceled", err)
	}
	var e *edge.Error
	if errors.As(err, &e) {
		t.Fatalf("A: a client that went away got an edge error %v", e)
	}
	if s := l.Stats(); s.Queued != 1 || s.Cancelled != 1 {
		t.Fatalf("stats after cancel %+v", s)
	}
	hold()
	(<-admittedB)()
	if s := l.Stats(); s.InFlight != 0 || s.Queued != 0 || s.Admitted != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestReleaseTwiceIsHarmless(t *testing.T) {
	l := newLimiter(t, Config{MaxConcurrency: 2})
	a, b := mustAcquire(t, l), mustAcquire(t, l)
	a()
	a()
	if s := l.Stats(); s.InFlight != 1 {
		t.Fatalf("in flight %d after one request released twice, want 1", s.InFlight)
	}
	b()
}

func TestRetryAfterEstimate(t *testing.T) {
	var clk fakeClock
	clk.advance(time.Hour)
	l := newLimiter(t, Config{MaxConcurrency: 2, MaxQueue: 3, Now: clk.now})
	// One request served in 10 s sets the service-time estimate.
	r := mustAcquire(t, l)
	clk.advance(10 * time.Second)
	r()
	holds := []func(){mustAcquire(t, l), mustAcquire(t, l)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); l.Acquire(ctx) }()
		waitFor(t, "waiter to queue", func() bool { return l.Stats().Queued == i+1 })
	}
	// Position 4 (3 queued + us) at 2 in parallel: 2 rounds of 10 s.
	_, _, err := l.Acquire(context.Background())
	wantRefusal(t, err, edge.TooManyRequests, ErrFull, "20")
	cancel()
	wg.Wait()
	for _, h := range holds {
		h()
	}
}

// TestFlood refuses 100 000 acquisitions beyond a full queue and checks
// that they leave no memory behind and every one is counted.
func TestFlood(t *testing.T) {
	const flood, workers = 100_000, 4
	l := newLimiter(t, Config{MaxConcurrency: 2, MaxQueue: 16})
	holds := []func(){mustAcquire(t, l), mustAcquire(t, l)}
	ctx, cancel := context.WithCancel(context.Background())
	var queued sync.WaitGroup
	for range 16 {
		queued.Add(1)
		go func() { defer queued.Done(); l.Acquire(ctx) }()
	}
	waitFor(t, "queue to fill", func() bool { return l.Stats().Queued == 16 })

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range flood / workers {
				_, _, err := l.Acquire(context.Background())
				if e := edge.As(err); e.Kind != edge.TooManyRequests || e.Header.Get("Retry-After") == "" {
					wrong.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d of %d flood requests not refused with 429 and Retry-After", n, flood)
	}
	if growth := int64(after.HeapAlloc) - int64(before.HeapAlloc); growth > 1<<20 {
		t.Errorf("heap grew by %d bytes over the flood, want < 1 MiB", growth)
	}
	s := l.Stats()
	if s.Rejected != flood || s.Queued != 16 || s.InFlight != 2 {
		t.Errorf("stats %+v", s)
	}
	cancel()
	queued.Wait()
	for _, h := range holds {
		h()
	}
	if s := l.Stats(); s.InFlight != 0 || s.Queued != 0 || s.Cancelled != 16 {
		t.Errorf("stats after the flood %+v", s)
	}
}

// TestInvariantsUnderChurn mixes admissions, timeouts and cancellations
// (run it with -race) and checks that every request is accounted for and
// no slot leaks.
func TestInvariantsUnderChurn(t *testing.T) {
	const workers, each = 8, 150
	l := newLimiter(t, Config{MaxConcurrency: 2, MaxQueue: 4, QueueTimeout: 2 * time.Millisecond})
	var maxSeen atomic.Int64
	var inside atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration((w+i)%3)*time.Millisecond+500*time.Microsecond)
				release, _, err := l.Acquire(ctx)
				if err == nil {
					n := inside.Add(1)
					for m := maxSeen.Load(); n > m && !maxSeen.CompareAndSwap(m, n); m = maxSeen.Load() {
					}
					if i%4 == 0 {
						time.Sleep(100 * time.Microsecond)
					}
					inside.Add(-1)
					release()
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	s := l.Stats()
	if s.InFlight != 0 || s.Queued != 0 {
		t.Fatalf("slots leaked: %+v", s)
	}
	if total := s.Admitted + s.Rejected + s.TimedOut + s.Cancelled; total != workers*each {
		t.Fatalf("accounted for %d requests of %d: %+v", total, workers*each, s)
	}
	if m := maxSeen.Load(); m > 2 {
		t.Fatalf("%d requests in flight at once, want at most 2", m)
	}
}

func BenchmarkAcquireUncontended(b *testing.B) {
	l := newLimiter(b, Config{MaxConcurrency: 1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		release, _, err := l.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

func BenchmarkAcquireContended(b *testing.B) {
	l := newLimiter(b, Config{MaxConcurrency: 2, MaxQueue: MaxMaxQueue, QueueTimeout: time.Hour})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, _, err := l.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			release()
		}
	})
}
