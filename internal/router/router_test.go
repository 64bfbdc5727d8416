package router

import (
	"maps"
	"strings"
	"sync"
	"testing"
)

// routesFromKeys builds routes from route keys ("$default" or "METHOD /path"),
// each carrying its key as Value.
func routesFromKeys(keys ...string) []Route[string] {
	routes := make([]Route[string], 0, len(keys))
	for _, k := range keys {
		r := Route[string]{Key: k, Value: k}
		if k != "$default" {
			r.Method, r.Path, _ = strings.Cut(k, " ")
		}
		routes = append(routes, r)
	}
	return routes
}

func mustNew(t testing.TB, keys ...string) *Table[string] {
	t.Helper()
	tab, err := New(routesFromKeys(keys...))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tab
}

// workedExample is the route set of the worked example in the AWS routes page.
var workedExample = []string{"GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default"}

func TestMatch(t *testing.T) {
	tests := []struct {
		name       string
		routes     []string
		method     string
		path       string
		want       string            // chosen route key; "" for no match
		wantParams map[string]string // nil when none
	}{
		// The worked example from "Create routes for HTTP APIs", "Routing API requests".
		{name: "example/static beats variable", routes: workedExample, method: "GET", path: "/pets/dog/1", want: "GET /pets/dog/1"},
		{name: "example/variable", routes: workedExample, method: "GET", path: "/pets/dog/2", want: "GET /pets/dog/{id}", wantParams: map[string]string{"id": "2"}},
		{name: "example/longer greedy prefix and explicit method", routes: workedExample, method: "GET", path: "/pets/cat/1", want: "GET /pets/{proxy+}", wantParams: map[string]string{"proxy": "cat/1"}},
		{name: "example/greedy beats $default", routes: workedExample, method: "POST", path: "/test/5", want: "ANY /{proxy+}", wantParams: map[string]string{"proxy": "test/5"}},
		{name: "example/root falls to $default", routes: workedExample, method: "GET", path: "/", want: "$default"},
		{name: "example/POST under pets goes to ANY greedy", routes: workedExample, method: "POST", path: "/pets/dog/1", want: "ANY /{proxy+}", wantParams: map[string]string{"proxy": "pets/dog/1"}},

		// Specificity.
		{name: "literal beats var", routes: []string{"GET /a/{x}", "GET /a/b"}, method: "GET", path: "/a/b", want: "GET /a/b"},
		{name: "var beats greedy", routes: []string{"GET /a/{p+}", "GET /a/{x}"}, method: "GET", path: "/a/b", want: "GET /a/{x}", wantParams: map[string]string{"x": "b"}},
		{name: "full match beats greedy with longer literal prefix", routes: []string{"GET /a/{p+}", "GET /{x}/b"}, method: "GET", path: "/a/b", want: "GET /{x}/b", wantParams: map[string]string{"x": "a"}},
		{name: "leftmost literal wins", routes: []string{"GET /{y}/b", "GET /a/{x}"}, method: "GET", path: "/a/b", want: "GET /a/{x}", wantParams: map[string]string{"x": "b"}},
		{name: "failed literal branch backtracks to var", routes: []string{"GET /a/b/c", "GET /a/{x}/d"}, method: "GET", path: "/a/b/d", want: "GET /a/{x}/d", wantParams: map[string]string{"x": "b"}},
		{name: "failed literal and var branches backtrack to greedy", routes: []string{"GET /a/b/c", "GET /a/{x}/d", "GET /a/{p+}"}, method: "GET", path: "/a/b/e", want: "GET /a/{p+}", wantParams: map[string]string{"p": "b/e"}},
		{name: "greedy deeper in literal branch wins", routes: []string{"GET /{p+}", "GET /a/{q+}", "GET /a/b/{r+}"}, method: "GET", path: "/a/b/c/d", want: "GET /a/b/{r+}", wantParams: map[string]string{"r": "c/d"}},
		{name: "var then greedy beats greedy at same position", routes: []string{"GET /a/{p+}", "GET /a/{x}/{q+}"}, method: "GET", path: "/a/b/c", want: "GET /a/{x}/{q+}", wantParams: map[string]string{"x": "b", "q": "c"}},
		{name: "greedy after literal beats greedy after var", routes: []string{"GET /{x}/b/{p+}", "GET /a/{q+}"}, method: "GET", path: "/a/b/c", want: "GET /a/{q+}", wantParams: map[string]string{"q": "b/c"}},
		{name: "explicit method beats ANY on same path", routes: []string{"ANY /a", "GET /a"}, method: "GET", path: "/a", want: "GET /a"},
		{name: "ANY serves other methods of same path", routes: []string{"ANY /a", "GET /a"}, method: "DELETE", path: "/a", want: "ANY /a"},
		{name: "more specific ANY path beats explicit method on var path", routes: []string{"GET /a/{x}", "ANY /a/b"}, method: "GET", path: "/a/b", want: "ANY /a/b"},
		{name: "explicit method beats ANY on same greedy", routes: []string{"ANY /a/{p+}", "POST /a/{q+}"}, method: "POST", path: "/a/b", want: "POST /a/{q+}", wantParams: map[string]string{"q": "b"}},
		{name: "method mismatch on literal backtracks to var", routes: []string{"POST /a/b", "GET /a/{x}"}, method: "GET", path: "/a/b", want: "GET /a/{x}", wantParams: map[string]string{"x": "b"}},

		// Methods.
		{name: "unmatched method falls to $default", routes: []string{"GET /a", "$default"}, method: "POST", path: "/a", want: "$default"},
		{name: "unmatched method without $default", routes: []string{"GET /a"}, method: "POST", path: "/a", want: ""},
		{name: "HEAD is not GET", routes: []string{"GET /a"}, method: "HEAD", path: "/a", want: ""},
		{name: "HEAD route", routes: []string{"GET /a", "HEAD /a"}, method: "HEAD", path: "/a", want: "HEAD /a"},
		{name: "lower-case request method", routes: []string{"GET /a"}, method: "get", path: "/a", want: "GET /a"},
		{name: "unknown method reaches ANY", routes: []string{"GET /a", "ANY /a"}, method: "PROPFIND", path: "/a", want: "ANY /a"},
		{name: "request method ANY reaches only ANY", routes: []string{"GET /a"}, method: "ANY", path: "/a", want: ""},
		{name: "OPTIONS route", routes: []string{"OPTIONS /{p+}"}, method: "OPTIONS", path: "/x/y", want: "OPTIONS /{p+}", wantParams: map[string]string{"p": "x/y"}},

		// Slashes and the root.
		{name: "trailing slash ignored", routes: []string{"GET /hello"}, method: "GET", path: "/hello/", want: "GET /hello"},
		{name: "root", routes: []string{"GET /", "GET /{p+}"}, method: "GET", path: "/", want: "GET /"},
		{name: "empty path is root", routes: []string{"GET /"}, method: "GET", path: "", want: "GET /"},
		{name: "double slash is not root", routes: []string{"GET /", "$default"}, method: "GET", path: "//", want: "$default"},
		{name: "only one trailing slash ignored", routes: []string{"GET /hello"}, method: "GET", path: "/hello//", want: ""},
		{name: "trailing slash on var", routes: []string{"GET /a/{x}"}, method: "GET", path: "/a/b/", want: "GET /a/{x}", wantParams: map[string]string{"x": "b"}},
		{name: "trailing slash dropped from greedy value", routes: []string{"GET /a/{p+}"}, method: "GET", path: "/a/b/c/", want: "GET /a/{p+}", wantParams: map[string]string{"p": "b/c"}},
		{name: "path without leading slash", routes: []string{"GET /a", "$default"}, method: "GET", path: "a", want: ""},

		// Zero-segment greedy.
		{name: "greedy needs a segment", routes: []string{"GET /a/{p+}", "$default"}, method: "GET", path: "/a", want: "$default"},
		{name: "greedy needs a segment, trailing slash", routes: []string{"GET /a/{p+}"}, method: "GET", path: "/a/", want: ""},
		{name: "root greedy does not match root", routes: []string{"ANY /{proxy+}"}, method: "GET", path: "/", want: ""},
		{name: "base route beside greedy", routes: []string{"ANY /a", "ANY /a/{p+}"}, method: "GET", path: "/a", want: "ANY /a"},

		// Empty segments.
		{name: "var does not match empty segment", routes: []string{"GET /a/{x}/b"}, method: "GET", path: "/a//b", want: ""},
		{name: "greedy keeps inner empty segments", routes: []string{"GET /{p+}"}, method: "GET", path: "/a//b", want: "GET /{p+}", wantParams: map[string]string{"p": "a//b"}},
		{name: "greedy's first segment must not be empty", routes: []string{"GET /a/{p+}"}, method: "GET", path: "/a//b", want: ""},
		{name: "empty segment skips literal and var, reaches outer greedy", routes: []string{"GET /a/{x}", "GET /{p+}"}, method: "GET", path: "/a//", want: "GET /{p+}", wantParams: map[string]string{"p": "a/"}},

		// Case.
		{name: "paths are case-sensitive", routes: []string{"GET /pets"}, method: "GET", path: "/Pets", want: ""},
		{name: "var keeps case", routes: []string{"GET /pets/{id}"}, method: "GET", path: "/pets/AbC", want: "GET /pets/{id}", wantParams: map[string]string{"id": "AbC"}},

		// Percent-decoding.
		{name: "encoded slash stays in its segment", routes: []string{"GET /a/b", "GET /{x}"}, method: "GET", path: "/a%2Fb", want: "GET /{x}", wantParams: map[string]string{"x": "a/b"}},
		{name: "encoded slash does not split a literal", routes: []string{"GET /a/b"}, method: "GET", path: "/a%2fb", want: ""},
		{name: "literal matched against decoded segment", routes: []string{"GET /a"}, method: "GET", path: "/%61", want: "GET /a"},
		{name: "var value decoded", routes: []string{"GET /u/{name}"}, method: "GET", path: "/u/J%C3%BCrgen%20M", want: "GET /u/{name}", wantParams: map[string]string{"name": "Jürgen M"}},
		{name: "plus is not a space", routes: []string{"GET /u/{name}"}, method: "GET", path: "/u/a+b", want: "GET /u/{name}", wantParams: map[string]string{"name": "a+b"}},
		{name: "greedy value decoded and joined", routes: []string{"GET /files/{path+}"}, method: "GET", path: "/files/a%20b/c%2Fd", want: "GET /files/{path+}", wantParams: map[string]string{"path": "a b/c/d"}},
		{name: "encoded trailing slash is a segment", routes: []string{"GET /a/{x}"}, method: "GET", path: "/a/%2F", want: "GET /a/{x}", wantParams: map[string]string{"x": "/"}},
		{name: "invalid escape is no match", routes: []string{"GET /{p+}", "$default"}, method: "GET", path: "/a%zz", want: ""},
		{name: "truncated escape is no match", routes: []string{"$default"}, method: "GET", path: "/a%2", want: ""},
		{name: "lone percent is no match", routes: []string{"$default"}, method: "GET", path: "/%", want: ""},

		// $default and no routes.
		{name: "$default only", routes: []string{"$default"}, method: "PATCH", path: "/any/thing", want: "$default"},
		{name: "empty table", routes: nil, method: "GET", path: "/", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := mustNew(t, tt.routes...)
			r, params, ok := tab.Match(tt.method, tt.path)
			got := ""
			if ok {
				got = r.Value
			}
			if got != tt.want {
				t.Fatalf("Match(%q, %q) = %q, want %q", tt.method, tt.path, got, tt.want)
			}
			if !ok && (r != nil || params != nil) {
				t.Errorf("no match returned route %v, params %v", r, params)
			}
			if gotParams := params.Map(); !maps.Equal(gotParams, tt.wantParams) || (gotParams == nil) != (tt.wantParams == nil) {
				t.Errorf("params = %v, want %v", gotParams, tt.wantParams)
			}
		})
	}
}

