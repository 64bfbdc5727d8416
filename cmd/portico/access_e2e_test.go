package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/portico-dev/portico/internal/throttle/redistest"
)

// issuer is an OpenID Connect issuer for tests: discovery, a key set, and
// tokens signed with its key.
type issuer struct {
	*httptest.Server
	signer jose.Signer
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{signer: signer}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}
	is.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": is.URL, "jwks_uri": is.URL + "/jwks"})
		case "/jwks":
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(is.Close)
	return is
}

func (is *issuer) token(t *testing.T, aud, scope string, exp time.Duration) string {
	t.Helper()
	tok, err := jwt.Signed(is.signer).Claims(jwt.Claims{
		Issuer: is.URL, Subject: "u1", Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Minute)), Expiry: jwt.NewNumericDate(time.Now().Add(exp)),
	}).Claims(map[string]any{"scope": scope}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// copyExample copies an example directory into a temp dir, replacing text
// in its spec, and returns the spec's path.
func copyExample(t testing.TB, name string, replace ...string) string {
	t.Helper()
	dst := t.TempDir()
	copyExampleTo(t, name, dst, replace...)
	return filepath.Join(dst, "portico.yaml")
}

// copyExampleTo copies examples/NAME to dst, replacing text in its spec.
func copyExampleTo(t testing.TB, name, dst string, replace ...string) {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			if fi.Name() == "__pycache__" || fi.Name() == ".portico" {
				return filepath.SkipDir // runtime leftovers of an earlier run
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == "portico.yaml" {
			b = []byte(strings.NewReplacer(replace...).Replace(string(b)))
		}
		return os.WriteFile(filepath.Join(dst, rel), b, fi.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestAccessExample runs examples/access: every authorizer type, API keys,
// throttles and CORS, enforced through `portico up`, with real clients.
func TestAccessExample(t *testing.T) {
	is := newIssuer(t)
	specFile := copyExample(t, "access", "http://127.0.0.1:9999", is.URL)
	in := up(t, specFile)
	ep := in.endpoints["shop v1"]

	req := func(method, path string, header ...string) *http.Request {
		r, err := http.NewRequest(method, ep+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	const unauthorized, forbidden = `{"message":"Unauthorized"}`, `{"message":"Forbidden"}`
	good := is.token(t, "shop", "orders/read", time.Hour)
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   string // exact for errors, a substring for successes
	}{
		{"open route", req("GET", "/open"), 200, `"routeKey": "GET /open"`},
		{"jwt: no token", req("GET", "/jwt"), 401, unauthorized},
		{"jwt: good token", req("GET", "/jwt", "Authorization", "Bearer "+good), 200, `"sub": "u1"`},
		{"jwt: wrong audience", req("GET", "/jwt", "Authorization", is.token(t, "other", "", time.Hour)), 401, unauthorized},
		{"jwt: expired", req("GET", "/jwt", "Authorization", is.token(t, "shop", "", -time.Minute)), 401, unauthorized},
		{"jwt: scope present", req("GET", "/orders", "Authorization", good), 200, `"orders/read"`},
		{"jwt: scope missing", req("GET", "/orders", "Authorization", is.token(t, "shop", "profile", time.Hour)), 403, forbidden},
		{"lambda: no identity source", req("GET", "/lambda"), 401, unauthorized},
		{"lambda: allowed", req("GET", "/lambda", "X-Token", "let-me-in"), 200, `"user": "demo"`},
		{"lambda: denied", req("GET", "/lambda", "X-Token", "nope"), 403, forbidden},
		{"iam: unsigned", req("GET", "/iam"), 403, forbidden},
		{"api key: missing", req("GET", "/keyed"), 403, forbidden},
		{"api key: unknown", req("GET", "/keyed", "X-Api-Key", "not-a-key-0123456789abc"), 403, forbidden},
		{"api key: good", req("GET", "/keyed", "X-Api-Key", "alice-key-0123456789abcdef"), 200, `"routeKey": "GET /keyed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, tt.req)
			if resp.StatusCode != tt.wantStatus || (tt.wantStatus >= 400 && body != tt.wantBody) || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	t.Run("iam: signed with aws-sdk-go-v2", func(t *testing.T) {
		sign := func(r *http.Request, secret string, at time.Time) {
			sum := sha256.Sum256(nil)
			creds := aws.Credentials{AccessKeyID: "AKIAPORTICODEMO00001", SecretAccessKey: secret}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", at); err != nil {
				t.Fatal(err)
			}
		}
		const secret = "portico-demo-secret-key-not-for-production"
		r := req("GET", "/iam")
		sign(r, secret, time.Now())
		if resp, body := do(t, r); resp.StatusCode != 200 || !strings.Contains(body, `"accessKey": "AKIAPORTICODEMO00001"`) {
			t.Errorf("signed: %d %s", resp.StatusCode, body)
		}
		r = req("GET", "/iam")
		sign(r, "wrong-secret-wrong-secret-wrong", time.Now())
		if resp, body := do(t, r); resp.StatusCode != 403 || body != forbidden {
			t.Errorf("bad signature: %d %s", resp.StatusCode, body)
		}
		r = req("GET", "/iam")
		sign(r, secret, time.Now().Add(-20*time.Minute))
		if resp, _ := do(t, r); resp.StatusCode != 403 {
			t.Errorf("outside the 15-minute window: %d", resp.StatusCode)
		}
		r = req("GET", "/iam")
		sign(r, secret, time.Now())
		r.Header.Set("X-Amz-Date", time.Now().Add(time.Second).UTC().Format("20060102T150405Z"))
		if resp, _ := do(t, r); resp.StatusCode != 403 {
			t.Errorf("tampered header: %d", resp.StatusCode)
		}
	})

	t.Run("route throttle", func(t *testing.T) {
		var codes []int
		for range 3 {
			resp, _ := do(t, req("GET", "/limited"))
			codes = append(codes, resp.StatusCode)
		}
		if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
			t.Errorf("statuses %v, want [200 200 429] (burst 2)", codes)
		}
	})

	t.Run("cors preflight", func(t *testing.T) {
		resp, _ := do(t, req("OPTIONS", "/jwt", "Origin", "https://shop.example", "Access-Control-Request-Method", "GET"))
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || resp.Header.Get("Access-Control-Max-Age") != "600" {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
		resp, _ = do(t, req("GET", "/open", "Origin", "https://shop.example"))
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Errorf("simple request: %v", resp.Header)
		}
	})

	t.Run("api keys from the CLI", func(t *testing.T) {
		out, err := in.cli("apikey", "create", "bob", "--plan", "free").CombinedOutput()
		if err != nil {
			t.Fatalf("apikey create: %v\n%s", err, out)
		}
		var value string
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(line, "x-api-key: "); ok {
				value = v
			}
		}
		if resp, body := do(t, req("GET", "/keyed", "X-Api-Key", value)); resp.StatusCode != 200 {
			t.Fatalf("new key: %d %s", resp.StatusCode, body)
		}
		out, err = in.cli("usage", "bob").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "1 requests this DAY, limit 100, remaining 99") {
			t.Errorf("usage: %v %s", err, out)
		}
		if out, err := in.cli("apikey", "delete", "bob").CombinedOutput(); err != nil {
			t.Fatalf("apikey delete: %v\n%s", err, out)
		}
		if resp, _ := do(t, req("GET", "/keyed", "X-Api-Key", value)); resp.StatusCode != 403 {
			t.Errorf("deleted key: %d, want 403", resp.StatusCode)
		}
		out, err = in.cli("apikey", "list").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "alice") || strings.Contains(string(out), "bob") {
			t.Errorf("list: %v\n%s", err, out)
		}
	})
}

// TestSharedThrottleRedis runs two Portico replicas against one real Redis
// and floods a throttled route through both: together they admit what one
// bucket allows. Then Redis goes away and the replicas follow their
// failure policy (closed: 503) without hanging.
func TestSharedThrottleRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("floods for several seconds")
	}
	srv := redistest.Start(t)
	// A fast upstream, so that the flood always has requests waiting for
	// a token: the count then measures the shared bucket alone.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer upstream.Close()
	dir := t.TempDir()
	spec := `apis:
  shared:
    integrations:
      up: {type: HTTP_PROXY, uri: "` + upstream.URL + `"}
    routes:
      "GET /x": {integration: up}
    stages:
      v1:
        autoDeploy: true
        routeSettings:
          "GET /x": {throttlingRateLimit: 50, throttlingBurstLimit: 10}
`
	specFile := filepath.Join(dir, "portico.yaml")
	os.WriteFile(specFile, []byte(spec), 0o644)
	// A generous Redis timeout: this test is about sharing one budget; the
	// failure policy is checked below, with Redis gone.
	// Two replicas share their limits through Redis; each has its own
	// state directory (a state directory is one instance's).
	a := up(t, specFile, "--redis", srv.URL, "--redis-timeout", "2s", "--data-dir", t.TempDir())
	b := up(t, specFile, "--redis", srv.URL, "--redis-timeout", "2s", "--data-dir", t.TempDir())

	// The bucket's tokens accrue between its first and last take, which
	// happen after the first request was sent and before the first answer
	// came, and after the last request was sent and before the last answer
	// came. The count is checked against the window those events bound (in
	// nanoseconds since start), not against the flood's nominal length, so a
	// loaded machine's slow start or slow tail does not skew it.
	const flood = 4 * time.Second
	var admitted, refused, other atomic.Int64
	var firstAnswer, lastSend, lastAnswer atomic.Int64
	firstAnswer.Store(int64(time.Hour))
	var wg sync.WaitGroup
	start := time.Now()
	for _, in := range []*instance{a, b} {
		for range 4 {
			wg.Add(1)
			go func(ep string) {
				defer wg.Done()
				for time.Since(start) < flood {
					sent := int64(time.Since(start))
					resp, err := http.Get(ep + "/x")
					answered := int64(time.Since(start))
					for v := lastSend.Load(); sent > v && !lastSend.CompareAndSwap(v, sent); v = lastSend.Load() {
					}
					for v := lastAnswer.Load(); answered > v && !lastAnswer.CompareAndSwap(v, answered); v = lastAnswer.Load() {
					}
					for v := firstAnswer.Load(); answered < v && !firstAnswer.CompareAndSwap(v, answered); v = firstAnswer.Load() {
					}
					if err != nil {
						other.Add(1)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case 200:
						admitted.Add(1)
					case 429:
						refused.Add(1)
					default:
						other.Add(1)
					}
				}
			}(in.endpoints["shared v1"])
		}
	}
	wg.Wait()
	// At most what one bucket accrues from the first send to the last
	// answer; at least what it accrues from the first answer to the last
	// send (5 % slack for moments no request was waiting).
	most := 10 + 50*time.Duration(lastAnswer.Load()).Seconds()
	least := 10 + 50*time.Duration(lastSend.Load()-firstAnswer.Load()).Seconds()
	got := float64(admitted.Load())
	t.Logf("admitted %v (one bucket allows %.0f to %.0f), refused %d, other %d", got, least, most, refused.Load(), other.Load())
	if got > most*1.05 || got < least*0.95 {
		t.Errorf("two replicas admitted %v, want what one bucket allows: %.0f to %.0f (±5%%)", got, least, most)
	}
	if refused.Load() == 0 || other.Load() != 0 {
		t.Errorf("refused %d, other %d", refused.Load(), other.Load())
	}

	// Redis goes away: fail closed is the default, answered quickly.
	srv.Kill()
	// (--redis-timeout bounds the wait; the client has no deadline.)
	resp, body := get(t, a.endpoints["shared v1"]+"/x")
	if resp.StatusCode != 503 || body != `{"message":"Service Unavailable"}` {
		t.Errorf("with Redis down: %d %s, want 503", resp.StatusCode, body)
	}
}
