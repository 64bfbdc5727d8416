package main

import (
	"fmt"
	"math"
)

// Results is one run of the harness: what the report renders and what the
// regression guard compares. It is also the JSON of bench/baseline.json.
type Results struct {
	Date      string      `json:"date"`
	Mode      string      `json:"mode"` // "full" or "short"
	Machine   []kv        `json:"machine"`
	Peers     []kv        `json:"peers"`
	Commands  []string    `json:"commands"`
	Scenarios []*Scenario `json:"scenarios"`
}

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Scenario is one scenario's outcome. Status is empty when it ran;
// otherwise it says why not ("not available yet: needs …", "skipped: …",
// "failed: …") and no figure is reported.
type Scenario struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Status   string   `json:"status,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	Commands []string `json:"commands,omitempty"`
	Cases    []*Case  `json:"cases,omitempty"`
	Plots    []string `json:"plots,omitempty"` // paths relative to the report
}

// Case is one table: contenders (series) measured in interleaved rounds,
// with ratios against Baseline.
type Case struct {
	Name     string    `json:"name"`
	Baseline string    `json:"baseline"`
	Metrics  []string  `json:"metrics"`
	Series   []*Series `json:"series"`
	Notes    []string  `json:"notes,omitempty"`
}

// Series holds one contender's figures, one value per round for each metric.
type Series struct {
	Name   string               `json:"name"`
	Values map[string][]float64 `json:"values"`
	Notes  []string             `json:"notes,omitempty"`
}

func (c *Case) series(name string) *Series {
	for _, s := range c.Series {
		if s.Name == name {
			return s
		}
	}
	s := &Series{Name: name, Values: map[string][]float64{}}
	c.Series = append(c.Series, s)
	return s
}

func (c *Case) find(name string) *Series {
	for _, s := range c.Series {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (s *Series) add(metric string, v float64) {
	if s.Values == nil {
		s.Values = map[string][]float64{}
	}
	s.Values[metric] = append(s.Values[metric], v)
}

func (r *Results) scenario(id string) *Scenario {
	for _, s := range r.Scenarios {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func (r *Results) findCase(scenario, name string) *Case {
	s := r.scenario(scenario)
	if s == nil || s.Status != "" {
		return nil
	}
	for _, c := range s.Cases {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Metric names and how they are shown.
const (
	mRPS     = "rps"
	mP50     = "p50_us"
	mP99     = "p99_us"
	mP999    = "p999_us"
	mCPU     = "cpu_us_per_req"
	mPeak    = "peak_kb"
	mFnPeak  = "fn_peak_kb"
	mIdle    = "idle_kb"
	mFnIdle  = "fn_idle_kb"
	mStartup = "startup_ms"
	mCold    = "cold_ms"
	mNsOp    = "ns_per_op"
	mProcs   = "processes"
	mErrors  = "errors"
	mOpNs    = "ns_op"
	mEPS     = "events_per_s"
	mMiBps   = "mib_per_s"
	mPerConn = "bytes_per_conn"
	mStreamB = "bytes_per_stream"
	mDeltaKB = "rss_delta_kb"
)

type metricInfo struct {
	Label        string
	HigherBetter bool
	Format       func(float64) string
}

var metricInfos = map[string]metricInfo{
	mRPS:     {"req/s", true, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	mP50:     {"p50", false, fmtMicros},
	mP99:     {"p99", false, fmtMicros},
	mP999:    {"p99.9", false, fmtMicros},
	mCPU:     {"CPU/req", false, fmtMicros},
	mPeak:    {"peak RSS", false, fmtKB},
	mFnPeak:  {"functions' peak RSS", false, fmtKB},
	mIdle:    {"idle RSS", false, fmtKB},
	mFnIdle:  {"functions' idle RSS", false, fmtKB},
	mStartup: {"start-up", false, fmtMillis},
	mCold:    {"cold start", false, fmtMillis},
	mNsOp:    {"ns/match", false, func(v float64) string { return fmt.Sprintf("%.1f ns", v) }},
	mProcs:   {"function processes", false, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	mErrors:  {"errors", false, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	mOpNs:    {"time/op", false, fmtNanos},
	mEPS:     {"events/s", true, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	mMiBps:   {"MiB/s", true, func(v float64) string { return fmt.Sprintf("%.0f", v) }},
	mPerConn: {"RSS per connection", false, fmtBytes},
	mStreamB: {"RSS per stream", false, fmtBytes},
	mDeltaKB: {"RSS added", false, fmtKB},
}

func fmtNanos(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return fmtMicros(v / 1000)
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.2f µs", v/1000)
	}
	return fmt.Sprintf("%.0f ns", v)
}

func fmtBytes(v float64) string {
	if math.Abs(v) >= 10240 {
		return fmt.Sprintf("%.1f KiB", v/1024)
	}
	return fmt.Sprintf("%.0f B", v)
}

func fmtMicros(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1f ms", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2f ms", v/1000)
	default:
		return fmt.Sprintf("%.0f µs", v)
	}
}

func fmtMillis(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func fmtKB(v float64) string { return fmt.Sprintf("%.1f MiB", v/1024) }

func fmtRatio(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
