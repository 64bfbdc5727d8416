package router

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenRoutes is a mid-size route table, a pet shop with files, an admin
// area and catch-alls.
var goldenRoutes = []string{
	"$default",
	"GET /",
	"ANY /{proxy+}",
	"GET /health",
	"GET /pets",
	"POST /pets",
	"GET /pets/search",
	"GET /pets/{petId}",
	"PUT /pets/{petId}",
	"DELETE /pets/{petId}",
	"ANY /pets/{petId}",
	"GET /pets/{petId}/photos",
	"POST /pets/{petId}/photos",
	"GET /pets/{petId}/photos/{photoId}",
	"GET /pets/dog/1",
	"GET /pets/dog/{id}",
	"GET /pets/{proxy+}",
	"GET /owners/{ownerId}/pets/{petId}",
	"GET /owners/{ownerId}/{rest+}",
	"GET /owners/me/pets/{petId}",
	"GET /files/{path+}",
	"PUT /files/{path+}",
	"HEAD /files/{path+}",
	"GET /files/public/{path+}",
	"ANY /admin/{proxy+}",
	"GET /admin/status",
	"OPTIONS /{proxy+}",
	"GET /v1/{resource}/{id}",
	"GET /v1/users/{id}",
	"GET /v1/{resource}/{id}/{sub+}",
	"PATCH /orders/{orderId}",
	"GET /a:b/@c/$x",
}

// goldenRequests are the decisions recorded in testdata/match.golden.
var goldenRequests = []string{
	"GET /", "GET ", "POST /", "GET //", "OPTIONS /",
	"GET /health", "GET /health/", "HEAD /health", "POST /health", "GET /Health",
	"GET /pets", "POST /pets", "DELETE /pets", "GET /pets/", "GET /pets/search",
	"GET /pets/7", "PUT /pets/7", "PATCH /pets/7", "DELETE /pets/7", "HEAD /pets/7",
	"GET /pets/7/photos", "POST /pets/7/photos", "PUT /pets/7/photos", "GET /pets/7/photos/3", "GET /pets/7/photos/3/full",
	"GET /pets/dog/1", "GET /pets/dog/2", "GET /pets/cat/1", "POST /test/5", "GET /pets/dog",
	"GET /pets/a%20b", "GET /pets/a%2Fb", "GET /pets/%73earch", "GET /pets/a%zz",
	"GET /owners/42/pets/7", "GET /owners/me/pets/7", "GET /owners/me/pets", "GET /owners/42", "GET /owners/42/cars/1/wheels",
	"GET /files/a.txt", "GET /files/dir/sub/a.txt", "GET /files", "PUT /files/x/y", "HEAD /files/x", "DELETE /files/x",
	"GET /files/public/img/logo.png", "GET /files/public", "GET /files//x", "GET /files/a%2Fb/c",
	"GET /admin", "GET /admin/status", "POST /admin/status", "GET /admin/users/1",
	"OPTIONS /pets/7", "OPTIONS /files/x",
	"GET /v1/users/9", "GET /v1/orders/9", "GET /v1/users/9/friends/2", "GET /v1/users",
	"PATCH /orders/1", "get /orders/1", "PROPFIND /orders/1",
	"GET /a:b/@c/$x", "GET /a%3Ab/%40c/%24x",
	"GET pets",
}

func TestGolden(t *testing.T) {
	tab := mustNew(t, goldenRoutes...)
	var b strings.Builder
	b.WriteString("# Route table decisions; regenerate with: go test ./internal/router -run TestGolden -update\n# routes:\n")
	for _, k := range goldenRoutes {
		fmt.Fprintf(&b, "#   %s\n", k)
	}
	for _, req := range goldenRequests {
		method, path, _ := strings.Cut(req, " ")
		r, ps, ok := tab.Match(method, path)
		got := "404"
		if ok {
			got = r.Key
		}
		fmt.Fprintf(&b, "%-8s %-34q -> %s", method, path, got)
		for _, p := range ps {
			fmt.Fprintf(&b, " %s=%q", p.Name, p.Value)
		}
		b.WriteString("\n")
	}
	file := filepath.Join("testdata", "match.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("decisions differ from %s (run with -update after checking):\n%s", file, lineDiff(string(want), got))
	}
}

// TestGoldenAgainstBruteForce checks the golden table's decisions with the
// reference matcher too.
func TestGoldenAgainstBruteForce(t *testing.T) {
	routes := routesFromKeys(goldenRoutes...)
	indexRoutes(routes)
	tab, err := New(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range goldenRequests {
		method, path, _ := strings.Cut(req, " ")
		checkAgainstBrute(t, tab, routes, method, path)
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
