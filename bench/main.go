// Command bench measures Portico against the peers a user would pick
// instead — nginx, a bare httputil.ReverseProxy, the AWS Lambda Runtime
// Interface Emulator — on this machine, in one run, and writes
// docs/benchmarks.md with PNG plots under docs/bench/.
//
// Usage, from the repository root:
//
//	go run ./bench                 # full run (~10 minutes), writes docs/
//	go run ./bench -save-baseline  # ... and bench/baseline.json
//	go run ./bench -short          # regression guard (<3 minutes): writes bench/out/,
//	                               # compares with bench/baseline.json, exit 3 on a regression
//	go run ./bench -only 'gateway/.*/nginx'
//
// Every figure is a ratio against a baseline measured in the same run, with
// the range over interleaved rounds. Every process the harness starts is
// stopped by PID at the end, on error and on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

func run() int {
	short := flag.Bool("short", false, "regression guard: short rounds, results to bench/out, compared with bench/baseline.json")
	only := flag.String("only", "", "run only contenders whose `scenario/case/contender` matches this regexp (baselines always run)")
	out := flag.String("out", "", "directory for benchmarks.md and its bench/ plots (default docs, or bench/out with -short)")
	saveBaseline := flag.Bool("save-baseline", false, "write the results to bench/baseline.json")
	flag.Parse()

	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h := &harness{short: *short, logf: logf, cl: &cleanups{}, rounds: 5, dur: 3 * time.Second, clkTck: 100}
	defer h.cl.run()
	if *short {
		h.rounds, h.dur = 3, time.Second
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			logf("-only: %v", err)
			return 2
		}
		h.only = re
	}
	if err := setup(ctx, h); err != nil {
		logf("%v", err)
		return 1
	}
	if *out == "" {
		*out = filepath.Join(h.root, "docs")
		if *short {
			*out = filepath.Join(h.root, "bench", "out")
		}
	}

	mode := "full"
	if *short {
		mode = "short"
	}
	cmdline := "go run ./bench " + strings.Join(os.Args[1:], " ")
	r := &Results{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Mode:    fmt.Sprintf("%s (%d rounds of %s per contender)", mode, h.rounds, h.dur),
		Machine: machine(),
		Peers:   h.peers.versions,
		Commands: []string{strings.TrimSpace(cmdline),
			"go build -o WORK/portico ./cmd/portico",
			"CGO_ENABLED=0 go build -tags lambda.norpc -o WORK/goecho/bootstrap ./bench/cmd/goecho",
			"go build -o WORK/upstream ./bench/cmd/upstream && go build -o WORK/revproxy ./bench/cmd/revproxy",
			"go build -o WORK/devissuer ./examples/access/devissuer && go build -o WORK/sse ./bench/cmd/sse"},
	}
	for _, sc := range []struct {
		id, title  string
		fn         func(*harness, context.Context) (*Scenario, error)
		contenders []string
	}{
		{"gateway", "Gateway overhead", (*harness).gateway, []string{"nginx", "direct", "revproxy", "portico"}},
		{"tls", "TLS termination", (*harness).tls, []string{"nginx", "portico"}},
		{"functions", "Functions: warm invokes", (*harness).functions, []string{"rie", "portico", "c8", "invoke", "route", "go", "python", "node"}},
		{"coldstart", "Cold starts", (*harness).coldstart, []string{"portico", "rie"}},
		{"routing", "Scale: route matching", (*harness).routing, nil},
		{"functions1000", "Scale: 1 000 declared functions", (*harness).manyFunctions, nil},
		{"idle", "Idle gateway memory", (*harness).idle, nil},
		{"connections", "Scale: 10 000 idle keep-alive connections", (*harness).connections, []string{"revproxy", "portico"}},
		{"observe", "Gateway with access logs, metrics and tracing", (*harness).observe, []string{"off", "on"}},
		{"access", "Access control overhead", (*harness).access, []string{"go test", "open", "jwt", "throttled"}},
		{"streaming", "Streaming: SSE", (*harness).streaming, []string{"direct", "revproxy", "portico"}},
		{"storage", "Storage: PUT/GET vs the raw disk", (*harness).storage, []string{"disk", "portico", "go test"}},
		{"async", "Asynchronous pipeline", (*harness).async, []string{"invoke", "portico", "bbolt"}},
	} {
		if !scenarioSelected(h.only, sc.id, sc.contenders) {
			r.Scenarios = append(r.Scenarios, &Scenario{ID: sc.id, Title: sc.title, Status: "skipped: not selected by -only " + *only})
			continue
		}
		logf("scenario %s", sc.id)
		// Each scenario's processes end with it; its stack also hangs on
		// the run's, for interrupts.
		sh := *h
		sh.cl = &cleanups{}
		h.cl.push(sh.cl.run)
		s, err := sc.fn(&sh, ctx)
		sh.cl.run()
		if ctx.Err() != nil {
			logf("interrupted")
			return 130
		}
		switch {
		case err == nil:
		case isUnavailable(err):
			s.Status = err.Error()
		default:
			s.Status = "failed: " + err.Error()
		}
		if s.Status != "" {
			logf("  %s", s.Status)
		}
		r.Scenarios = append(r.Scenarios, s)
	}

	plotDir := filepath.Join(*out, "bench")
	if err := os.MkdirAll(plotDir, 0o755); err != nil {
		logf("%v", err)
		return 1
	}
	for _, err := range plots(r, plotDir, "bench") {
		logf("plot: %v", err)
	}
	report := filepath.Join(*out, "benchmarks.md")
	if err := os.WriteFile(report, []byte(render(r, evaluateGoals(r))+keptSections(report)), 0o644); err != nil {
		logf("%v", err)
		return 1
	}
	logf("wrote %s", report)
	if err := os.MkdirAll(filepath.Join(h.root, "bench", "out"), 0o755); err != nil {
		logf("%v", err)
		return 1
	}
	if err := saveResults(filepath.Join(h.root, "bench", "out", "results.json"), r); err != nil {
		logf("%v", err)
		return 1
	}
	if *saveBaseline {
		if err := saveResults(filepath.Join(h.root, "bench", "baseline.json"), r); err != nil {
			logf("%v", err)
			return 1
		}
		logf("wrote bench/baseline.json")
	}
	if *short {
		return guard(h.root, r, logf)
	}
	return 0
}

