package spec

import (
	"strings"
	"testing"
)

func TestParseRouteKey(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		wantMethod string
		wantPath   string
		wantErr    string
	}{
		{"default", "$default", "", "", ""},
		{"root", "GET /", "GET", "/", ""},
		{"any greedy", "ANY /{proxy+}", "ANY", "/{proxy+}", ""},
		{"variables", "POST /pets/{petId}/toys/{toy.id-2_x}", "POST", "/pets/{petId}/toys/{toy.id-2_x}", ""},
		{"nested greedy", "DELETE /a/{b}/{rest+}", "DELETE", "/a/{b}/{rest+}", ""},
		{"all methods", "OPTIONS /x", "OPTIONS", "/x", ""},
		{"literal punctuation", "GET /v1/items:batchGet", "GET", "/v1/items:batchGet", ""},
		{"empty", "", "", "", `route key "": want "$default" or "METHOD /path"`},
		{"no method", "/pets", "", "", `route key "/pets": want "$default" or "METHOD /path"`},
		{"default lower", "$DEFAULT", "", "", `route key "$DEFAULT": want "$default" or "METHOD /path"`},
		{"lower method", "get /", "", "", `route key "get /": unknown method "get" (methods are upper case: GET); want one of ANY GET POST PUT PATCH DELETE HEAD OPTIONS`},
		{"unknown method", "TRACE /", "", "", `route key "TRACE /": unknown method "TRACE"; want one of ANY GET POST PUT PATCH DELETE HEAD OPTIONS`},
		{"two spaces", "GET  /", "", "", `route key "GET  /": path must start with "/"`},
		{"relative", "GET pets", "", "", `route key "GET pets": path must start with "/"`},
		{"trailing slash", "GET /metrics/", "", "", `route key "GET /metrics/": path must not end with "/"`},
		{"empty segment", "GET /a//b", "", "", `route key "GET /a//b": path has an empty segment`},
		{"partial variable", "GET /a/{id}.json", "", "", `route key "GET /a/{id}.json": path segment "{id}.json": a variable must be a whole segment, {name} or {name+}`},
		{"stray brace", "GET /a/}", "", "", `route key "GET /a/}": path segment "}": a variable must be a whole segment, {name} or {name+}`},
		{"empty variable", "GET /{}", "", "", `route key "GET /{}": path variable {}: name must match [A-Za-z0-9._-]+`},
		{"bad variable name", "GET /{a b}", "", "", `route key "GET /{a b}": path variable {a b}: name must match [A-Za-z0-9._-]+`},
		{"plus only", "GET /{+}", "", "", `route key "GET /{+}": path variable {+}: name must match [A-Za-z0-9._-]+`},
		{"greedy not last", "GET /{p+}/x", "", "", `route key "GET /{p+}/x": greedy path variable {p+} must be the last segment`},
		{"duplicate variable", "GET /{id}/{id+}", "", "", `route key "GET /{id}/{id+}": path variable {id} appears twice`},
		{"space in path", "GET /a b", "", "", `route key "GET /a b": path segment "a b" must not contain whitespace, "?" or "#"`},
		{"query", "GET /a?x=1", "", "", `route key "GET /a?x=1": path segment "a?x=1" must not contain whitespace, "?" or "#"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, p, err := ParseRouteKey(tt.key)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if m != tt.wantMethod || p != tt.wantPath || gotErr != tt.wantErr {
				t.Errorf("ParseRouteKey(%q) = %q, %q, %q; want %q, %q, %q", tt.key, m, p, gotErr, tt.wantMethod, tt.wantPath, tt.wantErr)
			}
		})
	}
}

func TestRouteShape(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"variables", "/a/{x}", "/a/{y}"},
		{"greedy", "/a/{x+}", "/a/{y+}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if routeShape(tt.a) != routeShape(tt.b) {
				t.Errorf("%s and %s have different shapes", tt.a, tt.b)
			}
		})
	}
	if routeShape("/a/{x}") == routeShape("/a/{x+}") || routeShape("/a/{x}") == routeShape("/a/x") {
		t.Error("distinct shapes compare equal")
	}
}

// FuzzParseRouteKey checks that ParseRouteKey never panics and that what
// it accepts is canonical: the parts rebuild the key.
func FuzzParseRouteKey(f *testing.F) {
	for _, k := range []string{"$default", "GET /", "ANY /{proxy+}", "GET /a/{b}/{c+}", "get /", "GET /a//b", "GET /{a}/{a}"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		m, p, err := ParseRouteKey(key)
		if err != nil {
			if m != "" || p != "" || !strings.HasPrefix(err.Error(), "route key ") {
				t.Fatalf("error %v with results %q %q", err, m, p)
			}
			return
		}
		if key == DefaultRouteKey {
			return
		}
		if m+" "+p != key {
			t.Fatalf("ParseRouteKey(%q) = %q %q", key, m, p)
		}
	})
}
