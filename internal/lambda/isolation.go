package lambda

import (
	"net"

	"github.com/portico-dev/portico/internal/lambda/execenv"
)

// Isolation modes of Config.Isolation (see execenv).
const (
	IsolationAuto    = execenv.IsolationAuto    // sandboxes where the machine allows them, else none (IsolationStatus says why)
	IsolationSandbox = execenv.IsolationSandbox // sandboxes, or New fails
	IsolationNone    = execenv.IsolationNone    // plain processes that share the runner's user, files and processes
)

// Memory enforcement modes of Config.MemoryLimit, best first (see execenv).
const (
	MemoryCgroup2 = execenv.MemoryCgroup2
	MemoryCgroup1 = execenv.MemoryCgroup1
	MemoryRlimit  = execenv.MemoryRlimit
	MemoryNone    = execenv.MemoryNone
)

// UIDRange is a range of user (and group) IDs for sandboxes when the runner
// runs as root: each sandbox takes one of its own for its life.
type UIDRange = execenv.UIDRange

// IsolationStatus says whether functions run in sandboxes and how ("sandbox
// (dedicated-uid)"), or why not (e.g. "turned off with --isolation=none").
func (r *Runner) IsolationStatus() (isolated bool, detail string) { return r.host.Isolated() }

// RefuseSandboxes wraps ln, a listener of Portico's that is not for
// functions (the admin listener: console, metrics, profiles), so that
// connections opened from inside a sandbox are closed unread (see
// execenv.Host.RefuseSandboxes). Without isolation it returns ln itself.
func (r *Runner) RefuseSandboxes(ln net.Listener) net.Listener {
	return r.host.RefuseSandboxes(ln, r.runtimePIDs)
}

// runtimePIDs lists the runtime processes of every sandbox.
func (r *Runner) runtimePIDs() []int {
	var out []int
	for _, p := range *r.pools.Load() {
		p.Each(func(sb *sandbox) { out = append(out, sb.PID()) })
	}
	return out
}