// scenarioSelected reports whether -only selects scenario id: it matches
// the id itself or "id/…/contender" for one of its contenders.
func scenarioSelected(re *regexp.Regexp, id string, contenders []string) bool {
	if re == nil || re.MatchString(id) {
		return true
	}
	for _, name := range contenders {
		if re.MatchString(id + "/…/" + name) {
			return true
		}
	}
	return false
}

// guard compares r with bench/baseline.json and returns the exit status:
// 0 with no regression (or no baseline), 3 with one or more.
func guard(root string, r *Results, logf func(string, ...any)) int {
	base, err := loadResults(filepath.Join(root, "bench", "baseline.json"))
	if errors.Is(err, os.ErrNotExist) {
		logf("no bench/baseline.json to compare with (write one with: go run ./bench -save-baseline)")
		return 0
	}
	if err != nil {
		logf("%v", err)
		return 1
	}
	changes := compare(base, r)
	regressions := 0
	for _, c := range changes {
		fmt.Println(formatChange(c))
		if c.Regression {
			regressions++
		}
	}
	fmt.Printf("compared with bench/baseline.json (%s): %d changes beyond noise, %d regressions\n", base.Date, len(changes), regressions)
	if regressions > 0 {
		return 3
	}
	return 0
}

// setup finds the repository, the peers, and builds Portico and the helpers.
func setup(ctx context.Context, h *harness) error {
	gomod, err := output(ctx, "go", "env", "GOMOD")
	if err != nil || gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("run from inside the portico module (go env GOMOD: %q)", gomod)
	}
	h.root = filepath.Dir(gomod)
	if out, err := output(ctx, "getconf", "CLK_TCK"); err == nil {
		if v, err := strconv.Atoi(out); err == nil && v > 0 {
			h.clkTck = float64(v)
		}
	}
	work, err := os.MkdirTemp("", "portico-bench-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	h.work = work
	h.cl.push(func() { os.RemoveAll(work) })
	h.peers = findPeers(ctx, h.logf)
	h.logf("building helpers")
	h.upstreamBin = filepath.Join(work, "upstream")
	h.revproxyBin = filepath.Join(work, "revproxy")
	h.goechoDir = filepath.Join(work, "goecho")
	h.issuerBin = filepath.Join(work, "devissuer")
	h.sseBin = filepath.Join(work, "sse")
	for _, b := range []struct {
		out, pkg string
		tags     []string
	}{
		{h.upstreamBin, "./bench/cmd/upstream", nil},
		{h.revproxyBin, "./bench/cmd/revproxy", nil},
		{filepath.Join(h.goechoDir, "bootstrap"), "./bench/cmd/goecho", []string{"lambda.norpc"}},
		{h.issuerBin, "./examples/access/devissuer", nil},
		{h.sseBin, "./bench/cmd/sse", nil},
	} {
		if err := goBuild(ctx, h.root, b.out, b.pkg, b.tags...); err != nil {
			return err
		}
	}
	h.logf("building portico")
	bin := filepath.Join(work, "portico")
	if err := buildPortico(ctx, h.root, bin); err != nil {
		h.porticoWhy = err.Error()
		h.logf("%s", err)
	} else {
		h.porticoBin = bin
	}
	return nil
}

// keptMarker starts the part of benchmarks.md that other benchmarks write
// (figures of go test -bench runs); a run of the harness keeps it.
const keptMarker = "<!-- kept: sections below come from other benchmarks; go run ./bench keeps them -->"

// keptSections returns the kept part of the existing report, or "".
func keptSections(report string) string {
	old, err := os.ReadFile(report)
	if err != nil {
		return ""
	}
	if i := strings.Index(string(old), keptMarker); i >= 0 {
		return "\n" + string(old[i:])
	}
	return ""
}
