package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat is what the harness reads from /proc/PID/stat.
type procStat struct {
	PPID  int
	Ticks uint64 // utime + stime, in clock ticks
	// ChildTicks is cutime + cstime: the CPU of children it has reaped.
	ChildTicks uint64
}

// parseStat parses the text of /proc/PID/stat. The command name may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("proc stat: no ')' in %q", truncate(s, 60))
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("proc stat: %d fields after the name, want at least 15", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: ppid: %w", err)
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: utime: %w", err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: stime: %w", err)
	}
	cut, err := strconv.ParseUint(f[13], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: cutime: %w", err)
	}
	cst, err := strconv.ParseUint(f[14], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: cstime: %w", err)
	}
	return procStat{PPID: ppid, Ticks: ut + st, ChildTicks: cut + cst}, nil
}

// parseStatusKB returns the value in kB of key (such as "VmHWM") in the text
// of /proc/PID/status.
func parseStatusKB(s, key string) (int64, error) {
	for line := range strings.Lines(s) {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("proc status: %s: malformed %q", key, strings.TrimSpace(rest))
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc status: %s: %w", key, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("proc status: no %s", key)
}

// readStat reads /proc/PID/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// readStatusKB reads one kB field of /proc/PID/status.
func readStatusKB(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(string(b), key)
}

// descendants returns every live descendant of pid (not pid itself).
func descendants(pid int) []int {
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(filepath.Base(filepath.Dir(e)))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(e)
		if err != nil {
			continue // exited meanwhile
		}
		st, err := parseStat(string(b))
		if err != nil {
			continue
		}
		children[st.PPID] = append(children[st.PPID], n)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// cpuTicks is the CPU time of pid alone or, with tree, of pid and its
// descendants: live ones by their utime+stime, reaped ones through their
// parents' cutime+cstime, so that the sum never goes down when a child
// exits and is waited for.
func cpuTicks(pid int, tree bool) uint64 {
	st, err := readStat(pid)
	if err != nil {
		return 0
	}
	if !tree {
		return st.Ticks
	}
	sum := st.Ticks + st.ChildTicks
	for _, p := range descendants(pid) {
		if st, err := readStat(p); err == nil {
			sum += st.Ticks + st.ChildTicks
		}
	}
	return sum
}

// tickDelta is after-before, 0 if the counter went backwards (a child
// exited without being waited for).
func tickDelta(before, after uint64) uint64 {
	if after < before {
		return 0
	}
	return after - before
}

// sumKB sums key (VmHWM, VmRSS) over pids, skipping exited ones.
func sumKB(pids []int, key string) int64 {
	var sum int64
	for _, p := range pids {
		if v, err := readStatusKB(p, key); err == nil {
			sum += v
		}
	}
	return sum
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
