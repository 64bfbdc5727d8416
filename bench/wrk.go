package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkScript is the Lua script given to wrk: it sets the method and body and,
// in the done hook, prints one line with the totals and the latency
// percentiles wrk computed over every request of the run.
func wrkScript(method string, bodyBytes int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk.method = %q\n", method)
	if bodyBytes > 0 {
		fmt.Fprintf(&b, "wrk.body = string.rep(\"x\", %d)\n", bodyBytes)
		b.WriteString("wrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n")
	}
	b.WriteString(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d socket_errors=%d status_errors=%d timeouts=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`)
	return b.String()
}

// wrkResult is what the done hook reports.
type wrkResult struct {
	Requests, SocketErrors, StatusErrors, Timeouts int64
	Duration                                       time.Duration
	P50, P99, P999                                 time.Duration
}

// parseWrk finds the BENCH line in wrk's output.
func parseWrk(out string) (wrkResult, error) {
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "BENCH ")
		if !ok {
			continue
		}
		vals := map[string]int64{}
		for _, kv := range strings.Fields(rest) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return wrkResult{}, fmt.Errorf("wrk output: malformed field %q", kv)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return wrkResult{}, fmt.Errorf("wrk output: field %s: %w", k, err)
			}
			vals[k] = n
		}
		for _, k := range []string{"requests", "duration_us", "socket_errors", "status_errors", "timeouts", "p50_us", "p99_us", "p999_us"} {
			if _, ok := vals[k]; !ok {
				return wrkResult{}, fmt.Errorf("wrk output: missing %s", k)
			}
		}
		us := func(k string) time.Duration { return time.Duration(vals[k]) * time.Microsecond }
		return wrkResult{
			Requests: vals["requests"], SocketErrors: vals["socket_errors"],
			StatusErrors: vals["status_errors"], Timeouts: vals["timeouts"],
			Duration: us("duration_us"), P50: us("p50_us"), P99: us("p99_us"), P999: us("p999_us"),
		}, nil
	}
	return wrkResult{}, fmt.Errorf("wrk output: no BENCH line in %q", truncate(out, 200))
}

// runWrk runs wrk with one thread against url for d (whole seconds, at least 1).
func runWrk(ctx context.Context, wrk, dir, url, method string, body, conns int, d time.Duration) (wrkResult, error) {
	script := filepath.Join(dir, fmt.Sprintf("wrk-%s-%d.lua", method, body))
	if err := os.WriteFile(script, []byte(wrkScript(method, body)), 0o644); err != nil {
		return wrkResult{}, fmt.Errorf("wrk: script: %w", err)
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "--timeout", "5s", "-s", script, url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", url, err, truncate(string(out), 300))
	}
	return parseWrk(string(out))
}

// firstLine returns the first non-empty line of s.
func firstLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			return t
		}
	}
	return ""
}
