package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be in ascending order; 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// spread summarises the values of one figure over rounds.
type spread struct {
	Median, Min, Max float64
	N                int
}

// summarize returns the median, minimum and maximum of vs; N is 0 for none.
func summarize(vs []float64) spread {
	var clean []float64
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			clean = append(clean, v)
		}
	}
	if len(clean) == 0 {
		return spread{N: 0}
	}
	slices.Sort(clean)
	n := len(clean)
	med := clean[n/2]
	if n%2 == 0 {
		med = (clean[n/2-1] + clean[n/2]) / 2
	}
	return spread{Median: med, Min: clean[0], Max: clean[n-1], N: n}
}

// relNoise is the spread's range relative to its median: 0.1 means the
// rounds varied by 10% of the median.
func (s spread) relNoise() float64 {
	if s.N == 0 || s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / math.Abs(s.Median)
}

// ratios divides a by b round by round (rounds are interleaved, so round i of
// both ran at nearly the same time). With unequal lengths it falls back to
// the ratio of medians.
func ratios(a, b []float64) []float64 {
	if len(a) == len(b) {
		out := make([]float64, 0, len(a))
		for i := range a {
			if b[i] != 0 {
				out = append(out, a[i]/b[i])
			}
		}
		return out
	}
	sa, sb := summarize(a), summarize(b)
	if sa.N == 0 || sb.N == 0 || sb.Median == 0 {
		return nil
	}
	return []float64{sa.Median / sb.Median}
}

// differences subtracts b from a round by round (or medians, as ratios).
func differences(a, b []float64) []float64 {
	if len(a) == len(b) {
		out := make([]float64, len(a))
		for i := range a {
			out[i] = a[i] - b[i]
		}
		return out
	}
	sa, sb := summarize(a), summarize(b)
	if sa.N == 0 || sb.N == 0 {
		return nil
	}
	return []float64{sa.Median - sb.Median}
}