func TestParams(t *testing.T) {
	tab := mustNew(t, "GET /a/{x}/{y}/{rest+}", "GET /b")
	_, ps, _ := tab.Match("GET", "/a/1/2/3/4")
	want := Params{{"x", "1"}, {"y", "2"}, {"rest", "3/4"}}
	if len(ps) != len(want) {
		t.Fatalf("params = %v, want %v", ps, want)
	}
	for i := range want {
		if ps[i] != want[i] {
			t.Errorf("params[%d] = %v, want %v", i, ps[i], want[i])
		}
	}
	tests := []struct{ name, want string }{{"x", "1"}, {"rest", "3/4"}, {"missing", ""}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ps.Get(tt.name); got != tt.want {
				t.Errorf("Get(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
	_, none, ok := tab.Match("GET", "/b")
	if !ok || none != nil || none.Map() != nil || none.Get("x") != "" {
		t.Errorf("params without variables = %v (map %v), want nil", none, none.Map())
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		routes  []Route[string]
		wantErr []string // substrings of the error, in any order; nil for success
	}{
		{name: "good mixed table", routes: routesFromKeys("GET /", "ANY /{proxy+}", "GET /pets/{id}", "POST /pets/{id}", "GET /files/{path+}", "DELETE /a-b/c_d/e.f/~x/{v.1}", "PUT /x:y@z/$&'()*+,;=!", "$default")},
		{name: "same path different methods", routes: routesFromKeys("GET /a", "POST /a", "ANY /a", "HEAD /a", "OPTIONS /a", "PATCH /a", "PUT /a", "DELETE /a")},
		{name: "greedy and var at same place", routes: routesFromKeys("GET /a/{x}", "GET /a/{p+}")},

		{name: "lower-case method", routes: routesFromKeys("get /a"), wantErr: []string{`route "get /a": method "get" must be upper case (GET)`}},
		{name: "unknown method", routes: routesFromKeys("TRACE /a"), wantErr: []string{`method "TRACE" is not one of ANY, GET`}},
		{name: "method without path", routes: []Route[string]{{Key: "k", Method: "GET"}}, wantErr: []string{`route "k": path is empty`}},
		{name: "path without method", routes: []Route[string]{{Method: "", Path: "/a"}}, wantErr: []string{`route " /a": method is empty`}},
		{name: "no leading slash", routes: routesFromKeys("GET a"), wantErr: []string{`path "a" must start with "/"`}},
		{name: "trailing slash", routes: routesFromKeys("GET /metrics/"), wantErr: []string{`path "/metrics/" must not end with "/"`}},
		{name: "empty segment", routes: routesFromKeys("GET /a//b"), wantErr: []string{`segment 2: empty segment`}},
		{name: "greedy not last", routes: routesFromKeys("GET /{p+}/a"), wantErr: []string{`greedy variable {p+} must be the last segment`}},
		{name: "partial-segment variable", routes: routesFromKeys("GET /a/{id}.json"), wantErr: []string{`a variable must be a whole segment`}},
		{name: "unbalanced brace", routes: routesFromKeys("GET /a/{id"), wantErr: []string{`a variable must be a whole segment`}},
		{name: "empty variable name", routes: routesFromKeys("GET /{}"), wantErr: []string{`variable "{}" has no name`}},
		{name: "empty greedy name", routes: routesFromKeys("GET /{+}"), wantErr: []string{`variable "{+}" has no name`}},
		{name: "bad variable name", routes: routesFromKeys("GET /{a b}"), wantErr: []string{`invalid character ' ' in name`}},
		{name: "non-ASCII variable name", routes: routesFromKeys("GET /{ü}"), wantErr: []string{`variable "{ü}": non-ASCII character in name`}},
		{name: "nested braces", routes: routesFromKeys("GET /{{a}}"), wantErr: []string{`invalid character '{' in name`}},
		{name: "duplicate variable name", routes: routesFromKeys("GET /{id}/x/{id+}"), wantErr: []string{`variable "id" appears twice`}},
		{name: "percent in literal", routes: routesFromKeys("GET /a%20b"), wantErr: []string{`"%" is not allowed`}},
		{name: "space in literal", routes: routesFromKeys("GET /a b"), wantErr: []string{`invalid character ' '`}},
		{name: "query in literal", routes: routesFromKeys("GET /a?b"), wantErr: []string{`invalid character '?'`}},
		{name: "non-ASCII literal", routes: routesFromKeys("GET /café"), wantErr: []string{`"café": non-ASCII characters are not allowed`}},
		{name: "dot segment", routes: routesFromKeys("GET /a/../b"), wantErr: []string{`dot segment ".."`}},
		{name: "duplicate route", routes: routesFromKeys("GET /a/{id}", "GET /a/{id}"), wantErr: []string{`route "GET /a/{id}": conflicts with route "GET /a/{id}"`}},
		{name: "same shape other variable names", routes: routesFromKeys("GET /a/{id}", "GET /a/{name}"), wantErr: []string{`route "GET /a/{name}": conflicts with route "GET /a/{id}"`}},
		{name: "same greedy shape", routes: routesFromKeys("ANY /{proxy+}", "ANY /{path+}"), wantErr: []string{`conflicts with route "ANY /{proxy+}"`}},
		{name: "duplicate $default", routes: routesFromKeys("$default", "$default"), wantErr: []string{`duplicate $default route`}},
		{name: "all errors collected", routes: routesFromKeys("get /a", "GET b", "GET /c", "GET /c", "post x"),
			wantErr: []string{`"get /a": method`, `"GET b": path "b"`, `"GET /c": conflicts`, `"post x": method "post"`, `"post x": path "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := New(tt.routes)
			if tt.wantErr == nil {
				if err != nil || tab == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tt.wantErr)
			}
			if tab != nil {
				t.Errorf("New returned a table with its error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestNewCopiesRoutes checks that the table does not see later changes to
// the caller's slice.
func TestNewCopiesRoutes(t *testing.T) {
	routes := routesFromKeys("GET /a")
	tab, err := New(routes)
	if err != nil {
		t.Fatal(err)
	}
	routes[0].Value = "changed"
	if r, _, _ := tab.Match("GET", "/a"); r.Value != "GET /a" {
		t.Errorf("route value = %q after caller's change, want %q", r.Value, "GET /a")
	}
}

// TestConcurrentMatch runs Match from several goroutines (meaningful under -race).
func TestConcurrentMatch(t *testing.T) {
	tab := mustNew(t, workedExample...)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < 200; i++ {
				if r, _, ok := tab.Match("GET", "/pets/cat/1"); !ok || r.Key != "GET /pets/{proxy+}" {
					t.Errorf("Match = %v, %v", r, ok)
					return
				}
			}
		})
	}
	wg.Wait()
}
