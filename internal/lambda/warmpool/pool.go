// Package warmpool keeps the warm execution environments of one function:
// it grows on demand up to the function's reserved concurrency and the
// runner's global cap, hands out idle environments warmest first, and
// shrinks after the idle timeout (Reap), to make room (Evict), or when
// the function is replaced (Drain). Every way an environment leaves a pool
// goes through one retire path, which frees its slot, tells the observer
// and kills it, and logs why (debug).
//
// What a pool needs of the runner that holds it (the global cap, whether
// it is closing) and of whoever watches it (sandbox states) are the small
// interfaces Runner and Observer, declared here: a pool never calls into
// the runner's internals. Environments are any comparable type with the
// Sandbox methods (the runner's sandbox, over package execenv).
package warmpool

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// Sandbox is what a pool needs of an execution environment. Its methods
// are safe for concurrent use; Dying is called with the pool's lock held
// and must not call back into the pool.
type Sandbox interface {
	comparable
	Dead() bool  // the runtime process has exited
	Dying() bool // the runtime, not yet reaped, is exiting or has been sent SIGKILL
	Kill()       // SIGKILL it; teardown continues on its own
}

// Runner is what a pool needs of the runner holding it. Its methods are
// called with the pool's lock held, except EvictIdle.
type Runner interface {
	// TakeSlot reserves one environment against the global cap; false at
	// the cap.
	TakeSlot() bool
	// ReleaseSlot gives one back.
	ReleaseSlot()
	// EvictIdle stops the coldest idle environment of any pool to make
	// room; false if there is none.
	EvictIdle() bool
	// Closing reports that the runner is closing: released environments
	// are retired.
	Closing() bool
}

// Observer receives the environments' state changes (see
// lambda.Observer.SandboxChanged): cheap, non-blocking, safe for
// concurrent use; called with the pool's lock held.
type Observer interface {
	SandboxChanged(function string, from, to invocation.SandboxState)
}

// Reason says why an environment is retired.
type Reason string

// Why environments are retired.
const (
	StartFailed Reason = "runtime did not start"
	Dead        Reason = "runtime exited or was killed while idle"
	Exited      Reason = "runtime exited"
	Timeout     Reason = "invocation timed out"
	InitError   Reason = "init failed"
	Discard     Reason = "runtime asked to be discarded"
	Canceled    Reason = "invocation canceled"
	Stream      Reason = "response stream failed"
	Draining    Reason = "function redeployed"
	Closing     Reason = "runner closing"
	Evicted     Reason = "evicted for capacity"
	Idle        Reason = "idle timeout"
)

// Config is one pool's function and surroundings.
type Config struct {
	Function string // the function's name, for the observer and the log
	// ReservedConcurrency caps the pool's environments; negative means
	// unset (the runner's global cap applies); 0 throttles everything.
	ReservedConcurrency int
	Runner              Runner
	Observer            Observer // nil: not observed
	Now                 func() time.Time
	Log                 *slog.Logger
}

// idleEnv is an idle environment and when it was last released.
type idleEnv[S Sandbox] struct {
	sb       S
	lastUsed time.Time
}

// Pool is the set of environments of one deployed function. It is safe
// for concurrent use.
type Pool[S Sandbox] struct {
	cfg Config

	mu       sync.Mutex
	idle     []idleEnv[S] // LIFO: the last one is the warmest
	total    int          // idle + busy + starting
	draining bool
	busy     map[S]invocation.SandboxState // SandboxInitializing or SandboxBusy
}

// New returns an empty pool.
func New[S Sandbox](cfg Config) *Pool[S] {
	return &Pool[S]{cfg: cfg, busy: map[S]invocation.SandboxState{}}
}

// Acquire returns an environment for one invocation: the warmest idle one,
// or a slot for a new one (ok false: start one, then call Started, or
// StartFailed). Beyond the limits it fails at once with a 429
// *invocation.ServiceError, or 409 while the pool drains.
func (p *Pool[S]) Acquire() (sb S, ok bool, err error) {
	evicted := false
	for {
		p.mu.Lock()
		for len(p.idle) > 0 {
			sb = p.idle[len(p.idle)-1].sb
			p.idle[len(p.idle)-1] = idleEnv[S]{}
			p.idle = p.idle[:len(p.idle)-1]
			if !sb.Dead() && !sb.Dying() {
				p.busy[sb] = invocation.SandboxBusy
				p.changed(invocation.SandboxIdle, invocation.SandboxBusy)
				p.mu.Unlock()
				return sb, true, nil
			}
			p.retire(sb, true, invocation.SandboxIdle, Dead) // a dying one: make sure, the reaper tears it down
		}
		var zero S
		if p.draining {
			p.mu.Unlock()
			return zero, false, &invocation.ServiceError{Status: http.StatusConflict, Type: "ResourceConflictException",
				Message: "The function is being updated; retry the invocation"}
		}
		if rc := p.cfg.ReservedConcurrency; rc >= 0 && p.total >= rc {
			p.mu.Unlock()
			return zero, false, &invocation.ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
				Message: "Rate Exceeded.", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
		}
		if p.cfg.Runner.TakeSlot() {
			p.total++
			p.changed(invocation.SandboxNone, invocation.SandboxInitializing)
			p.mu.Unlock()
			return zero, false, nil
		}
		p.mu.Unlock()
		// The global cap is reached: make room by stopping the coldest idle
		// environment of any function, once.
		if evicted || !p.cfg.Runner.EvictIdle() {
			return zero, false, &invocation.ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
				Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
		}
		evicted = true
	}
}

