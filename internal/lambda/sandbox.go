package lambda

import (
	"context"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/lambda/execenv"
)

// sandbox is one execution environment as its pool holds it: the
// supervised runtime process (package execenv) and the runner's
// bookkeeping of it.
type sandbox struct {
	*execenv.Env
	pool *pool

	served bool // has taken an invocation (only the invoking goroutine touches it)

	logMu sync.Mutex
	tail  *tailBuf // the current invocation's log tail, nil when not wanted
}

// view is where a runtime sees its code and its layers (see execenv.View).
type view = execenv.View

// startSandbox starts a runtime process for p's function; withTail starts
// the first invocation's log tail before the process writes anything.
// Errors are start failures to report as Runtime.InvalidEntrypoint.
func (p *pool) startSandbox(ctx context.Context, cmdSpec *Command, withTail bool) (*sandbox, error) {
	r := p.r
	sb := &sandbox{pool: p}
	if withTail {
		sb.tail = &tailBuf{}
	}
	env, err := r.host.Start(execenv.Spec{
		Function:     p.fn.Name,
		Command:      cmdSpec,
		CodeDir:      p.fn.CodeDir,
		OptDir:       p.fn.OptDir,
		TmpMB:        p.fn.EphemeralStorageMB,
		MemoryMB:     p.fn.MemoryMB,
		AddressSpace: !strings.HasPrefix(p.fn.Runtime, "nodejs"),
		Env: func(runtimeAPI string, v view) []string {
			return r.sandboxEnv(&p.fn, cmdSpec, runtimeAPI, v)
		},
		Log: sb.logLine,
	})
	if err != nil {
		return nil, err
	}
	sb.Env = env
	return sb, nil
}

// logLine writes one line to the function's log and the invocation tail.
func (sb *sandbox) logLine(line []byte) {
	sb.pool.logs.write(line)
	sb.logMu.Lock()
	if sb.tail != nil {
		sb.tail.writeLine(line)
	}
	sb.logMu.Unlock()
}

// platformLine writes a line of the platform's own (START, END, REPORT...).
func (sb *sandbox) platformLine(s string) { sb.logLine([]byte(s)) }
