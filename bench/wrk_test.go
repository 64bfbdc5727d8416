package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	full := "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n" +
		"BENCH requests=39284 duration_us=1000412 socket_errors=2 status_errors=1 timeouts=0 p50_us=1390 p99_us=3520 p999_us=5750\n"
	tests := []struct {
		name    string
		in      string
		want    wrkResult
		wantErr string
	}{
		{"full", full, wrkResult{Requests: 39284, SocketErrors: 2, StatusErrors: 1, Duration: 1000412 * time.Microsecond,
			P50: 1390 * time.Microsecond, P99: 3520 * time.Microsecond, P999: 5750 * time.Microsecond}, ""},
		{"no BENCH line", "unable to connect to 127.0.0.1:1 Connection refused\n", wrkResult{}, "no BENCH line"},
		{"missing field", "BENCH requests=1 duration_us=1\n", wrkResult{}, "missing socket_errors"},
		{"malformed field", "BENCH requests\n", wrkResult{}, "malformed field"},
		{"not a number", "BENCH requests=x\n", wrkResult{}, "field requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseWrk = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWrkScript(t *testing.T) {
	tests := []struct {
		name, method string
		body         int
		want, absent []string
	}{
		{"GET", "GET", 0, []string{`wrk.method = "GET"`, "latency:percentile(99.9)", "done = function"}, []string{"wrk.body"}},
		{"POST 1 MiB", "POST", 1 << 20, []string{`wrk.method = "POST"`, `string.rep("x", 1048576)`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := wrkScript(tt.method, tt.body)
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("script lacks %q:\n%s", w, s)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(s, a) {
					t.Errorf("script has %q:\n%s", a, s)
				}
			}
		})
	}
}

func FuzzParseWrk(f *testing.F) {
	f.Add("BENCH requests=1 duration_us=1 socket_errors=0 status_errors=0 timeouts=0 p50_us=1 p99_us=1 p999_us=1\n")
	f.Add("BENCH =\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseWrk(s)
	})
}
