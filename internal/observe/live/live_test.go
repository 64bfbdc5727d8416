package live

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/observe"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRecent(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		observed int
		ask      int
		want     []string
	}{
		{name: "empty", size: 3, observed: 0, ask: 5, want: nil},
		{name: "fewer than the ring", size: 3, observed: 2, ask: 5, want: []string{"r1", "r0"}},
		{name: "wrapped", size: 3, observed: 5, ask: 5, want: []string{"r4", "r3", "r2"}},
		{name: "asked for fewer", size: 3, observed: 5, ask: 2, want: []string{"r4", "r3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1000, 0)}
			l := New(Config{Requests: tt.size, Now: clk.Now})
			for i := range tt.observed {
				l.Observe(&observe.Record{RequestID: fmt.Sprintf("r%d", i), Time: clk.Now(), Status: 200, RouteKey: "GET /"})
			}
			got := l.Recent(tt.ask)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d requests, want %d", len(got), len(tt.want))
			}
			for i, r := range got {
				if r.RequestID != tt.want[i] {
					t.Errorf("request %d = %s, want %s", i, r.RequestID, tt.want[i])
				}
			}
		})
	}
}

func TestSeries(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := New(Config{Window: 10 * time.Second, Now: clk.Now})
	obs := func(route string, status int, lat time.Duration) {
		l.Observe(&observe.Record{APIID: "a1", APIName: "shop", Stage: "$default", RouteKey: route,
			Time: clk.Now(), Status: status, ResponseLatency: lat})
	}
	for i := range 100 {
		obs("GET /items", 200, time.Duration(i+1)*time.Millisecond)
	}
	obs("GET /items", 404, time.Millisecond)
	obs("GET /items", 502, time.Millisecond)
	clk.Add(2 * time.Second)
	obs("POST /items", 201, 3*time.Millisecond)

	got := l.Series(5 * time.Second)
	if len(got) != 2 {
		t.Fatalf("got %d series, want 2", len(got))
	}
	items := got[0]
	if items.RouteKey != "GET /items" || items.APIName != "shop" || len(items.Points) != 5 {
		t.Fatalf("first series = %+v", items.RouteID)
	}
	p := items.Points[2] // second 1000 of 998..1002
	if !p.Time.Equal(time.Unix(1000, 0)) {
		t.Fatalf("point time = %v", p.Time.Unix())
	}
	tests := []struct {
		name string
		got  int
		want int
	}{
		{name: "requests", got: p.Requests, want: 102},
		{name: "4xx", got: p.Errors4xx, want: 1},
		{name: "5xx", got: p.Errors5xx, want: 1},
		{name: "empty second", got: items.Points[3].Requests, want: 0},
		{name: "other route", got: got[1].Points[4].Requests, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
	// Percentiles are estimates within a bucket (25% wide).
	within := func(name string, got, want time.Duration) {
		if float64(got) < float64(want)*0.75 || float64(got) > float64(want)*1.25 {
			t.Errorf("%s = %v, want about %v", name, got, want)
		}
	}
	within("p50", p.P50, 50*time.Millisecond)
	within("p90", p.P90, 90*time.Millisecond)
	within("p99", p.P99, 98*time.Millisecond)

	// A second slot reused after the window holds only the new second.
	clk.Add(10 * time.Second)
	obs("GET /items", 200, time.Millisecond)
	got = l.Series(10 * time.Second)
	total := 0
	for _, p := range got[0].Points {
		total += p.Requests
	}
	if total != 1 {
		t.Errorf("after the window: %d requests, want 1", total)
	}
}

func TestBucketOf(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want int
	}{
		{name: "zero", d: 0, want: 0},
		{name: "negative", d: -time.Second, want: 0},
		{name: "minimum", d: minLatency, want: 0},
		{name: "huge", d: time.Hour, want: numBuckets - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bucketOf(tt.d); got != tt.want {
				t.Errorf("bucketOf(%v) = %d, want %d", tt.d, got, tt.want)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	l := New(Config{Requests: 16})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				l.Observe(&observe.Record{RequestID: fmt.Sprint(g, i), RouteKey: fmt.Sprint("GET /", i%3), Status: 200})
				if i%50 == 0 {
					l.Recent(16)
					l.Series(time.Minute)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(l.Recent(100)); n != 16 {
		t.Errorf("recent = %d, want 16", n)
	}
	total := 0
	for _, s := range l.Series(time.Minute) {
		for _, p := range s.Points {
			total += p.Requests
		}
	}
	if total != 2000 {
		t.Errorf("series total = %d, want 2000", total)
	}
}

func BenchmarkObserve(b *testing.B) {
	l := New(Config{})
	r := &observe.Record{RequestID: "abc", APIID: "a1", Stage: "$default", RouteKey: "GET /items",
		Status: 200, ResponseLatency: 3 * time.Millisecond, Time: time.Now()}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Observe(r)
		}
	})
}
