package warmpool

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// fakeEnv is an execution environment without a process.
type fakeEnv struct {
	name        string
	dead, dying bool
	killed      bool
}

func (e *fakeEnv) Dead() bool  { return e.dead }
func (e *fakeEnv) Dying() bool { return e.dying }
func (e *fakeEnv) Kill()       { e.killed = true }

// fakeRunner is a global cap of max slots.
type fakeRunner struct {
	max, used int
	closing   bool
	evict     func() bool
}

func (r *fakeRunner) TakeSlot() bool {
	if r.used >= r.max {
		return false
	}
	r.used++
	return true
}
func (r *fakeRunner) ReleaseSlot()  { r.used-- }
func (r *fakeRunner) Closing() bool { return r.closing }
func (r *fakeRunner) EvictIdle() bool {
	return r.evict != nil && r.evict()
}

// states sums the observer's transitions per state.
type states struct {
	mu sync.Mutex
	n  map[invocation.SandboxState]int
}

func (s *states) SandboxChanged(_ string, from, to invocation.SandboxState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[invocation.SandboxState]int{}
	}
	s.n[from]--
	s.n[to]++
}

func (s *states) live() map[invocation.SandboxState]int {
	out := map[invocation.SandboxState]int{}
	for k, v := range s.n {
		if k != invocation.SandboxNone && v != 0 {
			out[k] = v
		}
	}
	return out
}

// reasons records the retire reasons logged.
type reasons struct {
	mu  sync.Mutex
	got []string
}

func (h *reasons) Enabled(context.Context, slog.Level) bool { return true }
func (h *reasons) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			h.mu.Lock()
			h.got = append(h.got, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}
func (h *reasons) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *reasons) WithGroup(string) slog.Handler      { return h }

type harness struct {
	p   *Pool[*fakeEnv]
	r   *fakeRunner
	obs *states
	log *reasons
	now time.Time
}

func newHarness(reserved, max int) *harness {
	h := &harness{r: &fakeRunner{max: max}, obs: &states{}, log: &reasons{}, now: time.Unix(1000, 0)}
	h.p = New[*fakeEnv](Config{Function: "f", ReservedConcurrency: reserved, Runner: h.r, Observer: h.obs,
		Now: func() time.Time { return h.now }, Log: slog.New(h.log)})
	return h
}

// cold acquires a slot and starts env in it.
func (h *harness) cold(t *testing.T, env *fakeEnv) {
	t.Helper()
	sb, warm, err := h.p.Acquire()
	if err != nil || warm || sb != nil {
		t.Fatalf("Acquire = %v, %v, %v; want a slot", sb, warm, err)
	}
	h.p.Started(env)
	h.p.Ready(env)
}

func TestAcquireRelease(t *testing.T) {
	h := newHarness(-1, 2)
	a := &fakeEnv{name: "a"}
	h.cold(t, a)
	h.p.Release(a, "")
	if got := h.obs.live(); got[invocation.SandboxIdle] != 1 || len(got) != 1 {
		t.Fatalf("states after release = %v, want one idle", got)
	}
	sb, warm, err := h.p.Acquire()
	if err != nil || !warm || sb != a {
		t.Fatalf("Acquire = %v, %v, %v; want a, warm", sb, warm, err)
	}
	b := &fakeEnv{name: "b"}
	h.cold(t, b)
	h.now = h.now.Add(time.Second)
	h.p.Release(a, "")
	h.now = h.now.Add(time.Second)
	h.p.Release(b, "")
	// Warmest first: b was released last.
	if sb, _, _ := h.p.Acquire(); sb != b {
		t.Errorf("Acquire = %v, want the warmest (b)", sb)
	}
	if oldest, ok := h.p.OldestIdle(); !ok || !oldest.Equal(time.Unix(1001, 0)) {
		t.Errorf("OldestIdle = %v, %v", oldest, ok)
	}
	if idle, busy, total := h.p.Counts(); idle != 1 || busy != 1 || total != 2 {
		t.Errorf("Counts = %d %d %d, want 1 1 2", idle, busy, total)
	}
	if len(h.log.got) != 0 {
		t.Errorf("retired %v, want none", h.log.got)
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name     string
		reserved int
		max      int
		evict    bool
		want     string // the ServiceError's Reason or Type
	}{
		{name: "reserved concurrency 0 throttles", reserved: 0, max: 5, want: "ReservedFunctionConcurrentInvocationLimitExceeded"},
		{name: "reserved concurrency reached", reserved: 1, max: 5, want: "ReservedFunctionConcurrentInvocationLimitExceeded"},
		{name: "global cap reached, nothing to evict", reserved: -1, max: 1, want: "ConcurrentInvocationLimitExceeded"},
		{name: "global cap reached, evicts once", reserved: -1, max: 1, evict: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.reserved, tt.max)
			if tt.reserved != 0 {
				h.cold(t, &fakeEnv{})
			}
			if tt.evict {
				h.r.evict = func() bool { h.r.used--; return true }
			}
			_, _, err := h.p.Acquire()
			var se *invocation.ServiceError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Acquire: %v", err)
			case tt.want != "" && (!errors.As(err, &se) || se.Reason != tt.want || se.Status != 429):
				t.Fatalf("Acquire error = %v, want 429 %s", err, tt.want)
			}
		})
	}
}

