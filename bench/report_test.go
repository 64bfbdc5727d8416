package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func sampleResults() *Results {
	small := &Case{Name: caseSmall64, Baseline: "nginx", Metrics: []string{mRPS, mP99, mCPU}}
	small.Series = []*Series{
		{Name: "nginx", Values: map[string][]float64{mRPS: {40000, 41000, 39000}, mP99: {3500, 3600, 3400}, mCPU: {18, 19, 18}}},
		{Name: "portico", Values: map[string][]float64{mRPS: {44000, 41000, 43000}, mP99: {3000, 3100, 2900}, mCPU: {20, 20, 21}}},
	}
	one := &Case{Name: caseSmall1, Baseline: "nginx", Metrics: []string{mP99}}
	one.Series = []*Series{
		{Name: "nginx", Values: map[string][]float64{mP99: {300, 310}}},
		{Name: "direct", Values: map[string][]float64{mP99: {200, 210}}},
		{Name: "portico", Values: map[string][]float64{mP99: {400, 390}}, Notes: []string{"1 request failed"}},
	}
	return &Results{
		Date: "2026-01-02 03:04 UTC", Mode: "test",
		Machine:  []kv{{"CPU", "Test CPU"}, {"cores", "2"}},
		Peers:    []kv{{"nginx", "nginx version: nginx/1.22.1"}},
		Commands: []string{"go run ./bench"},
		Scenarios: []*Scenario{
			{ID: "gateway", Title: "Gateway overhead", Notes: []string{"a note | with a pipe"}, Cases: []*Case{one, small}, Plots: []string{"bench/gateway.png"}},
			{ID: "storage", Title: "Storage", Status: "not available yet: needs the S3 store"},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	r := sampleResults()
	got := render(r, evaluateGoals(r))
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (run with -update after checking the change):\n%s", golden, got)
	}
}

func TestEvaluateGoals(t *testing.T) {
	r := sampleResults()
	byText := map[string]goal{}
	for _, g := range evaluateGoals(r) {
		byText[g.Text] = g
	}
	tests := []struct {
		name, text, want string
	}{
		{"throughput met", "HTTP_PROXY route throughput ≥ nginx (1 worker), small requests, 64 connections", "met"},
		{"cpu not met", "HTTP_PROXY route CPU per request ≤ nginx (1 worker), small requests, 64 connections", "not met"},
		{"added p99 met", "HTTP_PROXY route adds < 1 ms p99 latency at concurrency 1", "met"},
		{"functions absent", "warm Go invoke p50 ≤ the Runtime Interface Emulator's", "not measured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := byText[tt.text]
			if !ok {
				t.Fatalf("no goal %q", tt.text)
			}
			if g.Status != tt.want {
				t.Errorf("status = %q (%s), want %q", g.Status, g.Figure, tt.want)
			}
		})
	}
}

func TestCells(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"spread", cellSpread(mP99, []float64{900, 1500, 1200}), "1.20 ms [900 µs–1.50 ms]"},
		{"single", cellSpread(mRPS, []float64{1234.4}), "1234"},
		{"none", cellSpread(mRPS, nil), "—"},
		{"ratio", cellRatio([]float64{0.5, 0.6, 0.55}), "×0.55 [0.50–0.60]"},
		{"memory", cellSpread(mPeak, []float64{2048}), "2.0 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
