package execenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Memory enforcement modes, best first.
const (
	MemoryCgroup2 = "cgroup2" // a cgroup v2 child per sandbox: memory.max, memory.peak, memory.events
	MemoryCgroup1 = "cgroup1" // a cgroup v1 memory child per sandbox: memory.limit_in_bytes, max_usage, oom_control
	MemoryRlimit  = "rlimit"  // RLIMIT_AS on the runtime process (not for Node.js); peak from /proc VmHWM
	MemoryNone    = "none"    // no limit; peak from /proc VmHWM
)

// memLimiter puts each sandbox's processes under its function's memory
// limit with the best mechanism the machine allows (probed once by New).
type memLimiter struct {
	mode string
	base string // our cgroup directory for sandboxes (cgroup modes)
	seq  atomic.Int64
}

// newMemLimiter probes the machine. want forces a mode ("" = best
// available); a forced mode that is unavailable falls back like auto.
func newMemLimiter(want string) *memLimiter {
	if want == MemoryNone || want == MemoryRlimit {
		return &memLimiter{mode: want}
	}
	mounts := readCgroupMounts()
	if want == "" || want == MemoryCgroup2 {
		if dir, ok := probeCgroup2(mounts); ok {
			return &memLimiter{mode: MemoryCgroup2, base: dir}
		}
	}
	if dir, ok := probeCgroup1(mounts); ok {
		return &memLimiter{mode: MemoryCgroup1, base: dir}
	}
	return &memLimiter{mode: MemoryRlimit}
}

type cgroupMounts struct {
	v2, v1mem         string // mount points
	v1memRoot         string // root of the v1 memory mount inside its hierarchy
	v2path, v1memPath string // our cgroup paths from /proc/self/cgroup
}

