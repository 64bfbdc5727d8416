package openai

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/openai/openaitest"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
	"github.com/portico-dev/portico/internal/throttle/redistest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Each chat request to the fake server uses 4 prompt + 5 completion tokens.
const oneRequest = 9

func TestTokenLimits(t *testing.T) {
	testTokenLimits(t, func(now func() time.Time) throttle.Store { return throttle.NewLocal(now) })
}

func TestTokenLimitsRedis(t *testing.T) {
	srv := redistest.Start(t)
	testTokenLimits(t, func(now func() time.Time) throttle.Store {
		r, err := throttle.NewRedis(context.Background(), srv.Client(t, time.Second), throttle.RedisOptions{Now: now, Timeout: time.Second, Prefix: "t" + time.Now().Format("150405.000000") + ":"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

func testTokenLimits(t *testing.T, newStore func(now func() time.Time) throttle.Store) {
	base := time.Date(2025, 3, 12, 23, 58, 30, 0, time.UTC)
	type step struct {
		at        time.Duration // since base
		key       string
		wantRetry int // 0: allowed; else 429 with this Retry-After
	}
	tests := []struct {
		name  string
		route TokenLimit
		keys  map[string]TokenLimit
		steps []step
	}{
		{"route per minute", TokenLimit{PerMinute: 10}, nil, []step{
			{0, "", 0}, {0, "a", 0}, // 9 < 10: the second crosses the limit and completes
			{time.Second, "b", 29}, {29 * time.Second, "", 1},
			{30 * time.Second, "", 0}, // the next minute
		}},
		{"key per minute, others unaffected", TokenLimit{}, map[string]TokenLimit{"alice": {PerMinute: 9}}, []step{
			{0, "alice", 0}, {0, "alice", 30}, {0, "bob", 0}, {0, "", 0},
			{time.Minute, "alice", 0},
		}},
		{"key per day", TokenLimit{}, map[string]TokenLimit{"alice": {PerMinute: 100, PerDay: 18}}, []step{
			{0, "alice", 0}, {0, "alice", 0}, {0, "alice", 90}, // until midnight UTC
			{time.Minute, "alice", 30},
			{90 * time.Second, "alice", 0}, // the next day
		}},
		{"route per day", TokenLimit{PerDay: 5}, nil, []step{
			{0, "", 0}, {0, "x", 90}, {90 * time.Second, "", 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: base}
			srv := openaitest.Start(t, openaitest.Options{})
			lim := Limits{Store: newStore(clk.Now), Route: tt.route, RouteID: "api/v1/POST /chat"}
			if tt.keys != nil {
				lim.APIKey = func(_ context.Context, name string) (TokenLimit, error) { return tt.keys[name], nil }
			}
			integ := Wrap(Config{Limits: lim, Now: clk.Now}, forward(srv.URL))
			for i, s := range tt.steps {
				clk.Set(base.Add(s.at))
				before := len(srv.Bodies())
				ctx := context.Background()
				if s.key != "" {
					ctx = WithAPIKey(ctx, s.key)
				}
				w, err := serve(ctx, integ, request("/v1/chat/completions", chatBody))
				called := len(srv.Bodies()) > before
				if s.wantRetry == 0 {
					if err != nil || w.Code != 200 || !called {
						t.Fatalf("step %d: %v %d called=%v, want allowed", i, err, w.Code, called)
					}
					continue
				}
				var e *edge.Error
				if !errors.As(err, &e) || e.Kind != edge.TooManyRequests || called {
					t.Fatalf("step %d: %v called=%v, want 429 without calling the backend", i, err, called)
				}
				if got := e.Header.Get("Retry-After"); got != itoa(s.wantRetry) {
					t.Fatalf("step %d: Retry-After %q, want %d", i, got, s.wantRetry)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestTokenCounters(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 12, 10, 0, 0, 0, time.UTC)}
	st := throttle.NewLocal(clk.Now)
	srv := openaitest.Start(t, openaitest.Options{})
	integ := Wrap(Config{Limits: Limits{Store: st, Route: TokenLimit{PerDay: 1000}, RouteID: "r"}}, forward(srv.URL))
	for range 2 {
		if _, err := serve(WithAPIKey(context.Background(), "alice"), integ, request("/v1/chat/completions", chatBody)); err != nil {
			t.Fatal(err)
		}
	}
	// Unknown usage charges nothing.
	none := Wrap(Config{Limits: Limits{Store: st}}, forward(openaitest.Start(t, openaitest.Options{OmitUsage: true}).URL))
	serve(WithAPIKey(context.Background(), "alice"), none, request("/v1/chat/completions", chatBody))
	ctx := context.Background()
	for _, tt := range []struct {
		counter string
		want    int64
	}{
		{APIKeyCounter("alice", Prompt), 8}, {APIKeyCounter("alice", Completion), 10}, {APIKeyCounter("alice", Total), 18},
		{RouteCounter("r", Total), 18},
	} {
		for _, p := range []throttle.Period{throttle.Minute, throttle.Day} {
			if got, _, _ := st.Used(ctx, tt.counter, p); got != tt.want {
				t.Errorf("%s per %s = %d, want %d", tt.counter, p, got, tt.want)
			}
		}
	}
}

func TestLimitErrors(t *testing.T) {
	srv := openaitest.Start(t, openaitest.Options{})
	lookupFailed := Wrap(Config{Limits: Limits{Store: throttle.NewLocal(nil), APIKey: func(context.Context, string) (TokenLimit, error) {
		return TokenLimit{}, errors.New("keys unavailable")
	}}}, forward(srv.URL))
	_, err := serve(WithAPIKey(context.Background(), "k"), lookupFailed, request("/v1/chat/completions", chatBody))
	if e := edge.As(err); e.Kind != edge.ServiceUnavailable {
		t.Fatalf("key lookup failure: %v, want 503", err)
	}
	if err := (TokenLimit{PerMinute: -1, PerDay: -2}).Validate(); err == nil {
		t.Fatal("negative limits: want an error")
	}
	if err := (TokenLimit{PerMinute: 0, PerDay: 5}).Validate(); err != nil {
		t.Fatal(err)
	}
	one, day := int64(1), int64(2)
	if got := FromSpec(nil); !got.IsZero() {
		t.Fatalf("FromSpec(nil) = %+v", got)
	}
	if s := FromSpecTest(&one, &day); s != (TokenLimit{1, 2}) {
		t.Fatalf("FromSpec = %+v", s)
	}
}

func FromSpecTest(m, d *int64) TokenLimit {
	return FromSpec(&spec.TokenLimits{PerMinute: m, PerDay: d})
}
