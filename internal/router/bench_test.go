package router

import (
	"fmt"
	"testing"
)

// benchRoutes returns n routes of a realistic table: services with static,
// {var}, two-variable and greedy routes under several methods, tenant routes
// behind a leading variable, a root catch-all and $default.
func benchRoutes(n int) []Route[string] {
	routes := []Route[string]{{Key: "$default"}, {Key: "ANY /{proxy+}", Method: "ANY", Path: "/{proxy+}"}}
	add := func(method, path string) {
		routes = append(routes, Route[string]{Key: method + " " + path, Method: method, Path: path, Value: path})
	}
	for i := 0; len(routes) < n; i++ {
		s := fmt.Sprintf("/svc%d", i)
		add("GET", s+"/items")
		add("POST", s+"/items")
		add("GET", s+"/items/{id}")
		add("PUT", s+"/items/{id}")
		add("DELETE", s+"/items/{id}")
		add("GET", s+"/items/{id}/parts/{part}")
		add("GET", s+"/items/{id}/history")
		add("ANY", s+"/files/{path+}")
		add("GET", s+"/search")
		add("ANY", s+"/{proxy+}")
		add("GET", "/{tenant}"+s+"/report")
	}
	return routes[:n]
}

// benchRequests are requests against service svc of benchRoutes, one per
// kind of route, plus a miss that ends at a catch-all.
func benchRequests(svc int) [][2]string {
	s := fmt.Sprintf("/svc%d", svc)
	return [][2]string{
		{"GET", s + "/items"},
		{"GET", s + "/items/12345"},
		{"PUT", s + "/items/12345"},
		{"GET", s + "/items/12345/parts/9"},
		{"GET", s + "/files/docs/2024/report.pdf"},
		{"POST", s + "/unknown/thing"},
		{"GET", "/acme" + s + "/report"},
		{"GET", "/nothing/here/at/all"},
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		tab, err := New(benchRoutes(n))
		if err != nil {
			b.Fatal(err)
		}
		// Aim at the last service present, so that maps are full-size.
		svc := (n - 3) / 11
		reqs := benchRequests(svc)
		for _, rq := range reqs {
			if _, _, ok := tab.Match(rq[0], rq[1]); !ok {
				b.Fatalf("n=%d: %s %s did not match", n, rq[0], rq[1])
			}
		}
		b.Run(fmt.Sprintf("routes=%d/mixed", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rq := reqs[i%len(reqs)]
				tab.Match(rq[0], rq[1])
				i++
			}
		})
		b.Run(fmt.Sprintf("routes=%d/static", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab.Match("GET", reqs[0][1])
			}
		})
		b.Run(fmt.Sprintf("routes=%d/two-params", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab.Match("GET", reqs[3][1])
			}
		})
		b.Run(fmt.Sprintf("routes=%d/escaped", n), func(b *testing.B) {
			b.ReportAllocs()
			p := fmt.Sprintf("/svc%d/items/a%%20b", svc)
			for b.Loop() {
				tab.Match("GET", p)
			}
		})
	}
}

func TestMatchAllocs(t *testing.T) {
	tab, err := New(benchRoutes(1000))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		want               float64
	}{
		{name: "static", method: "GET", path: "/svc3/items", want: 0},
		{name: "static trailing slash", method: "GET", path: "/svc3/items/", want: 0},
		{name: "$default", method: "GET", path: "/", want: 0},
		{name: "one param", method: "GET", path: "/svc3/items/12", want: 1},
		{name: "two params", method: "GET", path: "/svc3/items/12/parts/4", want: 1},
		{name: "greedy", method: "GET", path: "/svc3/files/a/b/c", want: 1},
		{name: "after backtracking", method: "GET", path: "/acme/svc3/report", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, ok := tab.Match(tt.method, tt.path); !ok {
				t.Fatalf("no match")
			}
			got := testing.AllocsPerRun(100, func() { tab.Match(tt.method, tt.path) })
			if got != tt.want {
				t.Errorf("allocs = %v, want %v", got, tt.want)
			}
		})
	}
}
