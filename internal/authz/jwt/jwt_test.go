package jwt

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/testtool"
)

const challenge = `Bearer scope="" error="invalid_token" error_description=`

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// checkRefused asserts err is an *edge.Error of kind, with a
// www-authenticate header containing wantHeader ("" = no header).
func checkRefused(t *testing.T, err error, kind edge.Kind, wantHeader string) {
	t.Helper()
	var e *edge.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *edge.Error", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %d (%v), want %d", e.Kind, err, kind)
	}
	got := e.Header.Get("Www-Authenticate")
	if wantHeader == "" && got != "" {
		t.Fatalf("www-authenticate = %q, want none", got)
	}
	if !strings.Contains(got, wantHeader) {
		t.Fatalf("www-authenticate = %q, want it to contain %q", got, wantHeader)
	}
}

func TestAuthorize(t *testing.T) {
	is := newIssuer(t)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		t.Fatal(err)
	}
	keys := testKeys()
	good := sign(t, keys[0], "k1", jose.RS256, is.claimsAt(clk))
	with := func(mods ...func(map[string]any)) string {
		return sign(t, keys[0], "k1", jose.RS256, is.claimsAt(clk, mods...))
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	now := clk.Now().Unix()

	pubDER, err := x509.MarshalPKIXPublicKey(&keys[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	payload := b64(`{"iss":"` + is.srv.URL + `","aud":"api://orders","exp":9999999999}`)

	tests := []struct {
		name       string
		auth       string
		scopes     []string
		wantKind   edge.Kind // ignored when wantOK
		wantOK     bool
		wantHeader string
		wantScopes []string
	}{
		{name: "bare token", auth: good, wantOK: true},
		{name: "bearer token", auth: "Bearer " + good, wantOK: true},
		{name: "bearer lower case", auth: "bearer " + good, wantOK: true},
		{name: "PS256", auth: sign(t, keys[0], "k1", jose.PS256, is.claimsAt(clk)), wantOK: false, wantKind: edge.Unauthorized, wantHeader: "the token signature is invalid"},
		{name: "missing", auth: "", wantKind: edge.Unauthorized},
		{name: "bearer without token", auth: "Bearer ", wantKind: edge.Unauthorized, wantHeader: "malformed"},
		{name: "scope matches", auth: with(set("scope", "read write")), scopes: []string{"admin", "write"}, wantOK: true, wantScopes: []string{"read", "write"}},
		{name: "scp array matches", auth: with(set("scp", []string{"read", "write"})), scopes: []string{"read"}, wantOK: true, wantScopes: []string{"read", "write"}},
		{name: "scp string matches", auth: with(set("scp", "read")), scopes: []string{"read"}, wantOK: true, wantScopes: []string{"read"}},
		{name: "scope mismatch", auth: with(set("scope", "read")), scopes: []string{"write"}, wantKind: edge.Forbidden, wantHeader: `error="insufficient_scope"`},
		{name: "no scope claim", auth: good, scopes: []string{"write"}, wantKind: edge.Forbidden, wantHeader: `scope="write"`},
		{name: "alg none", auth: b64(`{"alg":"none","kid":"k1","typ":"JWT"}`) + "." + payload + ".", wantKind: edge.Unauthorized, wantHeader: "signing method none is invalid"},
		{name: "HS256 with the public key as secret", auth: sign(t, pubPEM, "k1", jose.HS256, is.claimsAt(clk)), wantKind: edge.Unauthorized, wantHeader: "signing method HS256 is invalid"},
		{name: "signed by another key", auth: sign(t, keys[1], "k1", jose.RS256, is.claimsAt(clk)), wantKind: edge.Unauthorized, wantHeader: "the token signature is invalid"},
		{name: "tampered payload", auth: func() string {
			p := strings.Split(good, ".")
			return p[0] + "." + payload + "." + p[2]
		}(), wantKind: edge.Unauthorized, wantHeader: "the token signature is invalid"},
		{name: "no kid", auth: sign(t, keys[0], "", jose.RS256, is.claimsAt(clk)), wantKind: edge.Unauthorized, wantHeader: "no kid"},
		{name: "wrong issuer", auth: with(set("iss", "https://evil.test")), wantKind: edge.Unauthorized, wantHeader: "the token does not have a valid issuer"},
		{name: "issuer missing", auth: with(del("iss")), wantKind: edge.Unauthorized, wantHeader: "valid issuer"},
		{name: "wrong audience", auth: with(set("aud", "api://billing")), wantKind: edge.Unauthorized, wantHeader: `error_description="the token does not have a valid audience"`},
		{name: "audience array one matches", auth: with(set("aud", []string{"x", "other"})), wantOK: true},
		{name: "audience array none matches", auth: with(set("aud", []string{"x", "y"})), wantKind: edge.Unauthorized, wantHeader: "valid audience"},
		{name: "client_id fallback", auth: with(del("aud"), set("client_id", "other")), wantOK: true},
		{name: "client_id wrong", auth: with(del("aud"), set("client_id", "nope")), wantKind: edge.Unauthorized, wantHeader: "valid audience"},
		{name: "aud wins over client_id", auth: with(set("aud", "nope"), set("client_id", "api://orders")), wantKind: edge.Unauthorized, wantHeader: "valid audience"},
		{name: "no aud no client_id", auth: with(del("aud")), wantKind: edge.Unauthorized, wantHeader: "valid audience"},
		{name: "expired", auth: with(set("exp", now-60)), wantKind: edge.Unauthorized, wantHeader: `error_description="the token has expired"`},
		{name: "expired within skew", auth: with(set("exp", now-2)), wantOK: true},
		{name: "no exp", auth: with(del("exp")), wantKind: edge.Unauthorized, wantHeader: "no exp"},
		{name: "exp not a number", auth: with(set("exp", "tomorrow")), wantKind: edge.Unauthorized, wantHeader: "malformed"},
		{name: "not yet valid", auth: with(set("nbf", now+60)), wantKind: edge.Unauthorized, wantHeader: "the token is not valid yet"},
		{name: "nbf within skew", auth: with(set("nbf", now+2)), wantOK: true},
		{name: "iat in the future", auth: with(set("iat", now+60)), wantKind: edge.Unauthorized, wantHeader: "the token was issued in the future"},
		{name: "two parts", auth: "abc.def", wantKind: edge.Unauthorized, wantHeader: "the token is malformed"},
		{name: "four parts", auth: good + ".x", wantKind: edge.Unauthorized, wantHeader: "malformed"},
		{name: "bad base64", auth: "!!!.@@@.###", wantKind: edge.Unauthorized, wantHeader: "malformed"},
		{name: "header not JSON", auth: b64("not json") + "." + payload + ".c2ln", wantKind: edge.Unauthorized, wantHeader: "malformed"},
		{name: "payload not JSON", auth: func() string {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: keys[0]}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
			if err != nil {
				t.Fatal(err)
			}
			o, err := s.Sign([]byte("not json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := o.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			return c
		}(), wantKind: edge.Unauthorized, wantHeader: "malformed"},
		{name: "1 MB token", auth: "Bearer " + strings.Repeat("a", 1<<20), wantKind: edge.Unauthorized, wantHeader: "the token is too large"},
		{name: "header injection in alg", auth: b64(`{"alg":"x\"\r\nSet-Cookie: a","kid":"k1"}`) + "." + payload + ".c2ln", wantKind: edge.Unauthorized, wantHeader: `error_description="the token is malformed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Authorize(context.Background(), request(tt.auth), tt.scopes)
			if !tt.wantOK {
				if got != nil {
					t.Fatalf("authorized: %+v", got)
				}
				checkRefused(t, err, tt.wantKind, tt.wantHeader)
				return
			}
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if got == nil || got.JWT == nil {
				t.Fatalf("Authorize = %+v, want JWT claims", got)
			}
			if got.JWT.Claims["sub"] != "user-1" || got.JWT.Claims["iss"] != is.srv.URL {
				t.Errorf("claims = %v", got.JWT.Claims)
			}
			if !reflect.DeepEqual(got.JWT.Scopes, tt.wantScopes) {
				t.Errorf("scopes = %#v, want %#v", got.JWT.Scopes, tt.wantScopes)
			}
		})
	}
	if n := is.jwks.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (warm cache)", n)
	}
}

func TestClaimsStringified(t *testing.T) {
	is := newIssuer(t)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, testKeys()[0], "k1", jose.RS256, is.claimsAt(clk, func(m map[string]any) {
		m["exp"] = 1700000300
		m["int"] = 42
		m["big"] = 12345678901234567
		m["float"] = 1.5
		m["expo"] = 1e21
		m["yes"] = true
		m["no"] = false
		m["null"] = nil
		m["groups"] = []any{"admin", "users", 3}
		m["obj"] = map[string]any{"b": 1, "a": "x"}
		m["email"] = "a@b.test"
	}))
	got, err := a.Authorize(context.Background(), request(tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"iss": is.srv.URL, "aud": "api://orders", "sub": "user-1",
		"exp": "1700000300", "nbf": "1699999990", "iat": "1699999990",
		"int": "42", "big": "12345678901234567", "float": "1.5", "expo": "1000000000000000000000",
		"yes": "true", "no": "false", "null": "null",
		"groups": "[admin users 3]", "obj": "map[a:x b:1]", "email": "a@b.test",
	}
	if !reflect.DeepEqual(got.JWT.Claims, want) {
		t.Errorf("claims:\n got %v\nwant %v", got.JWT.Claims, want)
	}
	if got.JWT.Scopes != nil {
		t.Errorf("scopes = %#v, want nil for a route without scopes", got.JWT.Scopes)
	}
}

func TestQueryStringSource(t *testing.T) {
	is := newIssuer(t)
	clk := newClock()
	cfg := is.config(clk)
	cfg.IdentitySource = []string{"$request.querystring.access_token"}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, testKeys()[0], "k1", jose.RS256, is.claimsAt(clk))
	tests := []struct {
		name   string
		target string
		wantOK bool
	}{
		{name: "present", target: "/orders?access_token=" + tok, wantOK: true},
		{name: "absent", target: "/orders?other=" + tok},
		{name: "header ignored", target: "/orders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httptest.NewRequest("GET", tt.target, nil)
			h.Header.Set("Authorization", "Bearer "+tok)
			_, err := a.Authorize(context.Background(), &integration.Request{HTTP: h}, nil)
			if tt.wantOK != (err == nil) {
				t.Fatalf("err = %v, wantOK %v", err, tt.wantOK)
			}
			if err != nil {
				checkRefused(t, err, edge.Unauthorized, "")
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	is := newIssuer(t)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		t.Fatal(err)
	}
	keys := testKeys()
	ctx := context.Background()
	if _, err := a.Authorize(ctx, request(sign(t, keys[0], "k1", jose.RS256, is.claimsAt(clk))), nil); err != nil {
		t.Fatalf("k1: %v", err)
	}
	is.publish("k2", keys[1])
	k2 := sign(t, keys[1], "k2", jose.RS256, is.claimsAt(clk, func(m map[string]any) { m["exp"] = clk.Now().Unix() + 3600 }))

	// Within MinRefreshInterval of the first fetch, the new kid is refused
	// without a fetch.
	_, err = a.Authorize(ctx, request(k2), nil)
	checkRefused(t, err, edge.Unauthorized, "kid")
	if n := is.jwks.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
	clk.Advance(DefaultMinRefreshInterval)
	if _, err := a.Authorize(ctx, request(k2), nil); err != nil {
		t.Fatalf("k2 after refresh: %v", err)
	}
	if n, d := is.jwks.Load(), is.discovery.Load(); n != 2 || d != 1 {
		t.Fatalf("JWKS fetched %d times, discovery %d; want 2 and 1", n, d)
	}
}

func TestRevokedKeyRefusesCachedToken(t *testing.T) {
	is := newIssuer(t)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		t.Fatal(err)
	}
	is.publish("k2", testKeys()[1])
	tok := sign(t, testKeys()[1], "k2", jose.RS256, is.claimsAt(clk, func(m map[string]any) { m["exp"] = clk.Now().Unix() + 7200 }))
	if _, err := a.Authorize(context.Background(), request(tok), nil); err != nil {
		t.Fatalf("first use: %v", err)
	}
	is.mu.Lock()
	delete(is.keys, "k2")
	is.mu.Unlock()
	clk.Advance(DefaultCacheTTL)
	if err := a.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(-DefaultCacheTTL + time.Minute) // token still unexpired
	_, err = a.Authorize(context.Background(), request(tok), nil)
	checkRefused(t, err, edge.Unauthorized, "kid")
}

func TestCacheTTLRefreshesInBackground(t *testing.T) {
	is := newIssuer(t)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		t.Fatal(err)
	}
	tok := func() string {
		return sign(t, testKeys()[0], "k1", jose.RS256, is.claimsAt(clk))
	}
	if err := a.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(DefaultCacheTTL)
	is.setJWKS(http.StatusInternalServerError, 0)
	// The stale key still works while the refresh fails.
	if _, err := a.Authorize(context.Background(), request(tok()), nil); err != nil {
		t.Fatalf("stale key: %v", err)
	}
	waitFor(t, func() bool { return is.jwks.Load() == 2 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("condition not met within 1s")
}

func TestUnknownKIDWithJWKSDown(t *testing.T) {
	tests := []struct {
		name   string
		status int
		delay  time.Duration
	}{
		{name: "down", status: http.StatusServiceUnavailable},
		{name: "slow", delay: -1}, // never answers: only the fetch timeout ends the wait
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := newIssuer(t)
			is.setJWKS(tt.status, tt.delay)
			clk := newClock()
			cfg := is.config(clk)
			cfg.FetchTimeout = 300 * time.Millisecond
			a, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// A flood of tokens with unknown kids: one fetch, every one
			// refused, none waits beyond the fetch bound.
			var wg sync.WaitGroup
			errs := make([]error, 40)
			toks := make([]string, len(errs))
			for i := range toks {
				toks[i] = sign(t, testKeys()[1], "unknown-"+string(rune('a'+i%26)), jose.RS256, is.claimsAt(clk))
			}
			for i := range errs {
				wg.Go(func() {
					_, errs[i] = a.Authorize(context.Background(), request(toks[i]), nil)
				})
			}
			// A server that never answers: the flood ends only because
			// the fetch timeout gives up (an event, not a stopwatch).
			flood := make(chan struct{})
			go func() { wg.Wait(); close(flood) }()
			testtool.Await(t, "the flood to end at the fetch timeout", flood)
			if tt.delay < 0 {
				testtool.Eventually(t, "the JWKS fetch to be abandoned", func() bool { return is.abandoned.Load() == 1 })
			}
			for _, err := range errs {
				checkRefused(t, err, edge.Unauthorized, "kid")
			}
			// Each refresh starts with discovery (the JWKS failure clears
			// the remembered jwks_uri), so discovery counts refreshes.
			if n, k := is.discovery.Load(), is.jwks.Load(); n != 1 || k > 1 {
				t.Errorf("refreshes during the flood: discovery %d, JWKS %d; want 1 and at most 1", n, k)
			}
			// One more fetch per MinRefreshInterval, however many tokens.
			clk.Advance(DefaultMinRefreshInterval)
			for range 5 {
				_, err := a.Authorize(context.Background(), request(sign(t, testKeys()[1], "x", jose.RS256, is.claimsAt(clk))), nil)
				checkRefused(t, err, edge.Unauthorized, "kid")
			}
			if n, k := is.discovery.Load(), is.jwks.Load(); n != 2 || k > 2 {
				t.Errorf("refreshes: discovery %d, JWKS %d; want 2 and at most 2", n, k)
			}
		})
	}
}

func TestWaitBoundedByContext(t *testing.T) {
	is := newIssuer(t)
	is.setJWKS(0, 5*time.Second)
	clk := newClock()
	cfg := is.config(clk)
	cfg.FetchTimeout = 300 * time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = a.Authorize(ctx, request(sign(t, testKeys()[0], "k1", jose.RS256, is.claimsAt(clk))), nil)
	checkRefused(t, err, edge.Unauthorized, "kid")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline as cause", err)
	}
}

func TestDiscoveryFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{name: "no discovery", handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, wantErr: "status 404"},
		{name: "bad jwks_uri", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"jwks_uri":"ftp://x"}`)) }, wantErr: "not an absolute http(s) URL"},
		{name: "document too large", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"jwks_uri":"` + strings.Repeat("a", MaxDocumentBytes) + `"}`))
		}, wantErr: "exceeds 150000 bytes"},
		{name: "not JSON", handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`<html>`)) }, wantErr: "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			a, err := New(Config{Issuer: srv.URL, Audience: []string{"a"}, Client: srv.Client(), Now: newClock().Now})
			if err != nil {
				t.Fatal(err)
			}
			err = a.Prefetch(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Prefetch = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	good := Config{Issuer: "https://idp.test", Audience: []string{"a"}}
	tests := []struct {
		name    string
		mod     func(c *Config)
		wantErr string
	}{
		{name: "valid", mod: func(c *Config) {}},
		{name: "issuer missing", mod: func(c *Config) { c.Issuer = "" }, wantErr: "issuer"},
		{name: "issuer relative", mod: func(c *Config) { c.Issuer = "idp.test" }, wantErr: "issuer"},
		{name: "issuer with query", mod: func(c *Config) { c.Issuer = "https://idp.test/?a=b" }, wantErr: "issuer"},
		{name: "no audience", mod: func(c *Config) { c.Audience = nil }, wantErr: "at least one"},
		{name: "empty audience", mod: func(c *Config) { c.Audience = []string{""} }, wantErr: "empty entry"},
		{name: "too many audiences", mod: func(c *Config) { c.Audience = make([]string, 51) }, wantErr: "at most 50"},
		{name: "two sources", mod: func(c *Config) { c.IdentitySource = []string{"$request.header.A", "$request.header.B"} }, wantErr: "exactly one"},
		{name: "context source", mod: func(c *Config) { c.IdentitySource = []string{"$context.requestId"} }, wantErr: "must be $request.header"},
		{name: "bad source", mod: func(c *Config) { c.IdentitySource = []string{"Authorization"} }, wantErr: "identity source"},
		{name: "query source", mod: func(c *Config) { c.IdentitySource = []string{"$request.querystring.t"} }},
		{name: "negative ttl", mod: func(c *Config) { c.CacheTTL = -1 }, wantErr: "cache TTL"},
		{name: "negative max token", mod: func(c *Config) { c.MaxTokenBytes = -1 }, wantErr: "max token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mod(&c)
			_, err := New(c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzAuthorize(f *testing.F) {
	is := newIssuer(f)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		f.Fatal(err)
	}
	if err := a.Prefetch(context.Background()); err != nil {
		f.Fatal(err)
	}
	good := sign(f, testKeys()[0], "k1", jose.RS256, is.claimsAt(clk))
	f.Add(good[:len(good)-2] + "AA") // bad signature
	f.Add("Bearer " + good[:len(good)/2])
	f.Add("a.b.c")
	f.Add(b64(`{"alg":"none","kid":"k1"}`) + ".e30.")
	f.Add(b64(`{"alg":"RS256","kid":"k1"}`) + "." + b64(`{"exp":1e400}`) + ".AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		h := httptest.NewRequest("GET", "/", nil)
		h.Header["Authorization"] = []string{token}
		got, err := a.Authorize(context.Background(), &integration.Request{HTTP: h}, nil)
		if err == nil || got != nil {
			t.Fatalf("token %q authorized: %+v", token, got)
		}
		if k := edge.As(err).Kind; k != edge.Unauthorized {
			t.Fatalf("kind %d for %q: %v", k, token, err)
		}
	})
}

func BenchmarkAuthorize(b *testing.B) {
	is := newIssuer(b)
	clk := newClock()
	a, err := New(is.config(clk))
	if err != nil {
		b.Fatal(err)
	}
	tok := "Bearer " + sign(b, testKeys()[0], "k1", jose.RS256, is.claimsAt(clk, func(m map[string]any) {
		m["scope"] = "read write"
		m["email"] = "a@b.test"
	}))
	r := request(tok)
	ctx := context.Background()
	scopes := []string{"read"}
	if _, err := a.Authorize(ctx, r, scopes); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authorize(ctx, r, scopes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.verified = tokenCache{} // force the RSA verification
			if _, err := a.Authorize(ctx, r, scopes); err != nil {
				b.Fatal(err)
			}
		}
	})
}
