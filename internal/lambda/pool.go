package lambda

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// pool is the set of sandboxes of one deployed function. It grows on
// demand up to the function's reserved concurrency and the runner's global
// cap, reuses idle sandboxes warmest first, and shrinks after the idle
// timeout. A pool replaced by a redeploy drains: idle sandboxes stop at
// once, busy ones when their invocation ends.
type pool struct {
	r    *Runner
	fn   Function // defaulted and validated
	arn  string
	logs *logBuffer

	mu       sync.Mutex
	idle     []*sandbox // LIFO: the last one is the warmest
	total    int        // idle + busy + starting
	draining bool
	busy     map[*sandbox]struct{}
	cmd      *Command // resolved once, on the first cold start
	warned   bool
}

// acquire returns a sandbox for one invocation: the warmest idle one, or a
// slot for a new one (sb nil, cold true). Beyond the limits it fails at once
// with a 429 *ServiceError.
func (p *pool) acquire() (sb *sandbox, err error) {
	evicted := false
	for {
		p.mu.Lock()
		for len(p.idle) > 0 {
			sb = p.idle[len(p.idle)-1]
			p.idle[len(p.idle)-1] = nil
			p.idle = p.idle[:len(p.idle)-1]
			if !sb.Dead() && !sb.Dying() {
				p.busy[sb] = struct{}{}
				p.sandboxChanged(sb, sb.state, SandboxBusy)
				p.mu.Unlock()
				return sb, nil
			}
			p.retire(sb, retireDead) // a dying one: make sure, the reaper tears it down
		}
		if p.draining {
			p.mu.Unlock()
			return nil, &ServiceError{Status: http.StatusConflict, Type: "ResourceConflictException",
				Message: "The function is being updated; retry the invocation"}
		}
		if rc := p.fn.ReservedConcurrency; rc >= 0 && p.total >= rc {
			p.mu.Unlock()
			return nil, &ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
				Message: "Rate Exceeded.", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
		}
		if p.r.takeSlot() {
			p.total++
			p.sandboxChanged(nil, SandboxNone, SandboxInitializing)
			p.mu.Unlock()
			return nil, nil
		}
		p.mu.Unlock()
		// The global cap is reached: make room by stopping the coldest idle
		// sandbox of any function, once.
		if evicted || !p.r.evictIdle() {
			return nil, &ServiceError{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException",
				Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
		}
		evicted = true
	}
}

// started records a freshly started sandbox as busy.
func (p *pool) started(sb *sandbox) {
	p.mu.Lock()
	p.busy[sb] = struct{}{}
	sb.state = SandboxInitializing
	p.mu.Unlock()
}

// killBusy kills the sandboxes serving invocations (their invocations fail
// with Runtime.ExitError); used by Close.
func (p *pool) killBusy() {
	p.mu.Lock()
	busy := make([]*sandbox, 0, len(p.busy))
	for sb := range p.busy {
		busy = append(busy, sb)
	}
	p.mu.Unlock()
	for _, sb := range busy {
		sb.Kill()
	}
}

// retireReason says why a sandbox is retired.
type retireReason string

// Why sandboxes are retired.
const (
	retireStartFailed retireReason = "runtime did not start"
	retireDead        retireReason = "runtime exited or was killed while idle"
	retireExited      retireReason = "runtime exited"
	retireTimeout     retireReason = "invocation timed out"
	retireInitError   retireReason = "init failed"
	retireDiscard     retireReason = "runtime asked to be discarded"
	retireCanceled    retireReason = "invocation canceled"
	retireStream      retireReason = "response stream failed"
	retireDraining    retireReason = "function redeployed"
	retireClosing     retireReason = "runner closing"
	retireEvicted     retireReason = "evicted for capacity"
	retireIdle        retireReason = "idle timeout"
)

// retire takes sb out of the pool for good: it is no longer busy, its slot
// (in the pool's total and the runner's global cap) is freed, the observer
// sees it stop, and its processes are killed. sb nil is a reserved slot
// whose sandbox never started. The caller holds p.mu and has taken sb out
// of p.idle if it was there. This is the one place a sandbox leaves a pool.
func (p *pool) retire(sb *sandbox, why retireReason) {
	p.total--
	p.sandboxStopped(sb)
	p.r.releaseSlot()
	p.r.log.Debug("lambda sandbox retired", "function", p.fn.Name, "reason", string(why))
	if sb == nil {
		return
	}
	delete(p.busy, sb)
	sb.Kill()
}

// startFailed gives back the slot of a sandbox that could not start.
func (p *pool) startFailed() {
	p.mu.Lock()
	p.retire(nil, retireStartFailed)
	p.mu.Unlock()
}

// release takes sb back after an invocation: why is "" when sb may serve
// again, else the reason to retire it. A sandbox that may not be reused
// (dead, or its pool draining or the runner closing) is retired too.
func (p *pool) release(sb *sandbox, why retireReason) {
	p.mu.Lock()
	switch {
	case why != "":
	case p.r.closing.Load():
		why = retireClosing
	case p.draining:
		why = retireDraining
	case sb.Dead():
		why = retireExited
	}
	if why != "" {
		p.retire(sb, why)
		p.mu.Unlock()
		return
	}
	delete(p.busy, sb)
	sb.lastUsed = p.r.now()
	p.idle = append(p.idle, sb)
	p.sandboxChanged(sb, sb.state, SandboxIdle)
	p.mu.Unlock()
}

// resolve returns the command that starts the runtime, resolving it on
// first use. Failures are not cached.
func (p *pool) resolve(ctx context.Context) (*Command, error) {
	p.mu.Lock()
	c := p.cmd
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := p.r.resolver.Command(ctx, p.fn)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.cmd = c
	warn := !p.warned
	p.warned = true
	p.mu.Unlock()
	if warn {
		for _, w := range c.Warnings {
			p.r.log.Warn("lambda runtime", "function", p.fn.Name, "warning", w)
		}
	}
	return c, nil
}

// evictOldest stops the coldest idle sandbox; false if there is none.
func (p *pool) evictOldest() bool {
	p.mu.Lock()
	if len(p.idle) == 0 {
		p.mu.Unlock()
		return false
	}
	sb := p.idle[0]
	copy(p.idle, p.idle[1:])
	p.idle[len(p.idle)-1] = nil
	p.idle = p.idle[:len(p.idle)-1]
	p.retire(sb, retireEvicted)
	p.mu.Unlock()
	return true
}

// reap stops sandboxes idle since before cutoff.
func (p *pool) reap(cutoff time.Time) {
	p.mu.Lock()
	var stop []*sandbox
	keep := p.idle[:0]
	for _, sb := range p.idle {
		if sb.lastUsed.Before(cutoff) || sb.Dead() {
			stop = append(stop, sb)
		} else {
			keep = append(keep, sb)
		}
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = nil
	}
	p.idle = keep
	for _, sb := range stop {
		why := retireIdle
		if sb.Dead() {
			why = retireDead
		}
		p.retire(sb, why)
	}
	p.mu.Unlock()
}

// drain stops accepting invocations and stops the idle sandboxes; busy
// ones stop when released.
func (p *pool) drain() {
	p.mu.Lock()
	p.draining = true
	stop := p.idle
	p.idle = nil
	for _, sb := range stop {
		p.retire(sb, retireDraining)
	}
	p.mu.Unlock()
}

// counts reports idle and total sandboxes (for tests and diagnostics).
func (p *pool) counts() (idle, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle), p.total
}
