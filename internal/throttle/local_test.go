package throttle

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
)

// fakeClock is a clock tests move by hand; safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var epoch = time.Date(2025, 3, 12, 10, 0, 0, 0, time.UTC) // a Wednesday

func TestLocalTake(t *testing.T) {
	type step struct {
		advance   time.Duration
		wantOK    bool
		wantRetry time.Duration
	}
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"burst then refill", Limit{Rate: 2, Burst: 2}, []step{
			{0, true, 0}, {0, true, 0}, {0, false, 500 * time.Millisecond},
			{250 * time.Millisecond, false, 250 * time.Millisecond},
			{250 * time.Millisecond, true, 0}, {0, false, 500 * time.Millisecond},
			{10 * time.Second, true, 0}, {0, true, 0}, {0, false, 500 * time.Millisecond},
		}},
		{"zero blocks all", Limit{Rate: 0, Burst: 0}, []step{
			{0, false, 0}, {time.Hour, false, 0},
		}},
		{"burst zero blocks whatever the rate", Limit{Rate: 100, Burst: 0}, []step{
			{0, false, 0}, {time.Second, false, 0},
		}},
		{"rate zero admits the burst once", Limit{Rate: 0, Burst: 2}, []step{
			{0, true, 0}, {0, true, 0}, {time.Hour, false, 0},
		}},
		{"fractional rate", Limit{Rate: 0.5, Burst: 1}, []step{
			{0, true, 0}, {time.Second, false, time.Second}, {time.Second, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(epoch)
			l := NewLocal(clk.Now)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				d, err := l.Take(context.Background(), "k", tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != s.wantOK || d.RetryAfter != s.wantRetry {
					t.Fatalf("step %d: got %+v, want allowed=%v retry=%v", i, d, s.wantOK, s.wantRetry)
				}
			}
		})
	}
}

func TestLocalLimitChangeCapsTokens(t *testing.T) {
	clk := newFakeClock(epoch)
	l := NewLocal(clk.Now)
	ctx := context.Background()
	l.Take(ctx, "k", Limit{Rate: 1, Burst: 100})
	admitted := 0
	for range 10 {
		if d, _ := l.Take(ctx, "k", Limit{Rate: 1, Burst: 3}); d.Allowed {
			admitted++
		}
	}
	if admitted != 3 {
		t.Fatalf("admitted %d after lowering burst to 3, want 3", admitted)
	}
}

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		name    string
		limit   Limit
		wantErr bool
	}{
		{"ok", Limit{Rate: 50, Burst: 10}, false},
		{"zero", Limit{}, false},
		{"negative rate", Limit{Rate: -1, Burst: 1}, true},
		{"negative burst", Limit{Rate: 1, Burst: -1}, true},
		{"NaN rate", Limit{Rate: nan(), Burst: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.limit.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in      string
		want    Period
		wantErr bool
	}{
		{"DAY", Day, false}, {"WEEK", Week, false}, {"MONTH", Month, false},
		{"day", "", true}, {"", "", true}, {"YEAR", "", true},
		{"MINUTE", "", true}, // Portico's token-limit window, not a usage-plan quota period
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePeriod(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("ParsePeriod(%q) = %q, %v; want %q, wantErr %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPeriodWindow(t *testing.T) {
	d := func(y int, m time.Month, day, h int) time.Time { return time.Date(y, m, day, h, 0, 0, 0, time.UTC) }
	plus5 := time.FixedZone("UTC+5", 5*3600)
	tests := []struct {
		name       string
		p          Period
		t          time.Time
		start, end time.Time
	}{
		{"day", Day, d(2025, 3, 12, 10), d(2025, 3, 12, 0), d(2025, 3, 13, 0)},
		{"day in another zone is UTC", Day, time.Date(2025, 3, 13, 2, 0, 0, 0, plus5), d(2025, 3, 12, 0), d(2025, 3, 13, 0)},
		{"week from wednesday", Week, d(2025, 3, 12, 10), d(2025, 3, 9, 0), d(2025, 3, 16, 0)},
		{"week on sunday", Week, d(2025, 3, 9, 0), d(2025, 3, 9, 0), d(2025, 3, 16, 0)},
		{"week on saturday night", Week, d(2025, 3, 15, 23), d(2025, 3, 9, 0), d(2025, 3, 16, 0)},
		{"month", Month, d(2025, 2, 28, 23), d(2025, 2, 1, 0), d(2025, 3, 1, 0)},
		{"december", Month, d(2025, 12, 31, 23), d(2025, 12, 1, 0), d(2026, 1, 1, 0)},
		{"minute", Minute, time.Date(2025, 3, 12, 10, 4, 59, 999, time.UTC), time.Date(2025, 3, 12, 10, 4, 0, 0, time.UTC), time.Date(2025, 3, 12, 10, 5, 0, 0, time.UTC)},
		{"minute on the second", Minute, time.Date(2025, 3, 12, 10, 5, 0, 0, time.UTC), time.Date(2025, 3, 12, 10, 5, 0, 0, time.UTC), time.Date(2025, 3, 12, 10, 6, 0, 0, time.UTC)},
		{"minute in another zone is UTC", Minute, time.Date(2025, 3, 12, 15, 34, 30, 0, time.FixedZone("UTC+5:30", 5*3600+1800)), time.Date(2025, 3, 12, 10, 4, 0, 0, time.UTC), time.Date(2025, 3, 12, 10, 5, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, e, err := tt.p.Window(tt.t)
			if err != nil || !s.Equal(tt.start) || !e.Equal(tt.end) {
				t.Fatalf("Window = %v, %v, %v; want %v, %v", s, e, err, tt.start, tt.end)
			}
		})
	}
	if _, _, err := Period("YEAR").Window(epoch); err == nil {
		t.Fatal("Window of an unknown period: want an error")
	}
}

// TestLocalFloodFakeClock: with rate 50/s and burst 10, many goroutines
// hammering one bucket for 10 simulated seconds get 10 + 50*10 = 510 tokens.
func TestLocalFloodFakeClock(t *testing.T) {
	clk := newFakeClock(epoch)
	l := NewLocal(clk.Now)
	lim := Limit{Rate: 50, Burst: 10}
	var admitted atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				if d, _ := l.Take(context.Background(), "flood", lim); d.Allowed {
					admitted.Add(1)
				}
			}
		})
	}
	for range 10000 { // 10 s in 1 ms steps
		clk.Advance(time.Millisecond)
		if d, _ := l.Take(context.Background(), "flood", lim); d.Allowed {
			admitted.Add(1)
		}
	}
	stop.Store(true)
	wg.Wait()
	got := admitted.Load()
	if got < 500 || got > 520 { // 510 ± 2 %
		t.Fatalf("admitted %d in a 10 s flood, want 510 ± 2%%", got)
	}
	t.Logf("admitted %d (ideal 510)", got)
}

