package cors

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func intp(v int) *int { return &v }

func mustNew(t testing.TB, cfg Config) *Policy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return p
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" means valid
	}{
		{name: "empty config", cfg: Config{}},
		{name: "star origin", cfg: Config{AllowOrigins: []string{"*"}}},
		{name: "scheme wildcards", cfg: Config{AllowOrigins: []string{"https://*", "http://*"}}},
		{name: "exact origins", cfg: Config{AllowOrigins: []string{"https://www.example.com", "http://localhost:3000", "http://[::1]:8080", "capacitor://localhost"}}},
		{name: "bad origin no scheme", cfg: Config{AllowOrigins: []string{"www.example.com"}}, wantErr: `allowOrigins[0] "www.example.com"`},
		{name: "bad origin trailing slash", cfg: Config{AllowOrigins: []string{"https://example.com/"}}, wantErr: "trailing slash"},
		{name: "bad origin path", cfg: Config{AllowOrigins: []string{"https://example.com/app"}}, wantErr: "no path"},
		{name: "bad origin subdomain wildcard", cfg: Config{AllowOrigins: []string{"https://*.example.com"}}, wantErr: "wildcards are only allowed"},
		{name: "bad origin empty", cfg: Config{AllowOrigins: []string{""}}, wantErr: "allowOrigins[0]"},
		{name: "bad origin empty host", cfg: Config{AllowOrigins: []string{"https://"}}, wantErr: "allowOrigins[0]"},
		{name: "bad origin userinfo", cfg: Config{AllowOrigins: []string{"https://u@example.com"}}, wantErr: "allowOrigins[0]"},
		{name: "credentials with exact origin", cfg: Config{AllowOrigins: []string{"https://a.example"}, AllowCredentials: true}},
		{name: "credentials with scheme wildcard", cfg: Config{AllowOrigins: []string{"https://*"}, AllowCredentials: true}},
		{name: "credentials with star origin", cfg: Config{AllowOrigins: []string{"*"}, AllowCredentials: true}, wantErr: "allow-credentials is not supported if 'allow-origin' is *"},
		{name: "methods", cfg: Config{AllowMethods: []string{"GET", "post", "*"}}},
		{name: "bad method", cfg: Config{AllowMethods: []string{"GET POST"}}, wantErr: `allowMethods[0] "GET POST"`},
		{name: "bad empty method", cfg: Config{AllowMethods: []string{""}}, wantErr: "allowMethods[0]"},
		{name: "headers", cfg: Config{AllowHeaders: []string{"Authorization", "x-amz-date", "*"}, ExposeHeaders: []string{"Date", "*"}}},
		{name: "bad allow header", cfg: Config{AllowHeaders: []string{"x:y"}}, wantErr: `allowHeaders[0] "x:y"`},
		{name: "bad expose header", cfg: Config{ExposeHeaders: []string{"a b"}}, wantErr: `exposeHeaders[0] "a b"`},
		{name: "max age low bound", cfg: Config{MaxAge: intp(-1)}},
		{name: "max age zero", cfg: Config{MaxAge: intp(0)}},
		{name: "max age high bound", cfg: Config{MaxAge: intp(86400)}},
		{name: "max age too low", cfg: Config{MaxAge: intp(-2)}, wantErr: "maxAge -2: out of range -1 to 86400"},
		{name: "max age too high", cfg: Config{MaxAge: intp(86401)}, wantErr: "maxAge 86401: out of range"},
		{name: "every problem reported", cfg: Config{AllowOrigins: []string{"*", "nope"}, AllowCredentials: true, MaxAge: intp(90000)}, wantErr: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || p == nil {
					t.Fatalf("New() = %v, %v; want a policy", p, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() error = %v; want it to contain %q", err, tt.wantErr)
			}
			if p != nil {
				t.Fatalf("New() returned a policy with an error")
			}
		})
	}
	t.Run("errors are joined", func(t *testing.T) {
		_, err := New(Config{AllowOrigins: []string{"*", "nope"}, AllowCredentials: true, MaxAge: intp(90000)})
		for _, want := range []string{"nope", "allow-credentials", "maxAge"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v lacks %q", err, want)
			}
		}
	})
}

func preflightReq(origin, method, headers string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/items", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if method != "" {
		r.Header.Set("Access-Control-Request-Method", method)
	}
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

