package lambda

import (
	"context"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/lambda/warmpool"
)

// pool is one deployed function: its warm sandboxes (a warmpool.Pool:
// acquire, release, the one retire path, reap, evict, drain), its log, and
// the command that starts its runtime. A pool replaced by a redeploy
// drains: idle sandboxes stop at once, busy ones when their invocation
// ends.
type pool struct {
	*warmpool.Pool[*sandbox]
	r    *Runner
	fn   Function // defaulted and validated
	arn  string
	logs *logBuffer

	mu     sync.Mutex
	cmd    *Command // resolved once, on the first cold start
	warned bool
}

// newPool returns the empty pool of fn.
func (r *Runner) newPool(fn Function, logs *logBuffer) *pool {
	var obs warmpool.Observer
	if r.obs != nil {
		obs = r.obs
	}
	return &pool{
		Pool: warmpool.New[*sandbox](warmpool.Config{Function: fn.Name, ReservedConcurrency: fn.ReservedConcurrency,
			Runner: poolRunner{r}, Observer: obs, Now: r.now, Log: r.log}),
		r: r, fn: fn, arn: FunctionARN(r.cfg.Region, r.cfg.AccountID, fn.Name), logs: logs,
	}
}

// poolRunner is what the pools need of the runner (warmpool.Runner).
type poolRunner struct{ r *Runner }

var _ warmpool.Runner = poolRunner{}

// TakeSlot reserves one sandbox against the global cap.
func (pr poolRunner) TakeSlot() bool {
	r := pr.r
	for {
		n := r.slots.Load()
		if n >= int64(r.cfg.MaxConcurrency) {
			return false
		}
		if r.slots.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// ReleaseSlot gives one back.
func (pr poolRunner) ReleaseSlot() { pr.r.slots.Add(-1) }

// Closing reports that the runner is closing.
func (pr poolRunner) Closing() bool { return pr.r.closing.Load() }

// EvictIdle stops the least recently used idle sandbox of any function.
func (pr poolRunner) EvictIdle() bool {
	var victim *pool
	var oldest time.Time
	for _, p := range *pr.r.pools.Load() {
		if t, ok := p.OldestIdle(); ok && (victim == nil || t.Before(oldest)) {
			victim, oldest = p, t
		}
	}
	return victim != nil && victim.Evict()
}

// Why sandboxes are retired (see warmpool.Reason).
type retireReason = warmpool.Reason

const (
	retireStartFailed = warmpool.StartFailed
	retireExited      = warmpool.Exited
	retireTimeout     = warmpool.Timeout
	retireInitError   = warmpool.InitError
	retireDiscard     = warmpool.Discard
	retireCanceled    = warmpool.Canceled
	retireStream      = warmpool.Stream
	retireDraining    = warmpool.Draining
)

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

// counts reports idle and total sandboxes (for tests and diagnostics).
func (p *pool) counts() (idle, total int) {
	idle, _, total = p.Counts()
	return idle, total
}