func TestLocalEviction(t *testing.T) {
	clk := newFakeClock(epoch)
	l := NewLocal(clk.Now)
	ctx := context.Background()
	count := func() (n int) {
		l.buckets.Range(func(any, any) bool { n++; return true })
		return n
	}
	l.Take(ctx, "idle", Limit{Rate: 10, Burst: 5})
	l.Take(ctx, "busy", Limit{Rate: 0.001, Burst: 5}) // takes ~17 min to refill
	l.Take(ctx, "frozen", Limit{Rate: 0, Burst: 5})   // never refills
	l.Add(ctx, "q", Day, 10, 1)
	clk.Advance(sweepEvery)
	l.Take(ctx, "trigger", Limit{Rate: 10, Burst: 5}) // runs the sweep
	if _, ok := l.buckets.Load("idle"); ok {
		t.Error("full bucket not evicted")
	}
	for _, k := range []string{"busy", "frozen", "trigger"} {
		if _, ok := l.buckets.Load(k); !ok {
			t.Errorf("bucket %q evicted before it refilled", k)
		}
	}
	if n := count(); n != 3 {
		t.Errorf("%d buckets after sweep, want 3", n)
	}
	// A busy bucket keeps its state: its 4 remaining tokens are still there.
	got := 0
	for range 10 {
		if d, _ := l.Take(ctx, "busy", Limit{Rate: 0.001, Burst: 5}); d.Allowed {
			got++
		}
	}
	if got != 4 {
		t.Errorf("busy bucket admitted %d after sweep, want 4", got)
	}
	clk.Advance(24 * time.Hour)
	l.Take(ctx, "trigger", Limit{Rate: 10, Burst: 5})
	if _, ok := l.quotas.Load(quotaKey{"q", Day}); ok {
		t.Error("ended quota window not evicted")
	}
	if used, _, _ := l.Used(ctx, "q", Day); used != 0 {
		t.Errorf("used %d in a new window, want 0", used)
	}
}

