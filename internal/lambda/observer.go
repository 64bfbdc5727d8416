package lambda

import (
	"context"

	"github.com/portico-dev/portico/internal/invocation"
)

// Observer receives what the runner does, for metrics. The runner calls it
// on the invocation path, sometimes with a pool's lock held: methods must be
// cheap, must not block, must not call back into the Runner, and must be
// safe for concurrent use. A nil Observer (the default) costs one
// comparison per event.
type Observer interface {
	// Invoked reports one invocation that reached a function: it ran,
	// failed, timed out, could not start, or its caller went away.
	// Throttled and rejected invocations are not reported here.
	Invoked(function string, s invocation.Stats)
	// Throttled reports an invocation rejected with 429 because the
	// function's reserved concurrency or the runner's global cap was
	// reached; reason is invocation.ServiceError.Reason.
	Throttled(function, reason string)
	// SandboxChanged reports that one sandbox of function moved from one
	// state to another. Summing the transitions per function gives the
	// current number of sandboxes in each state, across redeploys.
	SandboxChanged(function string, from, to invocation.SandboxState)
}

// InvokeTracer wraps each invocation in a trace span. StartInvoke is called
// once per invocation that reaches a function, with the caller's context;
// it returns the X-Ray trace header to give the function when the request
// carries no TraceID ("" for none) and a func the runner calls exactly once
// when the invocation ends. Implementations are safe for concurrent use.
type InvokeTracer interface {
	StartInvoke(ctx context.Context, function string) (traceHeader string, end func(invocation.Stats))
}

// invoked reports a finished invocation.
func (r *Runner) invoked(p *pool, s invocation.Stats) {
	if o := r.obs; o != nil {
		o.Invoked(p.fn.Name, s)
	}
}
