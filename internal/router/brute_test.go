package router

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// bruteMatch is the reference matcher: it tries every route against the
// request, ranks the matches by specificity and returns the index of the
// best one in routes (-1 for none) and its parameters. It shares no code
// with the trie, and reads the rules straight from docs/routing.md.
func bruteMatch(t testing.TB, routes []Route[string], method, rawPath string) (int, Params) {
	t.Helper()
	p := rawPath
	if p != "" && p[0] != '/' {
		return -1, nil
	}
	var req []string // nil for the root, "" or "/"
	if p != "" && p != "/" {
		p = strings.TrimPrefix(p, "/")
		if len(p) > 0 && p[len(p)-1] == '/' {
			p = p[:len(p)-1] // one trailing slash is ignored
		}
		for _, raw := range strings.Split(p, "/") {
			seg, err := url.PathUnescape(raw)
			if err != nil {
				return -1, nil // invalid escapes: no match at all
			}
			req = append(req, seg)
		}
	}
	m := asciiUpper(method)

	type cand struct {
		idx      int
		greedy   bool
		kinds    []int // 2 literal, 1 var, 0 greedy
		explicit bool
		params   Params
	}
	var best *cand
	better := func(a, b *cand) int { // >0 when a is more specific than b
		if a.greedy != b.greedy {
			if b.greedy {
				return 1
			}
			return -1
		}
		for i := 0; i < len(a.kinds) && i < len(b.kinds); i++ {
			if a.kinds[i] != b.kinds[i] {
				return a.kinds[i] - b.kinds[i]
			}
		}
		if len(a.kinds) != len(b.kinds) {
			t.Fatalf("templates of %d and %d differ only in length", a.idx, b.idx)
		}
		if a.explicit != b.explicit {
			if a.explicit {
				return 1
			}
			return -1
		}
		return 0
	}
	defIdx := -1
	for idx, r := range routes {
		if r.Method == "" && r.Path == "" {
			defIdx = idx
			continue
		}
		if r.Method != "ANY" && r.Method != m {
			continue
		}
		var tmpl []string
		if r.Path != "/" {
			tmpl = strings.Split(r.Path[1:], "/")
		}
		c := cand{idx: idx, explicit: r.Method != "ANY"}
		matched := true
		for i, ts := range tmpl {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "+}") {
				// Greedy: one or more remaining segments, the first non-empty.
				if i >= len(req) || req[i] == "" {
					matched = false
					break
				}
				c.greedy = true
				c.kinds = append(c.kinds, 0)
				c.params = append(c.params, Param{ts[1 : len(ts)-2], strings.Join(req[i:], "/")})
				break
			}
			if i >= len(req) {
				matched = false
				break
			}
			if strings.HasPrefix(ts, "{") {
				if req[i] == "" {
					matched = false
					break
				}
				c.kinds = append(c.kinds, 1)
				c.params = append(c.params, Param{ts[1 : len(ts)-1], req[i]})
				continue
			}
			if ts != req[i] {
				matched = false
				break
			}
			c.kinds = append(c.kinds, 2)
		}
		if !matched || (!c.greedy && len(tmpl) != len(req)) {
			continue
		}
		if best == nil {
			best = &c
			continue
		}
		switch cmp := better(&c, best); {
		case cmp > 0:
			best = &c
		case cmp == 0:
			t.Fatalf("routes %q and %q tie for %s %s", routes[c.idx].Key, routes[best.idx].Key, method, rawPath)
		}
	}
	if best == nil {
		return defIdx, nil
	}
	return best.idx, best.params
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// checkAgainstBrute compares the table's answer with the reference's.
func checkAgainstBrute(t testing.TB, tab *Table[string], routes []Route[string], method, path string) {
	t.Helper()
	r, ps, ok := tab.Match(method, path)
	wantIdx, wantPs := bruteMatch(t, routes, method, path)
	gotIdx := -1
	if ok {
		gotIdx = int(r.Value[0]) // set up by indexRoutes
	}
	if gotIdx != wantIdx {
		t.Fatalf("Match(%q, %q) = route %s, reference says %s\nroutes: %q", method, path, keyAt(routes, gotIdx), keyAt(routes, wantIdx), keys(routes))
	}
	if !slices.Equal(ps, wantPs) {
		t.Fatalf("Match(%q, %q) params = %q, reference says %q\nroutes: %q", method, path, ps, wantPs, keys(routes))
	}
}

func keyAt(routes []Route[string], i int) string {
	if i < 0 {
		return "none"
	}
	return fmt.Sprintf("%d %q", i, routes[i].Key)
}

func keys(routes []Route[string]) []string {
	ks := make([]string, len(routes))
	for i, r := range routes {
		ks[i] = r.Key
	}
	return ks
}

// indexRoutes stores each route's index in its Value (as one byte).
func indexRoutes(routes []Route[string]) {
	for i := range routes {
		routes[i].Value = string(rune(i))[:1]
		if i >= 0x80 {
			panic("too many routes for indexRoutes")
		}
	}
}

// shape is a route's method and path with variable names removed: two
// routes of one shape conflict.
func shape(r Route[string]) string {
	var b strings.Builder
	b.WriteString(r.Method)
	for _, s := range strings.Split(r.Path, "/") {
		switch {
		case strings.HasSuffix(s, "+}"):
			s = "{+}"
		case strings.HasPrefix(s, "{"):
			s = "{}"
		}
		b.WriteString("/" + s)
	}
	return b.String()
}

