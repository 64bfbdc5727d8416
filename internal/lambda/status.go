package lambda

import "sort"

// FunctionStatus is a function's sandboxes at one moment.
type FunctionStatus struct {
	Name, Runtime string
	MemoryMB      int
	Idle, Busy    int // warm sandboxes waiting, and those running an invocation
	Starting      int // sandboxes in their init phase
}

// Functions reports every deployed function's sandboxes, by name.
func (r *Runner) Functions() []FunctionStatus {
	pools := *r.pools.Load()
	out := make([]FunctionStatus, 0, len(pools))
	for _, p := range pools {
		idle, busy, total := p.Counts()
		s := FunctionStatus{Name: p.fn.Name, Runtime: p.fn.Runtime, MemoryMB: p.fn.MemoryMB, Idle: idle, Busy: busy}
		s.Starting = total - s.Idle - s.Busy
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
