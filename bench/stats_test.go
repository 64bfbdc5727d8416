package main

import (
	"slices"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		var out []time.Duration
		for _, v := range vs {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99.9, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p99.9 of 100 is the max", hundred, 99.9, 100 * time.Millisecond},
		{"p100", hundred, 100, 100 * time.Millisecond},
		{"p0 clamps to the min", hundred, 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	tests := []struct {
		name string
		in   []float64
		want spread
	}{
		{"empty", nil, spread{}},
		{"odd", []float64{3, 1, 2}, spread{Median: 2, Min: 1, Max: 3, N: 3}},
		{"even", []float64{4, 1, 3, 2}, spread{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{"NaN dropped", []float64{nan, 5}, spread{Median: 5, Min: 5, Max: 5, N: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRelNoise(t *testing.T) {
	if got := (spread{Median: 100, Min: 90, Max: 110, N: 3}).relNoise(); got != 0.2 {
		t.Errorf("relNoise = %v, want 0.2", got)
	}
	if got := (spread{}).relNoise(); got != 0 {
		t.Errorf("relNoise of nothing = %v, want 0", got)
	}
}

func TestRatios(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want []float64
	}{
		{"round by round", []float64{2, 6}, []float64{1, 3}, []float64{2, 2}},
		{"zero baseline round skipped", []float64{2, 6}, []float64{0, 3}, []float64{2}},
		{"unequal lengths: medians", []float64{4}, []float64{1, 2, 3}, []float64{2}},
		{"no baseline", []float64{4}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ratios(tt.a, tt.b); !slices.Equal(got, tt.want) {
				t.Errorf("ratios = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDifferences(t *testing.T) {
	if got, want := differences([]float64{5, 7}, []float64{1, 2}), []float64{4, 5}; !slices.Equal(got, want) {
		t.Errorf("differences = %v, want %v", got, want)
	}
	if got := differences([]float64{5}, nil); got != nil {
		t.Errorf("differences against nothing = %v, want nil", got)
	}
}