func TestPreflight(t *testing.T) {
	full := Config{
		AllowOrigins:  []string{"https://app.example.com", "http://localhost:3000"},
		AllowMethods:  []string{"GET", "post", "DELETE"},
		AllowHeaders:  []string{"Authorization", "Content-Type"},
		ExposeHeaders: []string{"X-Request-Id"},
		MaxAge:        intp(600),
	}
	tests := []struct {
		name   string
		cfg    Config
		req    *http.Request
		wantOK bool
		want   http.Header // compared exactly when wantOK
	}{
		{
			name: "not options", cfg: full, wantOK: false,
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.Header.Set("Origin", "https://app.example.com")
				r.Header.Set("Access-Control-Request-Method", "GET")
				return r
			}(),
		},
		{name: "options without origin", cfg: full, req: preflightReq("", "GET", ""), wantOK: false},
		{name: "options without request method", cfg: full, req: preflightReq("https://app.example.com", "", ""), wantOK: false},
		{
			name: "exact origin allowed", cfg: full, req: preflightReq("https://app.example.com", "POST", "authorization"), wantOK: true,
			want: http.Header{
				"Vary":                         {"Origin"},
				"Access-Control-Allow-Origin":  {"https://app.example.com"},
				"Access-Control-Allow-Methods": {"GET,POST,DELETE"},
				"Access-Control-Allow-Headers": {"Authorization,Content-Type"},
				"Access-Control-Max-Age":       {"600"},
			},
		},
		{
			name: "exact origin matched case-insensitively, echoed as sent", cfg: full, req: preflightReq("HTTPS://App.Example.com", "GET", ""), wantOK: true,
			want: http.Header{
				"Vary":                         {"Origin"},
				"Access-Control-Allow-Origin":  {"HTTPS://App.Example.com"},
				"Access-Control-Allow-Methods": {"GET,POST,DELETE"},
				"Access-Control-Allow-Headers": {"Authorization,Content-Type"},
				"Access-Control-Max-Age":       {"600"},
			},
		},
		{
			name: "origin not allowed gets 204 without CORS headers", cfg: full, req: preflightReq("https://evil.example", "GET", ""), wantOK: true,
			want: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "port is part of the origin", cfg: full, req: preflightReq("http://localhost:3001", "GET", ""), wantOK: true,
			want: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "star origin sends literal star", req: preflightReq("https://x.example", "PUT", "x-a"), wantOK: true,
			cfg: Config{AllowOrigins: []string{"*"}, AllowMethods: []string{"PUT"}, AllowHeaders: []string{"x-a"}},
			want: http.Header{
				"Access-Control-Allow-Origin":  {"*"},
				"Access-Control-Allow-Methods": {"PUT"},
				"Access-Control-Allow-Headers": {"x-a"},
			},
		},
		{
			name: "star origin allows the null origin", req: preflightReq("null", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"*"}},
			want: http.Header{"Access-Control-Allow-Origin": {"*"}},
		},
		{
			name: "https wildcard allows any https origin", req: preflightReq("https://a.b.example:8443", "GET", ""), wantOK: true,
			cfg: Config{AllowOrigins: []string{"https://*"}, AllowCredentials: true},
			want: http.Header{
				"Vary":                             {"Origin"},
				"Access-Control-Allow-Origin":      {"https://a.b.example:8443"},
				"Access-Control-Allow-Credentials": {"true"},
			},
		},
		{
			name: "https wildcard refuses http", req: preflightReq("http://a.example", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"https://*"}},
			want: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "https wildcard refuses an empty host", req: preflightReq("https://", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"https://*"}},
			want: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "https wildcard refuses a path", req: preflightReq("https://a.example/x", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"https://*"}},
			want: http.Header{"Vary": {"Origin"}},
		},
		{
			name: "http wildcard allows http", req: preflightReq("http://127.0.0.1:5173", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"http://*"}},
			want: http.Header{"Vary": {"Origin"}, "Access-Control-Allow-Origin": {"http://127.0.0.1:5173"}},
		},
		{
			name: "star methods and headers echo the request", req: preflightReq("https://app.example.com", "PATCH", "Authorization, X-Amz-Date ,bad header,"), wantOK: true,
			cfg: Config{AllowOrigins: []string{"https://app.example.com"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}},
			want: http.Header{
				"Vary":                         {"Origin"},
				"Access-Control-Allow-Origin":  {"https://app.example.com"},
				"Access-Control-Allow-Methods": {"PATCH"},
				"Access-Control-Allow-Headers": {"authorization,x-amz-date"},
			},
		},
		{
			name: "star headers without requested headers sends none", req: preflightReq("https://app.example.com", "GET", ""), wantOK: true,
			cfg: Config{AllowOrigins: []string{"https://app.example.com"}, AllowHeaders: []string{"*", "x-a"}},
			want: http.Header{
				"Vary":                        {"Origin"},
				"Access-Control-Allow-Origin": {"https://app.example.com"},
			},
		},
		{
			name: "max age zero is sent", req: preflightReq("https://x.example", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"*"}, MaxAge: intp(0)},
			want: http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Max-Age": {"0"}},
		},
		{
			name: "max age minus one is sent", req: preflightReq("https://x.example", "GET", ""), wantOK: true,
			cfg:  Config{AllowOrigins: []string{"*"}, MaxAge: intp(-1)},
			want: http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Max-Age": {"-1"}},
		},
		{
			name: "no origins configured", req: preflightReq("https://x.example", "GET", ""), wantOK: true,
			cfg:  Config{AllowMethods: []string{"GET"}},
			want: http.Header{"Vary": {"Origin"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			resp, ok := p.Preflight(tt.req)
			if ok != tt.wantOK {
				t.Fatalf("Preflight ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if resp != nil {
					t.Fatalf("Preflight resp = %+v for a non-preflight", resp)
				}
				return
			}
			if resp.Status != http.StatusNoContent {
				t.Errorf("status = %d, want 204", resp.Status)
			}
			if !reflect.DeepEqual(resp.Header, tt.want) {
				t.Errorf("header = %v\nwant     %v", resp.Header, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	exact := Config{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowMethods:     []string{"GET"},
		AllowHeaders:     []string{"Authorization"},
		ExposeHeaders:    []string{"X-Request-Id", "Date"},
		MaxAge:           intp(300),
		AllowCredentials: true,
	}
	backend := func() http.Header {
		return http.Header{
			"Content-Type":                 {"application/json"},
			"Access-Control-Allow-Origin":  {"*"},
			"Access-Control-Allow-Methods": {"PUT"},
			"access-control-max-age":       {"99"}, // non-canonical key set directly
		}
	}
	tests := []struct {
		name   string
		cfg    Config
		in     http.Header
		origin string
		want   http.Header
	}{
		{
			name: "allowed exact origin", cfg: exact, in: backend(), origin: "https://app.example.com",
			want: http.Header{
				"Content-Type":                     {"application/json"},
				"Vary":                             {"Origin"},
				"Access-Control-Allow-Origin":      {"https://app.example.com"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Expose-Headers":    {"X-Request-Id,Date"},
			},
		},
		{
			name: "no origin strips backend CORS headers only", cfg: exact, in: backend(), origin: "",
			want: http.Header{"Content-Type": {"application/json"}},
		},
		{
			name: "disallowed origin strips and varies", cfg: exact, in: backend(), origin: "https://evil.example",
			want: http.Header{"Content-Type": {"application/json"}, "Vary": {"Origin"}},
		},
		{
			name: "star origin without credentials", cfg: Config{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"*"}},
			in: backend(), origin: "https://any.example",
			want: http.Header{
				"Content-Type":                  {"application/json"},
				"Access-Control-Allow-Origin":   {"*"},
				"Access-Control-Expose-Headers": {"*"},
			},
		},
		{
			name: "existing vary kept and extended", cfg: exact,
			in: http.Header{"Vary": {"Accept-Encoding"}}, origin: "https://app.example.com",
			want: http.Header{
				"Vary":                             {"Accept-Encoding", "Origin"},
				"Access-Control-Allow-Origin":      {"https://app.example.com"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Expose-Headers":    {"X-Request-Id,Date"},
			},
		},
		{
			name: "vary already naming origin left alone", cfg: Config{AllowOrigins: []string{"http://*"}},
			in: http.Header{"Vary": {"accept, origin"}}, origin: "http://a.example",
			want: http.Header{"Vary": {"accept, origin"}, "Access-Control-Allow-Origin": {"http://a.example"}},
		},
		{
			name: "no origins configured", cfg: Config{}, in: backend(), origin: "https://app.example.com",
			want: http.Header{"Content-Type": {"application/json"}, "Vary": {"Origin"}},
		},
		{
			name: "nil-safe on empty header", cfg: exact, in: http.Header{}, origin: "",
			want: http.Header{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			p.Apply(tt.in, tt.origin)
			if !reflect.DeepEqual(tt.in, tt.want) {
				t.Errorf("header = %v\nwant     %v", tt.in, tt.want)
			}
		})
	}
}

// TestSharedValuesNotCorrupted checks that appending to a header Apply set
// does not leak into the next response.
func TestSharedValuesNotCorrupted(t *testing.T) {
	p := mustNew(t, Config{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"Date"}})
	h1 := http.Header{}
	p.Apply(h1, "https://a.example")
	h1.Add("Access-Control-Expose-Headers", "X-Other")
	h1.Add("Access-Control-Allow-Origin", "junk")
	h2 := http.Header{}
	p.Apply(h2, "https://a.example")
	if got := h2.Values("Access-Control-Expose-Headers"); !reflect.DeepEqual(got, []string{"Date"}) {
		t.Errorf("second response expose = %v", got)
	}
	if got := h2.Values("Access-Control-Allow-Origin"); !reflect.DeepEqual(got, []string{"*"}) {
		t.Errorf("second response allow-origin = %v", got)
	}
}

// refAllowed is an independent, naive statement of the origin rules.
func refAllowed(cfg Config, origin string) bool {
	if origin == "" {
		return false
	}
	lo := strings.ToLower(origin)
	for _, o := range cfg.AllowOrigins {
		switch lower := strings.ToLower(o); lower {
		case "*":
			return true
		case "https://*", "http://*":
			scheme := strings.TrimSuffix(lower, "*")
			rest, ok := strings.CutPrefix(lo, scheme)
			if ok && rest != "" && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-_~%:[]") == "" && rest[0] != ':' {
				return true
			}
		default:
			if lower == lo {
				return true
			}
		}
	}
	return false
}

func FuzzPolicy(f *testing.F) {
	f.Add("https://app.example.com", "https://app.example.com", "content-type,x-a", false)
	f.Add("https://*", "https://x.example:1", "", true)
	f.Add("http://*", "http://", "a b", false)
	f.Add("*", "null", "\r\n", false)
	f.Add("HTTPS://A.example", "https://a.EXAMPLE", ",,", true)
	f.Fuzz(func(t *testing.T, cfgOrigins, origin, reqHeaders string, creds bool) {
		cfg := Config{
			AllowOrigins:     strings.Split(cfgOrigins, ","),
			AllowMethods:     []string{"*"},
			AllowHeaders:     []string{"*"},
			ExposeHeaders:    []string{"x-a"},
			AllowCredentials: creds,
		}
		p, err := New(cfg)
		if err != nil {
			return
		}
		want := refAllowed(cfg, origin)
		if got := p.Allowed(origin); got != want {
			t.Fatalf("Allowed(%q) = %v, reference says %v (config %q)", origin, got, want, cfgOrigins)
		}

		h := http.Header{"Access-Control-Allow-Origin": {"*"}}
		p.Apply(h, origin)
		if _, set := h["Access-Control-Allow-Origin"]; set != want {
			t.Fatalf("Apply set allow-origin = %v for %q, want %v", set, origin, want)
		}

		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header["Origin"] = []string{origin}
		r.Header["Access-Control-Request-Method"] = []string{"GET"}
		r.Header["Access-Control-Request-Headers"] = []string{reqHeaders}
		resp, ok := p.Preflight(r)
		if origin == "" {
			if ok {
				t.Fatalf("Preflight ok without an origin")
			}
			return
		}
		if !ok {
			t.Fatalf("Preflight not ok for a preflight")
		}
		if _, set := resp.Header["Access-Control-Allow-Origin"]; set != want {
			t.Fatalf("Preflight set allow-origin = %v for %q, want %v", set, origin, want)
		}
		for k, vs := range resp.Header {
			for _, v := range vs {
				if k != "Access-Control-Allow-Origin" && strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header %s has control characters: %q", k, v)
				}
			}
		}
	})
}

func BenchmarkApply(b *testing.B) {
	p := mustNew(b, Config{
		AllowOrigins:     []string{"https://app.example.com", "https://admin.example.com"},
		AllowMethods:     []string{"GET", "POST"},
		AllowHeaders:     []string{"Authorization", "Content-Type"},
		ExposeHeaders:    []string{"X-Request-Id"},
		MaxAge:           intp(600),
		AllowCredentials: true,
	})
	b.Run("allowed", func(b *testing.B) {
		h := http.Header{"Content-Type": {"application/json"}, "Content-Length": {"12"}, "Apigw-Requestid": {"abc"}}
		b.ReportAllocs()
		for b.Loop() {
			delete(h, "Vary")
			p.Apply(h, "https://app.example.com")
		}
	})
	b.Run("no-origin", func(b *testing.B) {
		h := http.Header{"Content-Type": {"application/json"}, "Content-Length": {"12"}, "Apigw-Requestid": {"abc"}}
		b.ReportAllocs()
		for b.Loop() {
			p.Apply(h, "")
		}
	})
}

func BenchmarkPreflight(b *testing.B) {
	p := mustNew(b, Config{
		AllowOrigins: []string{"https://app.example.com"},
		AllowMethods: []string{"GET", "POST"},
		AllowHeaders: []string{"Authorization", "Content-Type"},
		MaxAge:       intp(600),
	})
	r := preflightReq("https://app.example.com", "POST", "authorization")
	b.ReportAllocs()
	for b.Loop() {
		p.Preflight(r)
	}
}
