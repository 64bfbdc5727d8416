package main

import (
	"testing"
)

func oneCase(vals map[string]map[string][]float64) *Results {
	c := &Case{Name: "c", Baseline: "base", Metrics: []string{mRPS, mP99}}
	for _, name := range []string{"base", "x"} {
		c.Series = append(c.Series, &Series{Name: name, Values: vals[name]})
	}
	return &Results{Scenarios: []*Scenario{{ID: "s", Cases: []*Case{c}}}}
}

func TestCompare(t *testing.T) {
	old := oneCase(map[string]map[string][]float64{
		"base": {mRPS: {100, 101, 99}, mP99: {10, 10, 10}},
		"x":    {mRPS: {200, 202, 198}, mP99: {5, 5, 5}},
	})
	tests := []struct {
		name string
		cur  map[string]map[string][]float64
		want map[string]bool // key -> regression
	}{
		{"same", map[string]map[string][]float64{
			"base": {mRPS: {100, 102, 98}, mP99: {10, 10, 10}},
			"x":    {mRPS: {199, 201, 200}, mP99: {5, 5, 5}},
		}, map[string]bool{}},
		{"x slower", map[string]map[string][]float64{
			"base": {mRPS: {100, 101, 99}, mP99: {10, 10, 10}},
			"x":    {mRPS: {150, 151, 149}, mP99: {5, 5, 5}},
		}, map[string]bool{"s/c/x/rps": true, "s/c/x/rps/ratio": true}},
		{"x latency better", map[string]map[string][]float64{
			"base": {mRPS: {100, 101, 99}, mP99: {10, 10, 10}},
			"x":    {mRPS: {200, 202, 198}, mP99: {2, 2, 2}},
		}, map[string]bool{"s/c/x/p99_us": false, "s/c/x/p99_us/ratio": false}},
		{"noisy run hides a change", map[string]map[string][]float64{
			"base": {mRPS: {100, 101, 99}, mP99: {10, 10, 10}},
			"x":    {mRPS: {100, 180, 260}, mP99: {5, 5, 5}},
		}, map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]bool{}
			for _, c := range compare(old, oneCase(tt.cur)) {
				got[c.Key] = c.Regression
			}
			if len(got) != len(tt.want) {
				t.Fatalf("changes = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s: regression=%v (present %v), want %v", k, g, ok, v)
				}
			}
		})
	}
}

func TestMetricOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"gateway/small GET, concurrency 1/portico/rps", "rps"},
		{"gateway/small GET, concurrency 1/portico/p99_us/ratio", "p99_us"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := metricOf(tt.in); got != tt.want {
				t.Errorf("metricOf = %q, want %q", got, tt.want)
			}
		})
	}
}
