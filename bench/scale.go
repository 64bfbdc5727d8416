package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	Name    string // without the Benchmark prefix's -GOMAXPROCS suffix
	NsPerOp float64
}

var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// parseGoBench extracts the ns/op lines of `go test -bench` output.
func parseGoBench(out string) ([]benchLine, error) {
	var res []benchLine
	for line := range strings.Lines(out) {
		m := benchRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("go test -bench: %q: %w", line, err)
		}
		res = append(res, benchLine{Name: m[1], NsPerOp: v})
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("go test -bench: no result lines in %q", truncate(out, 300))
	}
	return res, nil
}

// routesKind splits "BenchmarkMatch/routes=1000/mixed" into 1000 and "mixed".
func routesKind(name string) (int, string, bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 {
		return 0, "", false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(parts[1], "routes="))
	if err != nil {
		return 0, "", false
	}
	return n, parts[2], true
}

func (h *harness) routing(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "routing", Title: "Scale: route matching at 10, 1 000 and 10 000 routes"}
	b, err := os.ReadFile(h.path("internal/router/bench_test.go"))
	if err != nil || !strings.Contains(string(b), "func BenchmarkMatch(") {
		return s, errUnavailable{"BenchmarkMatch in internal/router"}
	}
	bt := "500ms"
	if h.short {
		bt = "100ms"
	}
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkMatch$", "-benchtime", bt, "-count", strconv.Itoa(h.rounds), "./internal/router/"}
	s.Commands = []string{"go " + strings.Join(args, " ")}
	s.Notes = append(s.Notes, "Figures from the router's own Go benchmark (internal/router/bench_test.go); one -count per round. Baseline: the same request kind against 10 routes.")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = h.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return s, fmt.Errorf("go test -bench: %w: %s", err, truncate(string(out), 500))
	}
	lines, err := parseGoBench(string(out))
	if err != nil {
		return s, err
	}
	cases := map[string]*Case{}
	for _, l := range lines {
		n, kind, ok := routesKind(l.Name)
		if !ok {
			continue
		}
		c := cases[kind]
		if c == nil {
			c = &Case{Name: kind, Baseline: "10 routes", Metrics: []string{mNsOp}}
			cases[kind] = c
			s.Cases = append(s.Cases, c)
		}
		c.series(fmt.Sprintf("%d routes", n)).add(mNsOp, l.NsPerOp)
	}
	if len(s.Cases) == 0 {
		return s, fmt.Errorf("go test -bench: no BenchmarkMatch/routes=N/kind lines")
	}
	return s, nil
}

// manyFunctionsSpec declares n copies of the Go echo.
func manyFunctionsSpec(n int, dir string) string {
	var b strings.Builder
	b.WriteString("functions:\n")
	for i := range n {
		fmt.Fprintf(&b, "  fn%05d: {runtime: provided.al2023, code: %q}\n", i, dir)
	}
	return b.String()
}

// idleFigures waits settle, then reads the idle RSS of pid, the peak, and
// its descendants' RSS and count.
func idleFigures(pid int, settle time.Duration, s *Series) {
	time.Sleep(settle)
	if v, err := readStatusKB(pid, "VmRSS"); err == nil {
		s.add(mIdle, float64(v))
	}
	if v, err := readStatusKB(pid, "VmHWM"); err == nil {
		s.add(mPeak, float64(v))
	}
	kids := descendants(pid)
	s.add(mFnIdle, float64(sumKB(kids, "VmRSS")))
	s.add(mProcs, float64(len(kids)))
}

func (h *harness) manyFunctions(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "functions1000", Title: "Scale: 1 000 declared functions"}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	s.Notes = append(s.Notes, "Start-up is from exec of `portico up` to its `ready` line; idle RSS is the gateway process's VmRSS 1 s after ready, function processes apart. Baseline: the same spec with one function.")
	c := &Case{Name: "start-up and idle memory", Baseline: "1 function", Metrics: []string{mStartup, mIdle, mPeak, mFnIdle, mProcs}}
	specs := map[string]string{}
	for _, n := range []int{1, 1000} {
		p := filepath.Join(h.work, fmt.Sprintf("fns%d", n), "portico.yaml")
		if err := writeFile(p, manyFunctionsSpec(n, h.goechoDir)); err != nil {
			return s, err
		}
		specs[fmt.Sprintf("%d function", n)] = p
	}
	specs["1000 functions"] = specs["1000 function"]
	for round := range h.rounds {
		for _, name := range []string{"1 function", "1000 functions"} {
			h.logf("  functions1000 / %s, round %d", name, round+1)
			err := func() error {
				cl := &cleanups{}
				defer cl.run()
				pt, err := startPortico(ctx, cl, h.porticoBin, specs[name])
				if err != nil {
					return err
				}
				sr := c.series(name)
				sr.add(mStartup, float64(pt.startup)/float64(time.Millisecond))
				idleFigures(pt.pid(), time.Second, sr)
				return nil
			}()
			if err != nil {
				return s, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	s.Cases = append(s.Cases, c)
	return s, nil
}

func (h *harness) idle(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "idle", Title: "Idle gateway memory with the seed example"}
	seed := h.path("examples/seed/portico.yaml")
	if !fileExists(seed) {
		return s, errUnavailable{"examples/seed/portico.yaml"}
	}
	if h.porticoBin == "" {
		return s, errUnavailable{"the portico binary (" + h.porticoWhy + ")"}
	}
	s.Notes = append(s.Notes, "Idle RSS is VmRSS 1 s after start, with no traffic; function processes (if any were started) apart. Baseline: the bare `httputil.ReverseProxy` program, the smallest Go HTTP server one could run instead.")
	c := &Case{Name: caseIdle, Baseline: "revproxy", Metrics: []string{mIdle, mPeak, mFnIdle, mProcs}}
	for round := range h.rounds {
		err := func() error {
			cl := &cleanups{}
			defer cl.run()
			h.logf("  idle / round %d", round+1)
			rp, err := start(cl, h.work, h.revproxyBin, "-upstream", "http://127.0.0.1:9")
			if err != nil {
				return err
			}
			if _, err := rp.waitListening(ctx); err != nil {
				return err
			}
			idleFigures(rp.pid(), time.Second, c.series("revproxy"))
			if h.peers.nginx != "" {
				ng, _, err := startNginx(ctx, cl, h.peers.nginx, h.work, "127.0.0.1:9")
				if err != nil {
					return err
				}
				sr := c.series("nginx")
				idleFigures(ng.pid(), time.Second, sr)
				// nginx's memory is master and worker together.
				kids := descendants(ng.pid())
				sr.Values[mIdle][len(sr.Values[mIdle])-1] += float64(sumKB(kids, "VmRSS"))
				sr.Values[mPeak][len(sr.Values[mPeak])-1] += float64(sumKB(kids, "VmHWM"))
				sr.Values[mFnIdle][len(sr.Values[mFnIdle])-1] = 0
				sr.Values[mProcs][len(sr.Values[mProcs])-1] = 0
			}
			pt, err := startPortico(ctx, cl, h.porticoBin, seed)
			if err != nil {
				return err
			}
			idleFigures(pt.pid(), time.Second, c.series("portico-seed"))
			return nil
		}()
		if err != nil {
			return s, err
		}
	}
	c.Notes = append(c.Notes, "nginx: master and worker summed; its function columns are 0 by definition.")
	s.Cases = append(s.Cases, c)
	return s, nil
}
