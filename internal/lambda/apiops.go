package lambda

import (
	"context"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// What the Invoke API (package invokeapi) asks of the runner beyond
// invoking: resolving a function, its log, its asynchronous configuration.

// Resolve resolves a FunctionName (a name, a partial or full ARN, with an
// optional :qualifier) and a Qualifier to a deployed function: its name and
// unqualified ARN. Errors are *invocation.ServiceError (bad name, not found).
func (r *Runner) Resolve(functionName, qualifier string) (name, arn string, err error) {
	p, _, err := r.findFunction(functionName, qualifier)
	if err != nil {
		return "", "", err
	}
	return p.fn.Name, p.arn, nil
}

// FunctionARN is the unqualified ARN a function of that name has (or would
// have) in the runner's region and account.
func (r *Runner) FunctionARN(name string) string {
	return FunctionARN(r.cfg.Region, r.cfg.AccountID, name)
}

// Now is the runner's clock.
func (r *Runner) Now() time.Time { return r.now() }

// WatchLogs passes the lines of function's buffered log that f selects to
// emit, in one call (possibly empty), then, when follow is true, the new
// lines as they come, a burst coalesced into one call, until ctx ends, the
// runner closes, or emit fails. An unknown function is a *invocation.ServiceError
// before any emit.
func (r *Runner) WatchLogs(ctx context.Context, function string, f invocation.LogFilter, follow bool, emit func([]byte) error) error {
	b := r.logBufferIfExists(function)
	if b == nil {
		return invocation.FunctionNotFound(FunctionARN(r.cfg.Region, r.cfg.AccountID, function))
	}
	lf := newLineFilter(f)
	var out []byte
	collect := func(l []byte) { out = append(out, l...) }
	if !follow {
		for _, e := range b.snapshot() {
			lf.add(e, collect)
		}
		return emit(out)
	}
	lines, sub := b.subscribe()
	defer b.unsubscribe(sub)
	for _, e := range lines {
		lf.add(e, collect)
	}
	if err := emit(out); err != nil {
		return err
	}
	for {
		select {
		case e := <-sub.C:
			out = out[:0]
			lf.add(e, collect)
			for n := len(sub.C); n > 0; n-- {
				lf.add(<-sub.C, collect)
			}
			if len(out) == 0 {
				continue
			}
			if err := emit(out); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		case <-r.stop:
			return nil
		}
	}
}

// EventInvokeConfigOf returns a function's effective asynchronous
// configuration; ok is false when it has none.
func (r *Runner) EventInvokeConfigOf(name string) (c invocation.EventInvokeConfig, ok bool) {
	p := r.events.config(name)
	if p == nil {
		return invocation.EventInvokeConfig{}, false
	}
	return *p, true
}

// UpdateEventInvokeConfig sets function's asynchronous configuration to
// what set makes of a zero configuration or, with merge, of the present
// one; found is false (and nothing changes) when merge finds none. The
// result is checked as Lambda does, its destinations must be deployed
// functions (errors are *invocation.ServiceError), and it is stamped with the runner's
// clock. set runs with the configuration lock held: it must not call the
// runner.
func (r *Runner) UpdateEventInvokeConfig(function string, merge bool, set func(*invocation.EventInvokeConfig)) (c invocation.EventInvokeConfig, found bool, err error) {
	q := &r.events
	q.cfgMu.Lock()
	defer q.cfgMu.Unlock()
	if merge {
		old := q.cfgs[function]
		if old == nil {
			return invocation.EventInvokeConfig{}, false, nil
		}
		c = *old
	}
	set(&c)
	if err := r.checkDestinations(c); err != nil {
		return invocation.EventInvokeConfig{}, true, err
	}
	c.LastModified = r.now()
	q.cfgs[function] = &c
	return c, true, nil
}

// DeleteEventInvokeConfig removes function's asynchronous configuration;
// found is false when it had none.
func (r *Runner) DeleteEventInvokeConfig(function string) (found bool) {
	q := &r.events
	q.cfgMu.Lock()
	defer q.cfgMu.Unlock()
	_, found = q.cfgs[function]
	delete(q.cfgs, function)
	return found
}

// checkDestinations validates c as Lambda does, and checks that each
// destination function is deployed.
func (r *Runner) checkDestinations(c invocation.EventInvokeConfig) error {
	if err := CheckEventInvokeConfig(c); err != nil {
		return err
	}
	for _, d := range []string{c.OnSuccess, c.OnFailure} {
		if d == "" {
			continue
		}
		if _, _, err := r.findFunction(d, ""); err != nil {
			return invocation.InvalidParameter(fmt.Sprintf("The destination ARN %s is invalid: no such function.", d))
		}
	}
	return nil
}
