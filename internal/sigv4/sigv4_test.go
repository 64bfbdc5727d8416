package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	testNow   = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	testCreds = Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	tempCreds = Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "tempsecret", SessionToken: "FQoGZXIvYXdzEXAMPLETOKEN//+=="}
)

func testVerifier() *Verifier {
	return &Verifier{
		Lookup: func(id string) (Credentials, bool) {
			switch id {
			case testCreds.AccessKeyID:
				return testCreds, true
			case tempCreds.AccessKeyID:
				return tempCreds, true
			}
			return Credentials{}, false
		},
		Now: func() time.Time { return testNow },
	}
}

func hashHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// sdkSign signs with aws-sdk-go-v2 and returns the request as a server
// would see it (RequestURI set, Host promoted).
func sdkSign(t testing.TB, c Credentials, method, url string, hdr http.Header, body []byte, service string, at time.Time, payload string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if payload == "" {
		payload = hashHex(body)
	}
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		req, payload, service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return asServer(req)
}

func asServer(req *http.Request) *http.Request {
	req.RequestURI = req.URL.RequestURI()
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	return req
}

func TestVerifySDKShapes(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		url     string
		hdr     http.Header
		body    string
		service string
		creds   Credentials
		payload string
	}{
		{name: "plain get", method: "GET", url: "https://abc.execute-api.us-east-1.amazonaws.com/v1/orders/42", service: "execute-api"},
		{name: "post with body", method: "POST", url: "http://127.0.0.1:8080/items", body: `{"a":1}`, service: "execute-api",
			hdr: http.Header{"Content-Type": {"application/json"}}},
		{name: "query spaces unicode reserved", method: "GET", url: "http://h/x?q=a%20b&u=%C3%A9t%C3%A9&r=%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D&t=~-._", service: "execute-api"},
		{name: "plus in query", method: "GET", url: "http://h/x?q=a+b", service: "execute-api"},
		{name: "repeated params", method: "GET", url: "http://h/x?tag=b&tag=a&x=1&tag=c", service: "execute-api"},
		{name: "empty values", method: "GET", url: "http://h/x?a=&b&c=1", service: "execute-api"},
		{name: "unicode keys", method: "GET", url: "http://h/x?%C3%A9=1&aa=2&a%21=3", service: "execute-api"},
		{name: "special path", method: "GET", url: "http://h/a%20b/c%2Fd/%C3%A9/x+y/%7Euser/it's", service: "execute-api"},
		{name: "lambda arn path", method: "POST", url: "http://127.0.0.1:9001/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123%3Afunction%3Af/invocations", service: "lambda", body: "{}"},
		{name: "multi header values", method: "GET", url: "http://h/x", service: "execute-api",
			hdr: http.Header{"X-Multi": {"one", "  two   three  "}, "X-Tab": {"a\t\tb"}}},
		{name: "session token", method: "GET", url: "http://h/x", service: "execute-api", creds: tempCreds},
		{name: "s3 key special", method: "PUT", url: "http://127.0.0.1:9000/bucket/dir/a%20b%2Bc%21%C3%A9", service: "s3", body: "data",
			hdr: http.Header{"X-Amz-Content-Sha256": {hashHex([]byte("data"))}}},
		{name: "s3 unsigned payload", method: "PUT", url: "http://127.0.0.1:9000/bucket/k", service: "s3", body: "data",
			payload: UnsignedPayload, hdr: http.Header{"X-Amz-Content-Sha256": {UnsignedPayload}}},
		{name: "s3 streaming seed", method: "PUT", url: "http://127.0.0.1:9000/bucket/k", service: "s3",
			payload: StreamingPayload, hdr: http.Header{"X-Amz-Content-Sha256": {StreamingPayload}, "Content-Encoding": {"aws-chunked"}}},
		{name: "s3 double slash and dots kept", method: "GET", url: "http://127.0.0.1:9000/bucket//a/./b/../c", service: "s3",
			hdr: http.Header{"X-Amz-Content-Sha256": {emptyHash}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.creds
			if c.AccessKeyID == "" {
				c = testCreds
			}
			r := sdkSign(t, c, tt.method, tt.url, tt.hdr, []byte(tt.body), tt.service, testNow.Add(-time.Minute), tt.payload)
			var body []byte
			if tt.payload == "" {
				body = []byte(tt.body)
			}
			id, err := testVerifier().Verify(r, body, tt.service)
			if err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", err, r.Header.Get("Authorization"))
			}
			if id.AccessKeyID != c.AccessKeyID || id.Region != "us-east-1" || id.Service != tt.service || id.SessionToken != c.SessionToken {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	body := []byte(`{"a":1}`)
	sign := func(at time.Time) *http.Request {
		return sdkSign(t, testCreds, "POST", "http://h/v1/items?x=1&y=2", http.Header{"X-Custom": {"v"}}, body, "execute-api", at, "")
	}
	tests := []struct {
		name    string
		mutate  func(r *http.Request) []byte
		service string
		want    error
	}{
		{name: "tampered header", mutate: func(r *http.Request) []byte { r.Header.Set("X-Custom", "w"); return body }, want: ErrSignatureMismatch},
		{name: "tampered path", mutate: func(r *http.Request) []byte { r.RequestURI = "/v1/itemz?x=1&y=2"; return body }, want: ErrSignatureMismatch},
		{name: "tampered query", mutate: func(r *http.Request) []byte { r.URL.RawQuery = "x=1&y=3"; return body }, want: ErrSignatureMismatch},
		{name: "added query", mutate: func(r *http.Request) []byte { r.URL.RawQuery += "&z=1"; return body }, want: ErrSignatureMismatch},
		{name: "tampered body", mutate: func(r *http.Request) []byte { return []byte(`{"a":2}`) }, want: ErrSignatureMismatch},
		{name: "tampered method", mutate: func(r *http.Request) []byte { r.Method = "PUT"; return body }, want: ErrSignatureMismatch},
		{name: "tampered host", mutate: func(r *http.Request) []byte { r.Host = "evil"; return body }, want: ErrSignatureMismatch},
		{name: "signed header removed", mutate: func(r *http.Request) []byte { r.Header.Del("X-Custom"); return body }, want: ErrSignatureMismatch},
		{name: "wrong service", service: "lambda", mutate: func(r *http.Request) []byte { return body }, want: ErrMalformed},
		{name: "no auth", mutate: func(r *http.Request) []byte { r.Header.Del("Authorization"); return body }, want: ErrMissingAuth},
		{name: "unknown key", mutate: func(r *http.Request) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDEXAMPLE", "AKIDDELETED", 1))
			return body
		}, want: ErrUnknownKey},
		{name: "garbage header", mutate: func(r *http.Request) []byte { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense"); return body }, want: ErrMalformed},
		{name: "other algorithm", mutate: func(r *http.Request) []byte { r.Header.Set("Authorization", "Bearer abc"); return body }, want: ErrMalformed},
		{name: "both forms", mutate: func(r *http.Request) []byte { r.URL.RawQuery += "&X-Amz-Algorithm=AWS4-HMAC-SHA256"; return body }, want: ErrMalformed},
		{name: "unexpected token", mutate: func(r *http.Request) []byte { r.Header.Set("X-Amz-Security-Token", "x"); return body }, want: ErrSessionToken},
		{name: "bad payload hash", mutate: func(r *http.Request) []byte { r.Header.Set("X-Amz-Content-Sha256", emptyHash); return body }, want: ErrPayloadMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sign(testNow)
			b := tt.mutate(r)
			svc := tt.service
			if svc == "" {
				svc = "execute-api"
			}
			_, err := testVerifier().Verify(r, b, svc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyWindow(t *testing.T) {
	tests := []struct {
		name string
		age  time.Duration
		want error
	}{
		{name: "just inside past", age: 15 * time.Minute},
		{name: "just inside future", age: -15 * time.Minute},
		{name: "too old", age: 15*time.Minute + time.Second, want: ErrTimeSkewed},
		{name: "too far in future", age: -15*time.Minute - time.Second, want: ErrTimeSkewed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sdkSign(t, testCreds, "GET", "http://h/x", nil, nil, "execute-api", testNow.Add(-tt.age), "")
			_, err := testVerifier().Verify(r, nil, "execute-api")
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifySessionToken(t *testing.T) {
	r := sdkSign(t, tempCreds, "GET", "http://h/x", nil, nil, "execute-api", testNow, "")
	r.Header.Set("X-Amz-Security-Token", "other")
	if _, err := testVerifier().Verify(r, nil, "execute-api"); !errors.Is(err, ErrSessionToken) {
		t.Fatalf("wrong token: err = %v", err)
	}
	r.Header.Del("X-Amz-Security-Token")
	if _, err := testVerifier().Verify(r, nil, "execute-api"); !errors.Is(err, ErrSessionToken) {
		t.Fatalf("missing token: err = %v", err)
	}
}

func presign(t testing.TB, c Credentials, method, url string, service string, at time.Time, expires time.Duration) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if expires > 0 {
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
		req.URL.RawQuery = q.Encode()
	}
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	u, hdr, err := s.PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		req, UnsignedPayload, service, "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := http.NewRequest(method, u, nil)
	for k, vs := range hdr {
		if k != "Host" {
			out.Header[k] = vs
		}
	}
	return asServer(out)
}

func TestVerifyPresigned(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		creds  Credentials
		at     time.Duration // signed this long before now
		exp    time.Duration
		mutate func(r *http.Request)
		want   error
	}{
		{name: "valid", url: "http://127.0.0.1:9000/bucket/my%20key.txt", exp: time.Hour, at: 30 * time.Minute},
		{name: "valid with token", url: "http://127.0.0.1:9000/bucket/k?versionId=1", creds: tempCreds, exp: time.Hour},
		{name: "expired", url: "http://127.0.0.1:9000/bucket/k", exp: 10 * time.Minute, at: 11 * time.Minute, want: ErrExpired},
		{name: "other key", url: "http://127.0.0.1:9000/bucket/k", exp: time.Hour,
			mutate: func(r *http.Request) { r.RequestURI = strings.Replace(r.RequestURI, "/bucket/k", "/bucket/j", 1) }, want: ErrSignatureMismatch},
		{name: "expiry extended", url: "http://127.0.0.1:9000/bucket/k", exp: time.Hour,
			mutate: func(r *http.Request) {
				r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Expires=3600", "X-Amz-Expires=7200", 1)
			}, want: ErrSignatureMismatch},
		{name: "expires too long", url: "http://127.0.0.1:9000/bucket/k", exp: 8 * 24 * time.Hour, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.creds
			if c.AccessKeyID == "" {
				c = testCreds
			}
			r := presign(t, c, "GET", tt.url, "s3", testNow.Add(-tt.at), tt.exp)
			if tt.mutate != nil {
				tt.mutate(r)
			}
			id, err := testVerifier().Verify(r, nil, "s3")
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("err = %v, want %v (url %s)", err, tt.want, r.URL)
			}
			if err == nil && (!id.Presigned || id.PayloadHash != UnsignedPayload) {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

// TestServerRoundTrip sends a signed request through a real loopback
// server, so RequestURI, Host and headers are what net/http delivers.
func TestServerRoundTrip(t *testing.T) {
	var got error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := new(bytes.Buffer)
		b.ReadFrom(r.Body)
		_, got = testVerifier().Verify(r, b.Bytes(), "execute-api")
	}))
	defer srv.Close()
	body := []byte("hello")
	req, _ := http.NewRequest("POST", srv.URL+"/p%20q/r?b=2&a=1&a=0", bytes.NewReader(body))
	req.Header.Add("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	s := v4.NewSigner()
	if err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: testCreds.SecretAccessKey},
		req, hashHex(body), "execute-api", "us-east-1", testNow); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != nil {
		t.Fatalf("Verify: %v", got)
	}
}

// TestChunkSignature checks the aws-chunked chain against the worked
// example in the Amazon S3 API reference ("Signature calculations for the
// Authorization header: transferring payload in multiple chunks").
func TestChunkSignature(t *testing.T) {
	at := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	id := &Identity{SignedAt: at, Scope: "20130524/us-east-1/s3/aws4_request",
		SigningKey: SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"),
		Signature:  "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"}
	sig1 := id.ChunkSignature(id.Signature, bytes.Repeat([]byte("a"), 65536))
	sig2 := id.ChunkSignature(sig1, bytes.Repeat([]byte("a"), 1024))
	sig3 := id.ChunkSignature(sig2, nil)
	want := []string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	for i, got := range []string{sig1, sig2, sig3} {
		if got != want[i] {
			t.Errorf("chunk %d signature = %s, want %s", i+1, got, want[i])
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	r := sdkSign(b, testCreds, "POST", "http://127.0.0.1:8080/v1/orders/42?tag=a&tag=b", http.Header{"Content-Type": {"application/json"}}, body, "execute-api", testNow, "")
	v := testVerifier()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body, "execute-api"); err != nil {
			b.Fatal(err)
		}
	}
}
