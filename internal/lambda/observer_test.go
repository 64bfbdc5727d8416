package lambda

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// recorder is an Observer and InvokeTracer that remembers everything.
type recorder struct {
	mu        sync.Mutex
	invoked   map[string][]invocation.Stats
	throttled map[string][]string
	states    map[string]map[invocation.SandboxState]int
	spans     []invocation.Stats
	header    string
}

func newRecorder(header string) *recorder {
	return &recorder{invoked: map[string][]invocation.Stats{}, throttled: map[string][]string{},
		states: map[string]map[invocation.SandboxState]int{}, header: header}
}

func (r *recorder) Invoked(fn string, s invocation.Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invoked[fn] = append(r.invoked[fn], s)
}

func (r *recorder) Throttled(fn, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.throttled[fn] = append(r.throttled[fn], reason)
}

func (r *recorder) SandboxChanged(fn string, from, to invocation.SandboxState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.states[fn] == nil {
		r.states[fn] = map[invocation.SandboxState]int{}
	}
	r.states[fn][from]--
	r.states[fn][to]++
}

func (r *recorder) StartInvoke(ctx context.Context, fn string) (string, func(invocation.Stats)) {
	return r.header, func(s invocation.Stats) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.spans = append(r.spans, s)
	}
}

// live returns the sandboxes of fn per state (invocation.SandboxNone excluded).
func (r *recorder) live(fn string) map[invocation.SandboxState]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[invocation.SandboxState]int{}
	for s, n := range r.states[fn] {
		if s != invocation.SandboxNone && n != 0 {
			out[s] = n
		}
	}
	return out
}

var (
	_ Observer     = (*recorder)(nil)
	_ InvokeTracer = (*recorder)(nil)
)

func TestObserver(t *testing.T) {
	const header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	rec := newRecorder(header)
	r, err := New(Config{CacheDir: t.TempDir()}, Deps{Observer: rec, Tracer: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	none := fn(t, "none", "goecho")
	none.ReservedConcurrency = 0
	if err := r.Deploy(context.Background(), []Function{fn(t, "echo", "goecho"), fn(t, "crash", "gocrash"), none}); err != nil {
		t.Fatal(err)
	}

	// Cold, then warm; the tracer's header reaches the function.
	res := invoke(t, r, "echo", `{"env":true}`)
	var env map[string]string
	if err := json.Unmarshal(res.Payload, &env); err != nil {
		t.Fatalf("%s: %v", res.Payload, err)
	}
	if env["_X_AMZN_TRACE_ID"] != header {
		t.Errorf("_X_AMZN_TRACE_ID = %q, want the tracer's header", env["_X_AMZN_TRACE_ID"])
	}
	invoke(t, r, "echo", `{}`)
	// A caller's own trace header wins.
	caller := "Root=1-00000000-000000000000000000000001;Sampled=0"
	res, err = r.Invoke(context.Background(), &invocation.Request{FunctionName: "echo", Payload: []byte(`{"env":true}`), TraceID: caller})
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(res.Payload, &env)
	if env["_X_AMZN_TRACE_ID"] != caller {
		t.Errorf("_X_AMZN_TRACE_ID = %q, want the caller's %q", env["_X_AMZN_TRACE_ID"], caller)
	}
	// A function error, and a throttle.
	invoke(t, r, "crash", `{"fail":"boom"}`)
	if _, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "none"}); err == nil {
		t.Fatal("invoking a function with reserved concurrency 0 succeeded")
	}

	rec.mu.Lock()
	echo, crash := rec.invoked["echo"], rec.invoked["crash"]
	throttled, spans := rec.throttled["none"], len(rec.spans)
	_, noneInvoked := rec.invoked["none"]
	rec.mu.Unlock()
	if len(echo) != 3 {
		t.Fatalf("echo invocations = %v, want 3", echo)
	}
	if s := echo[0]; !s.Cold || s.InitDuration <= 0 || s.Duration <= 0 || s.ErrorType != "" {
		t.Errorf("cold invocation = %+v", s)
	}
	if s := echo[1]; s.Cold || s.InitDuration != 0 || s.Duration <= 0 || s.ErrorType != "" {
		t.Errorf("warm invocation = %+v", s)
	}
	if len(crash) != 1 || crash[0].ErrorType == "" {
		t.Errorf("crash invocations = %+v, want one with an error type", crash)
	}
	if len(throttled) != 1 || throttled[0] != "ReservedFunctionConcurrentInvocationLimitExceeded" || noneInvoked {
		t.Errorf("throttles = %q, invoked %v; want one throttle and no invocation", throttled, noneInvoked)
	}
	if spans != 4 {
		t.Errorf("spans ended = %d, want 4 (one per invocation that reached a function)", spans)
	}
	if got := rec.live("echo"); len(got) != 1 || got[invocation.SandboxIdle] != 1 {
		t.Errorf("echo sandboxes = %v, want one idle", got)
	}

	// A redeploy drains the old sandboxes; Close stops the rest.
	if err := r.Deploy(context.Background(), []Function{fn(t, "echo", "goecho")}); err != nil {
		t.Fatal(err)
	}
	if got := rec.live("echo"); len(got) != 0 {
		t.Errorf("echo sandboxes after redeploy = %v, want none", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	invoke(t, r, "echo", `{}`)
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"echo", "crash", "none"} {
		if got := rec.live(f); len(got) != 0 {
			t.Errorf("%s sandboxes after Close = %v, want none", f, got)
		}
	}
}

func TestObserverCanceled(t *testing.T) {
	rec := newRecorder("")
	r, err := New(Config{CacheDir: t.TempDir()}, Deps{Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	if err := r.Deploy(context.Background(), []Function{fn(t, "slow", "goslow")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := r.Invoke(ctx, &invocation.Request{FunctionName: "slow", Payload: []byte(`{"ms":2000}`)}); err == nil {
		t.Fatal("a canceled invocation succeeded")
	}
	rec.mu.Lock()
	got := rec.invoked["slow"]
	rec.mu.Unlock()
	if len(got) != 1 || got[0].ErrorType != invocation.ErrorCanceled {
		t.Errorf("invocations = %+v, want one %s", got, invocation.ErrorCanceled)
	}
	if live := rec.live("slow"); len(live) != 0 {
		t.Errorf("sandboxes = %v, want none after the canceled sandbox was killed", live)
	}
}
