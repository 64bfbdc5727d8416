package lambda

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// retireLog records the reasons of "lambda sandbox retired" log records.
type retireLog struct {
	mu      sync.Mutex
	reasons []string
}

func (h *retireLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *retireLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *retireLog) WithGroup(string) slog.Handler            { return h }

func (h *retireLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "lambda sandbox retired" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			h.mu.Lock()
			h.reasons = append(h.reasons, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *retireLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.reasons
	h.reasons = nil
	return out
}

// TestRetireReasons: every way a sandbox leaves its pool goes through
// the warm pool's one retire path, which says why; a sandbox that served
// well goes back idle and is not retired.
func TestRetireReasons(t *testing.T) {
	// gone's bootstrap passes the deploy's check and is removed before the
	// first invocation starts it.
	gone := t.TempDir()
	bootstrap := filepath.Join(gone, "bootstrap")
	tests := []struct {
		name    string
		fn      func(t *testing.T) Function
		payload string
		then    func(t *testing.T, r *Runner, f Function) // after the invocation
		want    []retireReason
	}{
		{"served well", func(t *testing.T) Function { return fn(t, "f", "goecho") }, `{}`, nil, nil},
		{"timeout", func(t *testing.T) Function {
			f := fn(t, "f", "goslow")
			f.Timeout = time.Second
			return f
		}, `{"ms":3000}`, nil, []retireReason{retireTimeout}},
		{"runtime exited", func(t *testing.T) Function { return fn(t, "f", "gocrash") }, `{"exit":3}`, nil, []retireReason{retireExited}},
		{"runtime did not start", func(t *testing.T) Function {
			return Function{Name: "f", Runtime: "provided.al2023", Handler: "bootstrap", CodeDir: gone,
				Timeout: 3 * time.Second, MemoryMB: 128, ReservedConcurrency: -1}
		}, `{}`, nil, []retireReason{retireStartFailed}},
		{"redeployed", func(t *testing.T) Function { return fn(t, "f", "goecho") }, `{}`,
			func(t *testing.T, r *Runner, f Function) {
				f.Revision = "2"
				if err := r.Deploy(context.Background(), []Function{f}); err != nil {
					t.Fatal(err)
				}
			}, []retireReason{retireDraining}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &retireLog{}
			r, err := New(Config{Isolation: IsolationNone}, Deps{Logger: slog.New(h)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				r.Close(ctx)
			})
			f := tt.fn(t)
			if err := os.WriteFile(bootstrap, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := r.Deploy(context.Background(), []Function{f}); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(bootstrap); err != nil {
				t.Fatal(err)
			}
			invoke(t, r, "f", tt.payload)
			if tt.then != nil {
				tt.then(t, r, f)
			}
			got := h.take()
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = string(w)
			}
			if !slices.Equal(got, want) {
				t.Errorf("retired for %q, want %q", got, want)
			}
		})
	}
}
