package main

import (
	"strings"
	"testing"
	"time"
)

func TestReadEvents(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		wantN   int
		wantLat []time.Duration
		wantErr string
	}{
		{name: "events and a comment", body: ": open\n\ndata: 900\n\ndata: 990\n\n", wantN: 2, wantLat: []time.Duration{10, 100}},
		{name: "empty", body: "", wantN: 0},
		{name: "bad timestamp", body: "data: 5\n\ndata: x\n\n", wantN: 1, wantErr: "event 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, lat, err := readEvents(strings.NewReader(tc.body), func() int64 { return 1000 })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || n != tc.wantN || len(lat) != len(tc.wantLat) {
				t.Fatalf("got %d %v %v, want %d %v", n, lat, err, tc.wantN, tc.wantLat)
			}
			for i := range lat {
				if lat[i] != tc.wantLat[i] {
					t.Fatalf("lat = %v, want %v", lat, tc.wantLat)
				}
			}
		})
	}
}

func TestPerStream(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after int64
		n             int
		want          float64
	}{
		{name: "grew", before: 1000, after: 1500, n: 500, want: 1024},
		{name: "shrank", before: 1500, after: 1000, n: 500, want: -1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := perStream(tc.before, tc.after, tc.n); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBenchCase(t *testing.T) {
	lines, err := parseGoBench("BenchmarkAuthorize/cached-2   1000  812.5 ns/op\nBenchmarkLocalTake-2 5000 41.2 ns/op\nBenchmarkLocalTake-2 5000 40.0 ns/op\n")
	if err != nil {
		t.Fatal(err)
	}
	c, missing := benchCase("x", lines, accessBenchOrder, accessBenchNames)
	if got := c.find("throttle, local Take").Values[mOpNs]; len(got) != 2 || got[1] != 40 {
		t.Fatalf("throttle values = %v", got)
	}
	if got := c.find("JWT, cached token").Values[mOpNs]; len(got) != 1 || got[0] != 812.5 {
		t.Fatalf("jwt values = %v", got)
	}
	if len(missing) != 3 {
		t.Fatalf("missing = %v, want 3", missing)
	}
}

func TestTimedOps(t *testing.T) {
	calls := 0
	v, err := timedOps(0, 1<<20, func() error { calls++; return nil })
	if err != nil || calls != 1 || v <= 0 {
		t.Fatalf("got %v %v after %d calls", v, err, calls)
	}
}
