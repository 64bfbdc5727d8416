package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// change is one figure that moved between the baseline and this run.
type change struct {
	Key            string
	Old, New       float64
	Rel, Tolerance float64 // relative change, and the noise it was judged against
	Regression     bool
}

// minTolerance is the smallest relative change ever flagged.
const minTolerance = 0.05

// figures flattens r into key -> values per round, adding each series'
// ratio to its case's baseline (ratios are steadier on a noisy machine).
func figures(r *Results) map[string][]float64 {
	out := map[string][]float64{}
	for _, s := range r.Scenarios {
		if s.Status != "" {
			continue
		}
		for _, c := range s.Cases {
			base := c.find(c.Baseline)
			for _, sr := range c.Series {
				for m, vs := range sr.Values {
					if m == mErrors {
						continue
					}
					k := s.ID + "/" + c.Name + "/" + sr.Name + "/" + m
					out[k] = vs
					if base != nil && base != sr {
						out[k+"/ratio"] = ratios(vs, base.Values[m])
					}
				}
			}
		}
	}
	return out
}

// compare flags the figures whose median moved by more than the noise seen
// between rounds: the larger relative range (max-min)/median of the two
// runs, and at least minTolerance.
func compare(old, cur *Results) []change {
	of, nf := figures(old), figures(cur)
	var out []change
	for k, nv := range nf {
		ov, ok := of[k]
		if !ok {
			continue
		}
		os, ns := summarize(ov), summarize(nv)
		if os.N == 0 || ns.N == 0 || os.Median == 0 {
			continue
		}
		rel := (ns.Median - os.Median) / math.Abs(os.Median)
		tol := max(minTolerance, os.relNoise(), ns.relNoise())
		if math.Abs(rel) <= tol {
			continue
		}
		higher := metricInfos[metricOf(k)].HigherBetter
		out = append(out, change{Key: k, Old: os.Median, New: ns.Median, Rel: rel, Tolerance: tol, Regression: (rel < 0) == higher})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// metricOf returns the metric name of a figures key.
func metricOf(k string) string {
	var parts []string
	start := 0
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			parts = append(parts, k[start:i])
			start = i + 1
		}
	}
	parts = append(parts, k[start:])
	if parts[len(parts)-1] == "ratio" && len(parts) >= 2 {
		return parts[len(parts)-2]
	}
	return parts[len(parts)-1]
}

func loadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

func saveResults(path string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func formatChange(c change) string {
	tag := "improved"
	if c.Regression {
		tag = "REGRESSION"
	}
	return fmt.Sprintf("%-10s %s: %.4g -> %.4g (%+.1f%%, noise ±%.1f%%)", tag, c.Key, c.Old, c.New, c.Rel*100, c.Tolerance*100)
}