func readCgroupMounts() cgroupMounts {
	var m cgroupMounts
	if f, err := os.Open("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// id parent maj:min root mountpoint opts... - fstype source superopts
			pre, post, ok := strings.Cut(sc.Text(), " - ")
			if !ok {
				continue
			}
			pf, qf := strings.Fields(pre), strings.Fields(post)
			if len(pf) < 5 || len(qf) < 3 {
				continue
			}
			switch qf[0] {
			case "cgroup2":
				if m.v2 == "" {
					m.v2 = pf[4]
				}
			case "cgroup":
				if slicesContains(strings.Split(qf[2], ","), "memory") {
					m.v1mem, m.v1memRoot = pf[4], pf[3]
				}
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			if parts[0] == "0" && parts[1] == "" {
				m.v2path = parts[2]
			}
			if slicesContains(strings.Split(parts[1], ","), "memory") {
				m.v1memPath = parts[2]
			}
		}
	}
	return m
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// probeCgroup2 creates our sandbox parent under our own v2 cgroup (or its
// parent, as v2 forbids controllers in groups that hold processes) with the
// memory controller enabled for its children.
func probeCgroup2(m cgroupMounts) (string, bool) {
	if m.v2 == "" {
		return "", false
	}
	own := filepath.Join(m.v2, m.v2path)
	ctrl, err := os.ReadFile(filepath.Join(own, "cgroup.controllers"))
	if err != nil || !slicesContains(strings.Fields(string(ctrl)), "memory") {
		return "", false
	}
	base := filepath.Join(own, fmt.Sprintf("portico-%d", os.Getpid()))
	if err := os.Mkdir(base, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", false
	}
	// Our group must delegate memory to base, and base to its children.
	os.WriteFile(filepath.Join(own, "cgroup.subtree_control"), []byte("+memory"), 0)
	if err := os.WriteFile(filepath.Join(base, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
		os.Remove(base)
		return "", false
	}
	probe := filepath.Join(base, "probe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		os.Remove(base)
		return "", false
	}
	_, err = os.Stat(filepath.Join(probe, "memory.max"))
	os.Remove(probe)
	if err != nil {
		os.Remove(base)
		return "", false
	}
	return base, true
}

// probeCgroup1 creates our sandbox parent in the v1 memory hierarchy under
// our own memory cgroup and checks that limits can be written.
func probeCgroup1(m cgroupMounts) (string, bool) {
	if m.v1mem == "" {
		return "", false
	}
	rel := m.v1memPath
	if m.v1memRoot != "/" && strings.HasPrefix(rel, m.v1memRoot) {
		rel = strings.TrimPrefix(rel, m.v1memRoot)
	}
	own := filepath.Join(m.v1mem, rel)
	if _, err := os.Stat(filepath.Join(own, "memory.limit_in_bytes")); err != nil {
		own = m.v1mem // a cgroup namespace: our group is the mount root
	}
	base := filepath.Join(own, fmt.Sprintf("portico-%d", os.Getpid()))
	if err := os.Mkdir(base, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", false
	}
	probe := filepath.Join(base, "probe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		os.Remove(base)
		return "", false
	}
	err := os.WriteFile(filepath.Join(probe, "memory.limit_in_bytes"), []byte("134217728"), 0)
	os.Remove(probe)
	if err != nil {
		os.Remove(base)
		return "", false
	}
	return base, true
}

// rlimitHeadroom is added to the memory size for the RLIMIT_AS fallback.
const rlimitHeadroom = 2 << 30

// memGroup is one sandbox's memory accounting.
type memGroup struct {
	mode string
	dir  string // cgroup modes
	pid  int

	// peak is the cgroup's peak-usage file, kept open: every invocation's
	// REPORT line reads it, and one pread is much cheaper than opening the
	// file each time.
	peakOnce sync.Once
	peak     *os.File
}

// attach puts pid (just started) under a limit of mb MiB. rlimitOK says
// whether RLIMIT_AS may be used (not for V8-based runtimes). It never fails:
// if the preferred mechanism does not work for this process, the group
// only measures.
func (l *memLimiter) attach(pid, mb int, rlimitOK bool) *memGroup {
	g := &memGroup{mode: l.mode, pid: pid}
	limit := int64(mb) << 20
	switch l.mode {
	case MemoryCgroup1, MemoryCgroup2:
		dir := filepath.Join(l.base, fmt.Sprintf("sb-%d", l.seq.Add(1)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			g.mode = MemoryNone
			return g
		}
		g.dir = dir
		lim := strconv.FormatInt(limit, 10)
		if l.mode == MemoryCgroup2 {
			os.WriteFile(filepath.Join(dir, "memory.max"), []byte(lim), 0)
			os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
		} else {
			os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(lim), 0)
			os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(lim), 0)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			os.Remove(dir)
			g.dir, g.mode = "", MemoryNone
		}
	case MemoryRlimit:
		if !rlimitOK {
			g.mode = MemoryNone
			return g
		}
		// Address space is not memory: runtimes reserve far more than they
		// use (a Go 1.26 binary needs ~1.3 GiB just to start), so the cap is the
		// function's memory plus rlimitHeadroom.
		as := uint64(limit + rlimitHeadroom)
		if err := limitAddressSpace(pid, as); err != nil {
			g.mode = MemoryNone
		}
	}
	return g
}

// peakMB is the peak memory use so far, in MiB (rounded up), 0 when unknown.
func (g *memGroup) peakMB() int {
	g.peakOnce.Do(func() {
		name := ""
		switch g.mode {
		case MemoryCgroup1:
			name = "memory.max_usage_in_bytes"
		case MemoryCgroup2:
			name = "memory.peak"
			if _, err := os.Stat(filepath.Join(g.dir, name)); err != nil {
				name = "memory.current" // kernels before 5.19
			}
		}
		if name != "" && g.dir != "" {
			g.peak, _ = os.Open(filepath.Join(g.dir, name))
		}
	})
	var b int64
	if g.peak != nil {
		var buf [32]byte
		n, _ := g.peak.ReadAt(buf[:], 0)
		b, _ = strconv.ParseInt(strings.TrimSpace(string(buf[:n])), 10, 64)
	}
	if b == 0 {
		b = vmHWM(g.pid)
	}
	return int((b + 1<<20 - 1) >> 20)
}

// oomKilled reports whether the kernel's OOM killer killed a process of the
// group (cgroup modes only).
func (g *memGroup) oomKilled() bool {
	var file string
	switch g.mode {
	case MemoryCgroup1:
		file = "memory.oom_control"
	case MemoryCgroup2:
		file = "memory.events"
	default:
		return false
	}
	b, _ := os.ReadFile(filepath.Join(g.dir, file))
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("oom_kill ")); ok {
			n, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
			return n > 0
		}
	}
	return false
}

// killAll SIGKILLs every process in the group (cgroup modes), catching
// processes that left the runtime's process group.
func (g *memGroup) killAll() {
	if g.dir == "" {
		return
	}
	b, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// remove deletes the group once its processes are gone (retrying briefly
// while the kernel finishes reaping them).
func (g *memGroup) remove() {
	g.peakOnce.Do(func() {}) // no peak file may be opened after this
	if g.peak != nil {
		g.peak.Close()
	}
	if g.dir == "" {
		return
	}
	for i := 0; i < 50; i++ {
		if err := os.Remove(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		g.killAll()
		time.Sleep(10 * time.Millisecond)
	}
}

// close removes the sandbox parent group.
func (l *memLimiter) close() {
	if l.base != "" {
		os.Remove(l.base)
	}
}

// vmHWM is the resident-set high-water mark of pid in bytes, 0 if unknown.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte("VmHWM:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(f[0], 10, 64)
	return kb << 10
}
