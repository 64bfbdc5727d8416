package jwt

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/portico-dev/portico/internal/integration"
)

// testKeys are generated once per test binary: RSA key generation is slow.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// issuer is an OpenID Connect issuer on loopback: a discovery document and
// a JWKS endpoint whose keys and failure mode tests change.
type issuer struct {
	srv        *httptest.Server
	mu         sync.Mutex
	keys       map[string]*rsa.PrivateKey // published public halves, by kid
	jwksStatus int                        // non-zero: JWKS answers with this status
	jwksDelay  time.Duration              // JWKS waits this long (or until the client gives up); < 0: until the client gives up
	discovery  atomic.Int32
	jwks       atomic.Int32
	abandoned  atomic.Int32 // JWKS requests the client gave up before an answer
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	is := &issuer{keys: map[string]*rsa.PrivateKey{"k1": testKeys()[0]}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discovery.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.jwks.Add(1)
		is.mu.Lock()
		status, delay := is.jwksStatus, is.jwksDelay
		set := jose.JSONWebKeySet{}
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: "sig", Algorithm: string(jose.RS256)})
		}
		is.mu.Unlock()
		if delay != 0 {
			var answer <-chan time.Time // nil (never) for delay < 0
			if delay > 0 {
				answer = time.After(delay)
			}
			select {
			case <-answer:
			case <-r.Context().Done():
				is.abandoned.Add(1)
				return
			}
		}
		if status != 0 {
			http.Error(w, "down", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) publish(kid string, k *rsa.PrivateKey) {
	is.mu.Lock()
	is.keys[kid] = k
	is.mu.Unlock()
}

func (is *issuer) setJWKS(status int, delay time.Duration) {
	is.mu.Lock()
	is.jwksStatus, is.jwksDelay = status, delay
	is.mu.Unlock()
}

// config is an authorizer configuration for is with a fake clock.
func (is *issuer) config(clk *fakeClock) Config {
	return Config{
		Issuer:       is.srv.URL,
		Audience:     []string{"api://orders", "other"},
		Client:       is.srv.Client(),
		Now:          clk.Now,
		FetchTimeout: 200 * time.Millisecond,
	}
}

// claimsAt returns valid claims for is at the clock's time; mods change them.
func (is *issuer) claimsAt(clk *fakeClock, mods ...func(map[string]any)) map[string]any {
	now := clk.Now().Unix()
	c := map[string]any{
		"iss": is.srv.URL,
		"aud": "api://orders",
		"sub": "user-1",
		"exp": now + 300,
		"nbf": now - 10,
		"iat": now - 10,
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

// sign signs claims with key under kid and alg.
func sign(t testing.TB, key any, kid string, alg jose.SignatureAlgorithm, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	tok, err := josejwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// request is a GET with the Authorization header set to auth (none when
// empty).
func request(auth string) *integration.Request {
	h := httptest.NewRequest("GET", "http://api.test/orders", nil)
	if auth != "" {
		h.Header.Set("Authorization", auth)
	}
	return &integration.Request{HTTP: h, Path: "/orders", RouteKey: "GET /orders", Stage: "$default"}
}
