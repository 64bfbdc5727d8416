package throttle

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redisconn"
	"github.com/portico-dev/portico/internal/throttle/redistest"
)

func newRedis(t *testing.T, srv *redistest.Server, opts RedisOptions) *Redis {
	t.Helper()
	dial := opts.Timeout
	if dial == 0 {
		dial = DefaultRedisTimeout
	}
	r, err := NewRedis(context.Background(), srv.Client(t, dial), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedisTakeAndQuota(t *testing.T) {
	srv := redistest.Start(t)
	clk := newFakeClock(epoch)
	r := newRedis(t, srv, RedisOptions{Now: clk.Now, Timeout: time.Second})
	ctx := context.Background()

	var got []bool
	for range 4 {
		d, err := r.Take(ctx, "fixed", Limit{Rate: 0, Burst: 3})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Allowed)
	}
	if want := []bool{true, true, true, false}; !equalBools(got, want) {
		t.Fatalf("rate 0 burst 3: %v, want %v", got, want)
	}
	if d, _ := r.Take(ctx, "blocked", Limit{}); d.Allowed {
		t.Fatal("rate 0 burst 0 admitted a request")
	}
	r.Take(ctx, "slow", Limit{Rate: 1, Burst: 1})
	d, _ := r.Take(ctx, "slow", Limit{Rate: 1, Burst: 1})
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Second {
		t.Fatalf("empty bucket at 1/s: %+v, want refused with 0 < RetryAfter <= 1s", d)
	}

	wantReset := time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC)
	for i := int64(1); i <= 2; i++ {
		used, ok, reset, err := r.Add(ctx, "key", Day, 2, 1)
		if err != nil || !ok || used != i || !reset.Equal(wantReset) {
			t.Fatalf("add %d: %d %v %v %v", i, used, ok, reset, err)
		}
	}
	if used, ok, _, _ := r.Add(ctx, "key", Day, 2, 1); ok || used != 2 {
		t.Fatalf("over quota: used=%d ok=%v, want 2 false", used, ok)
	}
	if used, reset, err := r.Used(ctx, "key", Day); used != 2 || !reset.Equal(wantReset) || err != nil {
		t.Fatalf("Used = %d %v %v", used, reset, err)
	}
	if used, _, _ := r.Used(ctx, "never", Month); used != 0 {
		t.Fatalf("Used of an unknown key = %d", used)
	}
	clk.Advance(14 * time.Hour)
	if used, ok, _, _ := r.Add(ctx, "key", Day, 2, 1); !ok || used != 1 {
		t.Fatalf("next day: used=%d ok=%v, want 1 true", used, ok)
	}
	// Minute counters: one per minute, distinct from the day's.
	if used, ok, reset, err := r.Add(ctx, "key", Minute, 5, 4); !ok || used != 4 || err != nil || reset.Sub(clk.Now()) > time.Minute {
		t.Fatalf("minute add: used=%d ok=%v reset=%v err=%v", used, ok, reset, err)
	}
	if used, ok, _, _ := r.Add(ctx, "key", Minute, 5, 2); ok || used != 4 {
		t.Fatalf("minute over limit: used=%d ok=%v, want 4 false", used, ok)
	}
	clk.Advance(time.Minute)
	if used, _, _ := r.Used(ctx, "key", Minute); used != 0 {
		t.Fatalf("next minute: used=%d, want 0", used)
	}
	if used, _, _ := r.Used(ctx, "key", Day); used != 1 {
		t.Fatalf("day counter after minute adds: used=%d, want 1", used)
	}
	if _, _, _, err := r.Add(ctx, "key", Period("x"), 2, 1); err == nil {
		t.Fatal("bad period: want an error")
	}
	if _, _, _, err := r.Add(ctx, "key", Day, 2, -3); err == nil {
		t.Fatal("negative count: want an error")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNewRedisBadInput: a bad timeout or no client is refused (a bad URL
// or an unreachable server is redisconn.Dial's, tested there).
func TestNewRedisBadInput(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct {
		name string
		c    *redisconn.Client
		opts RedisOptions
		want string
	}{
		{"negative timeout", srv.Client(t, time.Second), RedisOptions{Timeout: -1}, "timeout -1ns: must be >= 0"},
		{"no client", nil, RedisOptions{}, "no client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRedis(context.Background(), tt.c, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestRedisTwoReplicasShareBudget floods one bucket (50/s, burst 10) from
// two stores, as two Portico replicas would, for 10 s: together they admit
// 510 within 5 %.
func TestRedisTwoReplicasShareBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s real-time flood; skipped with -short")
	}
	srv := redistest.Start(t)
	replicas := []*Redis{
		newRedis(t, srv, RedisOptions{Timeout: time.Second}),
		newRedis(t, srv, RedisOptions{Timeout: time.Second}),
	}
	lim := Limit{Rate: 50, Burst: 10}
	const dur = 10 * time.Second
	var admitted, calls, errs atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first, last time.Time
	deadline := time.Now().Add(dur)
	for _, r := range replicas {
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					d, err := r.Take(context.Background(), "shared", lim)
					calls.Add(1)
					if err != nil {
						errs.Add(1)
						continue
					}
					if d.Allowed {
						now := time.Now()
						mu.Lock()
						if first.IsZero() {
							first = now
						}
						last = now
						mu.Unlock()
						admitted.Add(1)
					}
					time.Sleep(time.Millisecond) // a flood, but leave CPU to the others
				}
			})
		}
	}
	wg.Wait()
	if errs.Load() > 0 {
		t.Fatalf("%d Redis errors", errs.Load())
	}
	got := admitted.Load()
	// The bucket exists from the first admitted request on.
	want := 10 + 50*last.Sub(first).Seconds()
	t.Logf("admitted %d of %d calls; ideal %.0f (510 for exactly 10 s)", got, calls.Load(), want)
	if float64(got) < 510*0.95 || float64(got) > 510*1.05 {
		t.Fatalf("two replicas admitted %d in 10 s, want 510 ± 5%%", got)
	}
}

