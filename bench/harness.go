package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// harness holds what every scenario needs: where things are, how long to
// run, and the cleanup stack every started process is registered on.
type harness struct {
	root, work string
	short      bool
	only       *regexp.Regexp
	rounds     int
	dur        time.Duration
	cl         *cleanups
	peers      *peers
	logf       func(string, ...any)
	clkTck     float64

	porticoBin, porticoWhy   string
	upstreamBin, revproxyBin string
	goechoDir                string // holds the Go echo's bootstrap
	issuerBin, sseBin        string // the development JWT issuer, the SSE upstream
}

// selected reports whether the contender name of case cs of scenario scen
// passes -only.
func (h *harness) selected(scen, cs, name string) bool {
	return h.only == nil || h.only.MatchString(scen+"/"+cs+"/"+name)
}

// target is one contender under load.
type target struct {
	name string
	load load // URL etc.; Concurrency and Duration are set per case
	// pid is the process whose CPU is charged (with its descendants when
	// tree is set) and whose VmHWM is the peak memory.
	pid  int
	tree bool
	// functions, when set, reports the VmHWM of descendants apart.
	functions bool
	// memTree adds the descendants' VmHWM to the peak memory (nginx's
	// master and worker are one server).
	memTree bool
	// wrk runs the load with wrk instead of the Go generator.
	wrk bool
}

// measure runs one round against t and adds its figures to s.
func (h *harness) measure(ctx context.Context, t target, conc int, s *Series) error {
	before := cpuTicks(t.pid, t.tree)
	var (
		reqs           int64
		secs           float64
		p50, p99, p999 time.Duration
		errs           int64
		firstErr       error
	)
	if t.wrk {
		r, err := runWrk(ctx, h.peers.wrk, h.work, t.load.URL, t.load.Method, len(t.load.Body), conc, h.dur)
		if err != nil {
			return err
		}
		reqs, secs = r.Requests, r.Duration.Seconds()
		p50, p99, p999 = r.P50, r.P99, r.P999
		errs = r.SocketErrors + r.StatusErrors + r.Timeouts
		if errs > 0 {
			firstErr = fmt.Errorf("wrk: %d socket errors, %d non-2xx/3xx, %d timeouts", r.SocketErrors, r.StatusErrors, r.Timeouts)
		}
	} else {
		l := t.load
		l.Concurrency, l.Duration = conc, h.dur
		r := runLoad(ctx, l)
		reqs, secs = r.Requests, r.Elapsed.Seconds()
		p50, p99, p999 = percentile(r.Latencies, 50), percentile(r.Latencies, 99), percentile(r.Latencies, 99.9)
		errs, firstErr = r.Errors, r.FirstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	after := cpuTicks(t.pid, t.tree)
	if reqs == 0 {
		return fmt.Errorf("%s: no successful request: %v", t.name, firstErr)
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	s.add(mRPS, float64(reqs)/secs)
	s.add(mP50, us(p50))
	s.add(mP99, us(p99))
	s.add(mP999, us(p999))
	if after >= before {
		s.add(mCPU, float64(tickDelta(before, after))/h.clkTck*1e6/float64(reqs))
	} else if !slices.Contains(s.Notes, cpuLost) {
		s.Notes = append(s.Notes, cpuLost)
	}
	s.add(mErrors, float64(errs))
	if hwm, err := readStatusKB(t.pid, "VmHWM"); err == nil {
		if t.memTree {
			hwm += sumKB(descendants(t.pid), "VmHWM")
		}
		s.add(mPeak, float64(hwm))
	}
	if t.functions {
		s.add(mFnPeak, float64(sumKB(descendants(t.pid), "VmHWM")))
	}
	if errs > 0 && len(s.Notes) == 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("requests failed in some rounds (first: %v); percentiles cover successful requests only", firstErr))
	}
	return nil
}

// cpuLost explains a round without a CPU figure.
const cpuLost = "in some rounds the CPU counter of the process tree went backwards (a function process ended without its CPU time reaching the server's cutime); those rounds have no CPU/req figure, and CPU/req may undercount where processes come and go"

// warm sends a few requests so that connections, pools and sandboxes exist
// before the first measured round.
func (h *harness) warm(ctx context.Context, t target, conc int) error {
	// The first request may start a sandbox: give it time of its own.
	first := t.load
	first.Concurrency, first.Duration = 1, 60*time.Second
	if _, err := once(ctx, first); err != nil {
		return fmt.Errorf("%s: first request: %w", t.name, err)
	}
	l := t.load
	l.Concurrency, l.Duration = conc, 300*time.Millisecond
	if h.short {
		l.Duration = 150 * time.Millisecond
	}
	r := runLoad(ctx, l)
	if r.Requests == 0 {
		return fmt.Errorf("%s: warm-up: no successful request (first error: %v)", t.name, r.FirstErr)
	}
	return nil
}

// runCase warms every target, then runs rounds A B C … A B C … and returns
// the case. A target that fails is dropped from later rounds, with a note.
func (h *harness) runCase(ctx context.Context, scen string, c *Case, conc int, targets []target) error {
	var live []target
	for _, t := range targets {
		if !h.selected(scen, c.Name, t.name) && t.name != c.Baseline {
			continue
		}
		if err := h.warm(ctx, t, conc); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.Notes = append(c.Notes, fmt.Sprintf("%s: failed: %v", t.name, err))
			continue
		}
		c.series(t.name)
		live = append(live, t)
	}
	failed := map[string]bool{}
	for round := range h.rounds {
		for _, t := range live {
			if failed[t.name] {
				continue
			}
			h.logf("  %s / %s / %s, round %d", scen, c.Name, t.name, round+1)
			if err := h.measure(ctx, t, conc, c.series(t.name)); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed[t.name] = true
				c.Notes = append(c.Notes, fmt.Sprintf("%s: failed in round %d: %v", t.name, round+1, err))
			}
		}
	}
	return nil
}

func invokeLoad(url string) load {
	return load{URL: url, Method: http.MethodPost, Body: []byte(`{"hello":"bench","n":1}`), Check: invokeCheck}
}

func (h *harness) path(rel string) string { return filepath.Join(h.root, rel) }