func TestRetirePaths(t *testing.T) {
	tests := []struct {
		name string
		do   func(h *harness, a *fakeEnv)
		want []string
	}{
		{"released for a reason", func(h *harness, a *fakeEnv) { h.p.Release(a, Timeout) }, []string{string(Timeout)}},
		{"released dead", func(h *harness, a *fakeEnv) { a.dead = true; h.p.Release(a, "") }, []string{string(Exited)}},
		{"released while closing", func(h *harness, a *fakeEnv) { h.r.closing = true; h.p.Release(a, "") }, []string{string(Closing)}},
		{"released while draining", func(h *harness, a *fakeEnv) { h.p.Drain(); h.p.Release(a, "") }, []string{string(Draining)}},
		{"drained idle", func(h *harness, a *fakeEnv) { h.p.Release(a, ""); h.p.Drain() }, []string{string(Draining)}},
		{"evicted", func(h *harness, a *fakeEnv) { h.p.Release(a, ""); h.p.Evict() }, []string{string(Evicted)}},
		{"idle timeout", func(h *harness, a *fakeEnv) {
			h.p.Release(a, "")
			h.p.Reap(h.now.Add(time.Second))
		}, []string{string(Idle)}},
		{"died idle, reaped", func(h *harness, a *fakeEnv) { h.p.Release(a, ""); a.dead = true; h.p.Reap(h.now) }, []string{string(Dead)}},
		{"dying idle, skipped by acquire", func(h *harness, a *fakeEnv) {
			h.p.Release(a, "")
			a.dying = true
			if sb, warm, _ := h.p.Acquire(); warm || sb != nil {
				panic("a dying sandbox was handed out")
			}
			h.p.StartFailed()
		}, []string{string(Dead), string(StartFailed)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(-1, 4)
			a := &fakeEnv{name: "a"}
			h.cold(t, a)
			tt.do(h, a)
			if !slices.Equal(h.log.got, tt.want) {
				t.Errorf("retired for %q, want %q", h.log.got, tt.want)
			}
			if !a.killed {
				t.Error("the retired sandbox was not killed")
			}
			if _, _, total := h.p.Counts(); total != 0 || h.r.used != 0 {
				t.Errorf("total %d, global slots %d; want 0 and 0", total, h.r.used)
			}
			if live := h.obs.live(); len(live) != 0 {
				t.Errorf("observer sees %v, want none", live)
			}
		})
	}
}

func TestDrainingRefuses(t *testing.T) {
	h := newHarness(-1, 4)
	h.p.Drain()
	_, _, err := h.p.Acquire()
	var se *invocation.ServiceError
	if !errors.As(err, &se) || se.Type != "ResourceConflictException" || se.Status != 409 {
		t.Errorf("Acquire while draining = %v, want 409 ResourceConflictException", err)
	}
}