// randomRoutes returns up to n routes of a small alphabet, no two of one
// shape, so that New accepts them.
func randomRoutes(rng *rand.Rand, n int) []Route[string] {
	methods := []string{"GET", "POST", "HEAD", "ANY", "ANY"}
	literals := []string{"a", "b", "c", "a:b"}
	seen := map[string]bool{}
	var routes []Route[string]
	if rng.IntN(2) == 0 {
		routes = append(routes, Route[string]{Key: "$default"})
	}
	for range n {
		depth := rng.IntN(4)
		var segs []string
		for d := 0; d < depth; d++ {
			switch k := rng.IntN(10); {
			case k < 6:
				segs = append(segs, literals[rng.IntN(len(literals))])
			case k < 9 || d < depth-1:
				segs = append(segs, fmt.Sprintf("{v%d}", d))
			default:
				segs = append(segs, fmt.Sprintf("{g%d+}", d))
			}
		}
		if depth > 0 && rng.IntN(4) == 0 {
			segs[depth-1] = fmt.Sprintf("{g%d+}", depth-1)
		}
		r := Route[string]{Method: methods[rng.IntN(len(methods))], Path: "/" + strings.Join(segs, "/")}
		r.Key = r.Method + " " + r.Path
		if seen[shape(r)] {
			continue
		}
		seen[shape(r)] = true
		routes = append(routes, r)
	}
	return routes
}

// randomPath returns a raw request path over the same alphabet, with
// escapes, empty segments and trailing slashes.
func randomPath(rng *rand.Rand) string {
	segs := []string{"a", "b", "c", "d", "a:b", "", "%61", "%2F", "a%2Fb", "%zz", "%", "A", "a%3Ab"}
	depth := rng.IntN(6)
	var b strings.Builder
	for range depth {
		b.WriteString("/" + segs[rng.IntN(len(segs))])
	}
	switch rng.IntN(8) {
	case 0:
		b.WriteString("/")
	case 1:
		return "x" + b.String()
	}
	return b.String()
}

var randomMethods = []string{"GET", "get", "POST", "HEAD", "PUT", "ANY", "TRACE"}

// TestAgainstBruteForce is the differential property test: on random route
// sets and random paths the trie agrees with the reference matcher.
func TestAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for set := range 400 {
		routes := randomRoutes(rng, 1+rng.IntN(25))
		indexRoutes(routes)
		tab, err := New(routes)
		if err != nil {
			t.Fatalf("set %d: New: %v", set, err)
		}
		for range 150 {
			checkAgainstBrute(t, tab, routes, randomMethods[rng.IntN(len(randomMethods))], randomPath(rng))
		}
	}
}

// parseRouteLines turns "METHOD /path" and "$default" lines into routes,
// for the fuzz targets.
func parseRouteLines(text string) []Route[string] {
	var routes []Route[string]
	for i, line := range strings.Split(text, "\n") {
		if i >= 64 {
			break
		}
		r := Route[string]{Key: line}
		if line != "$default" {
			r.Method, r.Path, _ = strings.Cut(line, " ")
		}
		routes = append(routes, r)
	}
	return routes
}

// FuzzMatch checks that Match never panics and agrees with the reference
// matcher on any route set New accepts.
func FuzzMatch(f *testing.F) {
	f.Add(strings.Join(workedExample, "\n"), "GET", "/pets/cat/1")
	f.Add(strings.Join(workedExample, "\n"), "POST", "/test/5")
	f.Add("GET /a/{x}\nGET /{y}/b\nANY /a/{p+}", "GET", "/a/b")
	f.Add("GET /\nANY /{proxy+}", "get", "/x%2Fy/z/")
	f.Add("GET /files/{path+}\n$default", "GET", "/files//a%zz")
	f.Fuzz(func(t *testing.T, routeText, method, path string) {
		routes := parseRouteLines(routeText)
		indexRoutes(routes)
		tab, err := New(routes)
		if err != nil {
			return
		}
		checkAgainstBrute(t, tab, routes, method, path)
	})
}

// FuzzNew checks that New never panics on a template, and that a template it
// accepts matches a request built from it, with the expected parameters.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"/", "/pets/{id}", "/files/{path+}", "/a/{x}/b/{y+}", "/{p+}/a", "/a//b", "/a/", "/{id}.json", "/{a}/{a}", "/a%20", "/{}", "/{+}", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		tab, err := New([]Route[string]{{Key: "GET " + tmpl, Method: "GET", Path: tmpl, Value: "r"}})
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", "GET "+tmpl)) {
				t.Fatalf("error %q does not name the route", err)
			}
			return
		}
		if tmpl != "/" && (!strings.HasPrefix(tmpl, "/") || strings.HasSuffix(tmpl, "/") || strings.Contains(tmpl, "//")) {
			t.Fatalf("New accepted malformed template %q", tmpl)
		}
		// Build a request: literals as they are, {v} -> "v<i>", {g+} -> "x/y".
		var path strings.Builder
		want := Params(nil)
		if tmpl != "/" {
			for i, s := range strings.Split(tmpl[1:], "/") {
				path.WriteString("/")
				switch {
				case strings.HasSuffix(s, "+}"):
					path.WriteString("x/y")
					want = append(want, Param{s[1 : len(s)-2], "x/y"})
				case strings.HasPrefix(s, "{"):
					v := fmt.Sprintf("v%d", i)
					path.WriteString(v)
					want = append(want, Param{s[1 : len(s)-1], v})
				default:
					path.WriteString(s)
				}
			}
		}
		r, ps, ok := tab.Match("GET", path.String())
		if !ok || r.Value != "r" || !slices.Equal(ps, want) {
			t.Fatalf("Match(GET, %q) = %v, %q, %v; want the route with %q", path.String(), r, ps, ok, want)
		}
	})
}