// Started records an environment started in the slot Acquire reserved;
// it is initializing until Ready.
func (p *Pool[S]) Started(sb S) {
	p.mu.Lock()
	p.busy[sb] = invocation.SandboxInitializing
	p.mu.Unlock()
}

// Ready records that a started environment's runtime finished its init
// phase and took its first invocation.
func (p *Pool[S]) Ready(sb S) {
	p.mu.Lock()
	if from, ok := p.busy[sb]; ok {
		p.busy[sb] = invocation.SandboxBusy
		p.changed(from, invocation.SandboxBusy)
	}
	p.mu.Unlock()
}

// StartFailed gives back the slot of an environment that could not start.
func (p *Pool[S]) StartFailed() {
	p.mu.Lock()
	var zero S
	p.retire(zero, false, invocation.SandboxInitializing, StartFailed)
	p.mu.Unlock()
}

// Release takes sb back after an invocation: why is "" when sb may serve
// again, else the reason to retire it. An environment that may not be
// reused (dead, or its pool draining or the runner closing) is retired
// too.
func (p *Pool[S]) Release(sb S, why Reason) {
	p.mu.Lock()
	switch {
	case why != "":
	case p.cfg.Runner.Closing():
		why = Closing
	case p.draining:
		why = Draining
	case sb.Dead():
		why = Exited
	}
	from := p.busy[sb]
	if why != "" {
		p.retire(sb, true, from, why)
		p.mu.Unlock()
		return
	}
	delete(p.busy, sb)
	p.idle = append(p.idle, idleEnv[S]{sb: sb, lastUsed: p.cfg.Now()})
	p.changed(from, invocation.SandboxIdle)
	p.mu.Unlock()
}

// retire takes sb out of the pool for good: it is no longer busy, its slot
// (in the pool's total and the runner's global cap) is freed, the observer
// sees it stop (from its state), and its processes are killed. has false
// is a reserved slot whose environment never started. The caller holds
// p.mu and has taken sb out of p.idle if it was there. This is the one
// place an environment leaves a pool.
func (p *Pool[S]) retire(sb S, has bool, from invocation.SandboxState, why Reason) {
	p.total--
	p.changed(from, invocation.SandboxNone)
	p.cfg.Runner.ReleaseSlot()
	p.cfg.Log.Debug("lambda sandbox retired", "function", p.cfg.Function, "reason", string(why))
	if !has {
		return
	}
	delete(p.busy, sb)
	sb.Kill()
}

// changed reports a transition to the observer.
func (p *Pool[S]) changed(from, to invocation.SandboxState) {
	if o := p.cfg.Observer; o != nil && from != to {
		o.SandboxChanged(p.cfg.Function, from, to)
	}
}

// OldestIdle is when the coldest idle environment was last released;
// false if none is idle.
func (p *Pool[S]) OldestIdle() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) == 0 {
		return time.Time{}, false
	}
	return p.idle[0].lastUsed, true
}

// Evict stops the coldest idle environment; false if there is none.
func (p *Pool[S]) Evict() bool {
	p.mu.Lock()
	if len(p.idle) == 0 {
		p.mu.Unlock()
		return false
	}
	sb := p.idle[0].sb
	copy(p.idle, p.idle[1:])
	p.idle[len(p.idle)-1] = idleEnv[S]{}
	p.idle = p.idle[:len(p.idle)-1]
	p.retire(sb, true, invocation.SandboxIdle, Evicted)
	p.mu.Unlock()
	return true
}

// Reap stops environments idle since before cutoff, and dead idle ones.
func (p *Pool[S]) Reap(cutoff time.Time) {
	p.mu.Lock()
	var stop []S
	keep := p.idle[:0]
	for _, e := range p.idle {
		if e.lastUsed.Before(cutoff) || e.sb.Dead() {
			stop = append(stop, e.sb)
		} else {
			keep = append(keep, e)
		}
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = idleEnv[S]{}
	}
	p.idle = keep
	for _, sb := range stop {
		why := Idle
		if sb.Dead() {
			why = Dead
		}
		p.retire(sb, true, invocation.SandboxIdle, why)
	}
	p.mu.Unlock()
}

// Drain stops accepting invocations and stops the idle environments; busy
// ones stop when released.
func (p *Pool[S]) Drain() {
	p.mu.Lock()
	p.draining = true
	stop := p.idle
	p.idle = nil
	for _, e := range stop {
		p.retire(e.sb, true, invocation.SandboxIdle, Draining)
	}
	p.mu.Unlock()
}

// KillBusy kills the environments serving invocations (their invocations
// fail as the runtime exited); for closing.
func (p *Pool[S]) KillBusy() {
	p.mu.Lock()
	busy := make([]S, 0, len(p.busy))
	for sb := range p.busy {
		busy = append(busy, sb)
	}
	p.mu.Unlock()
	for _, sb := range busy {
		sb.Kill()
	}
}

// Counts reports the idle environments, the busy ones (serving or
// initializing a started one) and the total (with reserved slots still
// starting).
func (p *Pool[S]) Counts() (idle, busy, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), len(p.busy), p.total
}

// Each calls f for every idle and busy environment, with the pool's lock
// held: f must not call into the pool.
func (p *Pool[S]) Each(f func(S)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.idle {
		f(e.sb)
	}
	for sb := range p.busy {
		f(sb)
	}
}

// Idle returns the idle environments, coldest first (for tests and
// diagnostics).
func (p *Pool[S]) Idle() []S {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]S, len(p.idle))
	for i, e := range p.idle {
		out[i] = e.sb
	}
	return out
}
