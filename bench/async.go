package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// The asynchronous pipeline (issue 17): S3 PutObject to the notified
// function's start, and the durable queue's throughput. Both are package
// benchmarks that report their own metrics; one -count per round.

const (
	caseNotifyLatency = "PutObject to the notified function's start (go test -bench)"
	caseQueueRate     = "durable async queue throughput (go test -bench)"
)

// metricRE matches one "VALUE UNIT" pair of a benchmark line.
var metricRE = regexp.MustCompile(`([0-9.]+) (\S+)`)

// benchMetrics runs one benchmark and returns, per round (-count), its
// custom metrics by unit.
func (h *harness) benchMetrics(ctx context.Context, re, benchtime, pkg string) (string, []map[string]float64, error) {
	line, out, err := h.runGoBench(ctx, re, benchtime, pkg)
	if err != nil {
		return line, nil, err
	}
	var rounds []map[string]float64
	for l := range strings.Lines(out) {
		if !strings.HasPrefix(l, "Benchmark") {
			continue
		}
		m := map[string]float64{}
		for _, p := range metricRE.FindAllStringSubmatch(l, -1) {
			if v, err := strconv.ParseFloat(p[1], 64); err == nil {
				m[p[2]] = v
			}
		}
		rounds = append(rounds, m)
	}
	if len(rounds) == 0 {
		return line, nil, fmt.Errorf("go test -bench: no result lines in %q", truncate(out, 300))
	}
	return line, rounds, nil
}

// runGoBench runs `go test -run ^$ -bench re` on pkgs, one -count per
// round, and returns the command line and its output.
func (h *harness) runGoBench(ctx context.Context, re, benchtime string, pkgs ...string) (string, string, error) {
	args := append([]string{"test", "-run", "^$", "-bench", re, "-benchtime", benchtime, "-count", strconv.Itoa(h.rounds)}, pkgs...)
	line := "go " + strings.Join(args, " ")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = h.root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return line, "", fmt.Errorf("go test -bench: %w: %s", err, truncate(string(out), 500))
	}
	return line, string(out), nil
}

func (h *harness) async(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "async", Title: "Asynchronous pipeline: S3 notifications and the durable queue"}
	s.Notes = append(s.Notes,
		"Latency: aws-sdk-go-v2 PutObject into Portico's store, the event matched, written to the bbolt queue (fsync; delivery starts while the write is in flight, the 202/200 waits for it) and handed to a warm Go function, which stamps its start. Baseline `invoke`: a synchronous Invoke of the same warm function, call to handler start; `PutObject alone`: the same upload to a bucket without notifications, call to response (the store's own fsyncs, which come before any event). Percentiles are over every upload of a round.",
		"Throughput: `bbolt` is the store alone (each event committed when accepted and removed when delivered, 64 concurrent producers, group commit: one fsync per transaction); `runner` is InvokeAsync from 16 concurrent callers to a warm Go function with 4 sandboxes, until the queue is empty (accepted = 202s per second).")
	bt := "500x"
	if h.short {
		bt = "100x"
	}
	if h.selected(s.ID, caseNotifyLatency, "portico") {
		line, rounds, err := h.benchMetrics(ctx, "^BenchmarkPutObjectToFunctionStart$", bt, "./internal/control/")
		s.Commands = append(s.Commands, line)
		if err != nil {
			return s, err
		}
		c := &Case{Name: caseNotifyLatency, Baseline: "invoke", Metrics: []string{mP50, mP99}}
		for _, m := range rounds {
			c.series("invoke").add(mP50, m["invoke-p50-ms"]*1000)
			c.series("invoke").add(mP99, m["invoke-p99-ms"]*1000)
			c.series("PutObject alone").add(mP50, m["put-p50-ms"]*1000)
			c.series("PutObject alone").add(mP99, m["put-p99-ms"]*1000)
			c.series("portico").add(mP50, m["p50-ms"]*1000)
			c.series("portico").add(mP99, m["p99-ms"]*1000)
		}
		s.Cases = append(s.Cases, c)
	}
	if h.selected(s.ID, caseQueueRate, "bbolt") {
		c := &Case{Name: caseQueueRate, Metrics: []string{mEPS}}
		line, rounds, err := h.benchMetrics(ctx, "^BenchmarkDurableQueue$", "5000x", "./internal/lambda/asyncq/")
		s.Commands = append(s.Commands, line)
		if err != nil {
			return s, err
		}
		for _, m := range rounds {
			c.series("bbolt").add(mEPS, m["events/s"])
		}
		line, rounds, err = h.benchMetrics(ctx, "^BenchmarkAsyncDurable$", "3000x", "./internal/lambda/")
		s.Commands = append(s.Commands, line)
		if err != nil {
			return s, err
		}
		for _, m := range rounds {
			c.series("runner accepted").add(mEPS, m["accepted/s"])
			c.series("runner delivered").add(mEPS, m["delivered/s"])
		}
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}