// TestRedisFailurePolicy kills (or freezes) Redis in the middle of a flood:
// calls return within the timeout, admitted when failing open, refused when
// failing closed, and always with an error wrapping ErrUnavailable.
func TestRedisFailurePolicy(t *testing.T) {
	const timeout = 50 * time.Millisecond
	for _, mode := range []string{"killed", "frozen"} {
		t.Run(mode, func(t *testing.T) {
			srv := redistest.Start(t)
			open := newRedis(t, srv, RedisOptions{FailOpen: true, Timeout: timeout})
			closed := newRedis(t, srv, RedisOptions{FailOpen: false, Timeout: timeout})
			lim := Limit{Rate: 1000, Burst: 1000}
			var broken atomic.Bool
			var slowest atomic.Int64
			var wrong, unbounded atomic.Int64
			var afterBreak atomic.Int64
			var wg sync.WaitGroup
			stop := time.Now().Add(600 * time.Millisecond)
			for i, r := range []*Redis{open, closed, open, closed} {
				wg.Go(func() {
					for time.Now().Before(stop) {
						wasBroken := broken.Load()
						start := time.Now()
						d, err := r.Take(context.Background(), "k", lim)
						mid := time.Now()
						_, ok, _, qerr := r.Add(context.Background(), "k", Day, -1, 1)
						for _, el := range []time.Duration{mid.Sub(start), time.Since(mid)} {
							if int64(el) > slowest.Load() {
								slowest.Store(int64(el))
							}
						}
						if !wasBroken {
							continue
						}
						afterBreak.Add(1)
						failOpen := i%2 == 0
						if err == nil || !errors.Is(err, ErrUnavailable) || qerr == nil || !errors.Is(qerr, ErrUnavailable) {
							wrong.Add(1)
							continue
						}
						if d.Allowed != failOpen || ok != failOpen {
							wrong.Add(1)
						}
						// A frozen server never answers: each call ends
						// because its timeout fired, whatever the machine's
						// speed.
						if mode == "frozen" && (!timedOut(err) || !timedOut(qerr)) {
							unbounded.Add(1)
						}
					}
				})
			}
			time.Sleep(150 * time.Millisecond)
			if mode == "killed" {
				srv.Kill()
			} else {
				srv.Pause()
			}
			broken.Store(true)
			wg.Wait()
			if mode == "frozen" {
				srv.Resume()
			}
			if afterBreak.Load() == 0 {
				t.Fatal("no call made after Redis broke")
			}
			if wrong.Load() > 0 {
				t.Fatalf("%d of %d calls after Redis broke ignored the policy", wrong.Load(), afterBreak.Load())
			}
			if n := unbounded.Load(); n > 0 {
				t.Fatalf("%d calls to a frozen Redis did not end by their timeout", n)
			}
			t.Logf("%d calls after %s Redis, slowest %v", afterBreak.Load(), mode, time.Duration(slowest.Load()))
		})
	}
}

// timedOut reports whether err ended a call by its timeout (the context's
// deadline, or the connection's read or write deadline).
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
