package execenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// pidsLimiter caps each sandbox's processes and threads with the cgroup
// pids controller, when the machine delegates it to us: a group per
// sandbox in the v1 pids hierarchy, or pids.max in the sandbox's v2 memory
// group. Without it, a sandbox running under a UID of its own is capped by
// RLIMIT_NPROC instead (see sandbox.Spec.Pids).
type pidsLimiter struct {
	mode string // MemoryCgroup1 (own hierarchy), MemoryCgroup2 (in the memory group), "" none
	base string // v1: our parent group in the pids hierarchy
	seq  atomic.Int64
}

// newPidsLimiter probes the pids controller beside mem.
func newPidsLimiter(mem *memLimiter) *pidsLimiter {
	if mem.mode == MemoryCgroup2 {
		os.WriteFile(filepath.Join(filepath.Dir(mem.base), "cgroup.subtree_control"), []byte("+pids"), 0)
		if err := os.WriteFile(filepath.Join(mem.base, "cgroup.subtree_control"), []byte("+pids"), 0); err == nil {
			return &pidsLimiter{mode: MemoryCgroup2}
		}
	}
	mount, own := v1PidsHierarchy()
	if mount == "" {
		return &pidsLimiter{}
	}
	base := filepath.Join(mount, own, fmt.Sprintf("portico-%d", os.Getpid()))
	if err := os.Mkdir(base, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return &pidsLimiter{}
	}
	if _, err := os.Stat(filepath.Join(base, "pids.max")); err != nil {
		os.Remove(base)
		return &pidsLimiter{}
	}
	return &pidsLimiter{mode: MemoryCgroup1, base: base}
}

// v1PidsHierarchy is the v1 pids controller's mount point and our group
// in it; "" when there is none.
func v1PidsHierarchy() (mount, own string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", ""
	}
	root := "/"
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) >= 5 && len(qf) >= 3 && qf[0] == "cgroup" && slicesContains(strings.Split(qf[2], ","), "pids") {
			mount, root = pf[4], pf[3]
			break
		}
	}
	if mount == "" {
		return "", ""
	}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(string(cg), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && slicesContains(strings.Split(parts[1], ","), "pids") {
			own = strings.TrimPrefix(parts[2], root)
		}
	}
	if _, err := os.Stat(filepath.Join(mount, own, "cgroup.procs")); err != nil {
		own = "/" // a cgroup namespace: our group is the mount's root
	}
	return mount, own
}

// pidsGroup is one sandbox's pids group ("" dir: none, or the memory
// group's).
type pidsGroup struct{ dir string }

// attach caps pid's sandbox at max processes; mem is its memory group (v2
// writes pids.max there). It never fails: the sandbox is then capped by
// RLIMIT_NPROC only.
func (l *pidsLimiter) attach(pid, max int, mem *memGroup) *pidsGroup {
	g := &pidsGroup{}
	lim := []byte(strconv.Itoa(max))
	switch l.mode {
	case MemoryCgroup2:
		if mem.dir != "" {
			os.WriteFile(filepath.Join(mem.dir, "pids.max"), lim, 0)
		}
	case MemoryCgroup1:
		dir := filepath.Join(l.base, fmt.Sprintf("sb-%d", l.seq.Add(1)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return g
		}
		if os.WriteFile(filepath.Join(dir, "pids.max"), lim, 0) != nil ||
			os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0) != nil {
			os.Remove(dir)
			return g
		}
		g.dir = dir
	}
	return g
}

// remove deletes a v1 group once its processes are gone.
func (g *pidsGroup) remove() {
	if g == nil || g.dir == "" {
		return
	}
	for i := 0; i < 50; i++ {
		if err := os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// close removes our parent group.
func (l *pidsLimiter) close() {
	if l.base != "" {
		os.Remove(l.base)
	}
}