func TestLocalQuota(t *testing.T) {
	clk := newFakeClock(epoch)
	l := NewLocal(clk.Now)
	ctx := context.Background()
	wantReset := time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC)
	for i := int64(1); i <= 3; i++ {
		used, ok, reset, err := l.Add(ctx, "k", Day, 3, 1)
		if err != nil || !ok || used != i || !reset.Equal(wantReset) {
			t.Fatalf("add %d: used=%d ok=%v reset=%v err=%v", i, used, ok, reset, err)
		}
	}
	used, ok, _, _ := l.Add(ctx, "k", Day, 3, 1)
	if ok || used != 3 {
		t.Fatalf("over the limit: used=%d ok=%v, want 3 false (refusals are not counted)", used, ok)
	}
	if u, reset, _ := l.Used(ctx, "k", Day); u != 3 || !reset.Equal(wantReset) {
		t.Fatalf("Used = %d, %v", u, reset)
	}
	if u, _, _ := l.Used(ctx, "k", Week); u != 0 {
		t.Fatalf("WEEK counter shares the DAY one: %d", u)
	}
	clk.Advance(14 * time.Hour) // 00:00 next day
	if used, ok, _, _ := l.Add(ctx, "k", Day, 3, 1); !ok || used != 1 {
		t.Fatalf("after reset: used=%d ok=%v, want 1 true", used, ok)
	}
	if used, ok, _, _ := l.Add(ctx, "unlimited", Month, -1, 1000); !ok || used != 1000 {
		t.Fatalf("unlimited: used=%d ok=%v", used, ok)
	}
	if _, _, _, err := l.Add(ctx, "k", Period("YEAR"), 3, 1); err == nil {
		t.Fatal("Add with a bad period: want an error")
	}
	if _, _, _, err := l.Add(ctx, "k", Day, 3, -1); err == nil {
		t.Fatal("Add of a negative count: want an error")
	}
	if _, _, err := l.Used(ctx, "k", Period("")); err == nil {
		t.Fatal("Used with a bad period: want an error")
	}
}

func TestRefusal(t *testing.T) {
	down := errors.New("down")
	tests := []struct {
		name       string
		d          Decision
		err        error
		retryAfter bool
		wantKind   edge.Kind // -1: nil
		wantHeader string
	}{
		{"allowed", Decision{Allowed: true}, nil, false, -1, ""},
		{"fail open", Decision{Allowed: true}, down, false, -1, ""},
		{"fail closed", Decision{}, down, false, edge.ServiceUnavailable, ""},
		{"throttled", Decision{RetryAfter: 1500 * time.Millisecond}, nil, false, edge.TooManyRequests, ""},
		{"throttled with header", Decision{RetryAfter: 1500 * time.Millisecond}, nil, true, edge.TooManyRequests, "2"},
		{"throttled, retry unknown", Decision{}, nil, true, edge.TooManyRequests, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Refusal(tt.d, tt.err, tt.retryAfter)
			if tt.wantKind == -1 {
				if err != nil {
					t.Fatalf("Refusal = %v, want nil", err)
				}
				return
			}
			e := edge.As(err)
			if e.Kind != tt.wantKind || e.Header.Get("Retry-After") != tt.wantHeader {
				t.Fatalf("Refusal = kind %v header %q, want %v %q", e.Kind, e.Header.Get("Retry-After"), tt.wantKind, tt.wantHeader)
			}
			if tt.wantKind == edge.TooManyRequests && e.Kind.Status() != http.StatusTooManyRequests {
				t.Fatal("status")
			}
		})
	}
}

func BenchmarkLocalTake(b *testing.B) {
	l := NewLocal(nil)
	ctx := context.Background()
	lim := Limit{Rate: 1e9, Burst: 1 << 30}
	for b.Loop() {
		l.Take(ctx, "route:GET /pets", lim)
	}
}

func BenchmarkLocalTakeParallelSameKey(b *testing.B) {
	l := NewLocal(nil)
	lim := Limit{Rate: 1e9, Burst: 1 << 30}
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			l.Take(ctx, "account", lim)
		}
	})
}

func BenchmarkLocalTakeParallelKeys(b *testing.B) {
	l := NewLocal(nil)
	lim := Limit{Rate: 1e9, Burst: 1 << 30}
	var id atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		key := "route:" + strconv.FormatInt(id.Add(1), 10)
		for pb.Next() {
			l.Take(ctx, key, lim)
		}
	})
}
