package throttle

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// sweepEvery is how often a Local store looks for idle buckets and ended
// quota windows to forget.
const sweepEvery = time.Minute

// Local is an in-process Store: one small mutex-protected bucket per key in a
// sync.Map, so requests on different keys never contend. A bucket that has
// refilled completely is indistinguishable from a new one and is evicted by
// a sweep that runs at most once a minute, inline in a call; quota counters
// are evicted once their window has ended. Local is safe for concurrent use
// and never returns an error from Take.
type Local struct {
	now       func() time.Time
	base      time.Time // durations are measured from base (monotonic with time.Now)
	buckets   sync.Map  // string -> *bucket
	quotas    sync.Map  // quotaKey -> *counter
	nextSweep atomic.Int64
}

var _ Store = (*Local)(nil)

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Duration // since Local.base
	rate   float64
	burst  float64
	dead   bool // evicted: callers holding it must look the key up again
}

type quotaKey struct {
	key    string
	period Period
}

type counter struct {
	mu    sync.Mutex
	start time.Time // window start; a different window resets used
	reset time.Time
	used  int64
	dead  bool // evicted: callers holding it must look the key up again
}

// NewLocal returns an empty in-memory store reading time from now (nil means
// time.Now).
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	l := &Local{now: now, base: now()}
	l.nextSweep.Store(int64(sweepEvery))
	return l
}

// Take implements Store. It does not block on anything but the key's own
// mutex and ignores ctx.
func (l *Local) Take(_ context.Context, key string, lim Limit) (Decision, error) {
	now := l.now().Sub(l.base)
	if int64(now) >= l.nextSweep.Load() {
		l.maybeSweep(now)
	}
	burst := float64(lim.Burst)
	for {
		v, ok := l.buckets.Load(key)
		if !ok {
			v, _ = l.buckets.LoadOrStore(key, &bucket{tokens: burst, last: now, rate: lim.Rate, burst: burst})
		}
		b := v.(*bucket)
		b.mu.Lock()
		if b.dead {
			b.mu.Unlock()
			continue
		}
		d := b.take(now, lim.Rate, burst)
		b.mu.Unlock()
		return d, nil
	}
}

// take refills b up to now and takes a token; b.mu is held.
func (b *bucket) take(now time.Duration, rate, burst float64) Decision {
	b.rate, b.burst = rate, burst
	if el := now - b.last; el > 0 {
		b.tokens += el.Seconds() * rate
		b.last = now
	}
	if b.tokens > burst {
		b.tokens = burst
	}
	if b.tokens >= 1 {
		b.tokens--
		return Decision{Allowed: true}
	}
	if rate <= 0 || burst < 1 {
		return Decision{}
	}
	return Decision{RetryAfter: time.Duration((1 - b.tokens) / rate * float64(time.Second))}
}

// idle reports whether b is full again at now (so forgetting it changes
// nothing); b.mu is held.
func (b *bucket) idle(now time.Duration) bool {
	if b.tokens >= b.burst {
		return true
	}
	return b.rate > 0 && b.tokens+(now-b.last).Seconds()*b.rate >= b.burst
}

func (l *Local) maybeSweep(now time.Duration) {
	next := l.nextSweep.Load()
	if int64(now) < next || !l.nextSweep.CompareAndSwap(next, int64(now+sweepEvery)) {
		return
	}
	l.sweep(now)
}

// sweep forgets full buckets and ended quota windows.
func (l *Local) sweep(now time.Duration) {
	l.buckets.Range(func(k, v any) bool {
		b := v.(*bucket)
		b.mu.Lock()
		if b.idle(now) {
			b.dead = true
			l.buckets.CompareAndDelete(k, b)
		}
		b.mu.Unlock()
		return true
	})
	wall := l.base.Add(now)
	l.quotas.Range(func(k, v any) bool {
		c := v.(*counter)
		c.mu.Lock()
		if !wall.Before(c.reset) {
			c.dead = true
			l.quotas.CompareAndDelete(k, c)
		}
		c.mu.Unlock()
		return true
	})
}

// Add implements Store.
func (l *Local) Add(_ context.Context, key string, period Period, limit, n int64) (int64, bool, time.Time, error) {
	if n < 0 {
		return 0, false, time.Time{}, fmt.Errorf("quota %s: add %d: must be >= 0", key, n)
	}
	now := l.now()
	start, reset, err := period.Window(now)
	if err != nil {
		return 0, false, time.Time{}, err
	}
	if d := now.Sub(l.base); int64(d) >= l.nextSweep.Load() {
		l.maybeSweep(d)
	}
	c := l.counter(key, period)
	c.mu.Lock()
	for c.dead {
		c.mu.Unlock()
		c = l.counter(key, period)
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	if !c.start.Equal(start) {
		c.start, c.reset, c.used = start, reset, 0
	}
	if limit >= 0 && c.used+n > limit {
		return c.used, false, reset, nil
	}
	c.used += n
	return c.used, true, reset, nil
}

func (l *Local) counter(key string, period Period) *counter {
	k := quotaKey{key, period}
	if v, ok := l.quotas.Load(k); ok {
		return v.(*counter)
	}
	v, _ := l.quotas.LoadOrStore(k, &counter{})
	return v.(*counter)
}

// Used implements Store.
func (l *Local) Used(_ context.Context, key string, period Period) (int64, time.Time, error) {
	start, reset, err := period.Window(l.now())
	if err != nil {
		return 0, time.Time{}, err
	}
	v, ok := l.quotas.Load(quotaKey{key, period})
	if !ok {
		return 0, reset, nil
	}
	c := v.(*counter)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.start.Equal(start) {
		return 0, reset, nil
	}
	return c.used, reset, nil
}
