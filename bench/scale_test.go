package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/portico-dev/portico/internal/router
BenchmarkMatch/routes=10/mixed-2         	 5436122	       110.3 ns/op	       0 B/op	       0 allocs/op
BenchmarkMatch/routes=10000/static       	 1000000	       95 ns/op
PASS
`
	tests := []struct {
		name    string
		in      string
		want    []benchLine
		wantErr bool
	}{
		{"lines", out, []benchLine{{"BenchmarkMatch/routes=10/mixed", 110.3}, {"BenchmarkMatch/routes=10000/static", 95}}, false},
		{"none", "PASS\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGoBench(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseGoBench = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRoutesKind(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		kind     string
		ok       bool
	}{
		{"good", "BenchmarkMatch/routes=1000/mixed", 1000, "mixed", true},
		{"no kind", "BenchmarkMatch/routes=1000", 0, "", false},
		{"not a number", "BenchmarkMatch/routes=many/mixed", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, kind, ok := routesKind(tt.in)
			if n != tt.n || kind != tt.kind || ok != tt.ok {
				t.Errorf("routesKind = %d, %q, %v; want %d, %q, %v", n, kind, ok, tt.n, tt.kind, tt.ok)
			}
		})
	}
}

func TestManyFunctionsSpec(t *testing.T) {
	s := manyFunctionsSpec(3, "fn")
	if got := strings.Count(s, "runtime: provided.al2023"); got != 3 {
		t.Errorf("%d functions, want 3:\n%s", got, s)
	}
}

func TestNginxConf(t *testing.T) {
	c := nginxConf("/p", 8080, "127.0.0.1:9000", false)
	for _, w := range []string{"worker_processes 1;", "daemon off;", "listen 127.0.0.1:8080;", "server 127.0.0.1:9000;", "keepalive 64;"} {
		if !strings.Contains(c, w) {
			t.Errorf("config lacks %q", w)
		}
	}
	if strings.Contains(c, "user root") {
		t.Errorf("user directive without root")
	}
}
