package awsauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
)

const (
	region  = "us-east-1"
	account = "000000000000"
)

var (
	adminKey  = sigv4.Credentials{AccessKeyID: "AKIAADMINADMINADMIN0", SecretAccessKey: "admin-secret"}
	fnKey     = sigv4.Credentials{AccessKeyID: "ASIAFUNCTIONFUNCTI0N", SecretAccessKey: "fn-secret", SessionToken: "fn-token"}
	strangerK = sigv4.Credentials{AccessKeyID: "ASIASTRANGERSTRANGE0", SecretAccessKey: "stranger-secret", SessionToken: "stranger-token"}
	denyKey   = sigv4.Credentials{AccessKeyID: "AKIADENYDENYDENYDENY", SecretAccessKey: "deny-secret"}
)

func policy(t *testing.T, doc string) *iam.Policy {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	p, err := iam.ParsePolicy(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newGate returns a gate in front of a recording handler, with an admin,
// a function allowed to invoke "target", one allowed nothing and one
// explicitly denied.
func newGate(t *testing.T, now time.Time) (*Gate, *[]string) {
	t.Helper()
	kr := &s3.Keyring{}
	allow := policy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:target"}]}`)
	deny := policy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"},{"Effect":"Deny","Action":"lambda:InvokeFunction","Resource":"*"}]}`)
	if err := kr.Set([]s3.Principal{
		{Name: "admin", Admin: true, Credentials: adminKey},
		{Name: "function/caller", ARN: "arn:aws:sts::000000000000:assumed-role/invoker/caller", Credentials: fnKey, Policies: []*iam.Policy{allow}},
		{Name: "function/stranger", ARN: "arn:aws:sts::000000000000:assumed-role/nobody/stranger", Credentials: strangerK},
		{Name: "accessKey/denied", ARN: "arn:aws:iam::000000000000:role/denied", Credentials: denyKey, Policies: []*iam.Policy{deny}},
	}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+string(b)+" by "+PrincipalFrom(r.Context()).Name)
		w.WriteHeader(299)
	})
	store := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, "s3 "+r.URL.Path)
		w.WriteHeader(298)
	})
	g, err := New(Config{Region: region, AccountID: account}, Deps{Principals: kr, S3: store, Next: next, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return g, &seen
}

// sign signs r as an SDK would, for service, at time at.
func sign(t *testing.T, r *http.Request, c sigv4.Credentials, service string, at time.Time, body string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		r, hex.EncodeToString(sum[:]), service, region, at)
	if err != nil {
		t.Fatal(err)
	}
}

func TestGate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const invoke = "/2015-03-31/functions/target/invocations"
	const stream = "/2021-11-15/functions/target/response-streaming-invocations"
	tests := []struct {
		name, method, path, body string
		creds                    *sigv4.Credentials // nil: unsigned
		service                  string             // default Service(path)
		at                       time.Time          // default now
		forge                    bool               // sign with a wrong secret
		header                   map[string]string
		wantStatus               int
		wantType                 string // x-amzn-ErrorType
		wantMessage              string // exact, when set
		wantInMessage            string
	}{
		{name: "invoke unsigned", method: "POST", path: invoke, body: `{}`, wantStatus: 403, wantType: "MissingAuthenticationTokenException", wantMessage: "Missing Authentication Token"},
		{name: "cross-site text/plain POST", method: "POST", path: invoke, body: `{"x":1}`, header: map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"},
			wantStatus: 403, wantType: "MissingAuthenticationTokenException"},
		{name: "stream unsigned", method: "POST", path: stream, body: `{}`, wantStatus: 403, wantType: "MissingAuthenticationTokenException"},
		{name: "management unsigned", method: "GET", path: "/v2/apis", wantStatus: 403, wantType: "MissingAuthenticationTokenException"},
		{name: "api keys unsigned", method: "GET", path: "/_portico/apikeys", wantStatus: 403, wantType: "MissingAuthenticationTokenException"},
		{name: "future operation unsigned", method: "GET", path: "/2019-09-25/functions/target/event-invoke-config", wantStatus: 403, wantType: "MissingAuthenticationTokenException"},
		{name: "unknown key", method: "POST", path: invoke, body: `{}`, creds: &sigv4.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"},
			wantStatus: 403, wantType: "UnrecognizedClientException", wantMessage: "The security token included in the request is invalid."},
		{name: "old published key", method: "GET", path: "/_portico/apikeys", creds: &sigv4.Credentials{AccessKeyID: "AKIAPORTICOLOCAL0000", SecretAccessKey: "portico-local-secret-access-key"},
			wantStatus: 403, wantType: "UnrecognizedClientException"},
		{name: "forged signature", method: "POST", path: invoke, body: `{}`, creds: &adminKey, forge: true,
			wantStatus: 403, wantType: "InvalidSignatureException", wantInMessage: "The request signature we calculated does not match the signature you provided."},
		{name: "forged signature, management", method: "POST", path: "/v2/apis/a1/deployments", body: `{"stageName":"prod"}`, creds: &adminKey, forge: true,
			wantStatus: 403, wantType: "InvalidSignatureException"},
		{name: "expired", method: "POST", path: invoke, body: `{}`, creds: &adminKey, at: now.Add(-6 * time.Minute),
			wantStatus: 403, wantType: "InvalidSignatureException", wantMessage: "Signature expired: 20260102T025805Z is now earlier than 20260102T025905Z (20260102T030405Z - 5 min.)"},
		{name: "not yet current", method: "GET", path: "/v2/apis", creds: &adminKey, at: now.Add(6 * time.Minute),
			wantStatus: 403, wantType: "InvalidSignatureException", wantInMessage: "Signature not yet current"},
		{name: "wrong service", method: "GET", path: "/v2/apis", creds: &adminKey, service: "lambda",
			wantStatus: 403, wantType: "InvalidSignatureException", wantInMessage: "Credential should be scoped to correct service: 'apigateway'"},
		{name: "token missing", method: "POST", path: invoke, body: `{}`, creds: &sigv4.Credentials{AccessKeyID: fnKey.AccessKeyID, SecretAccessKey: fnKey.SecretAccessKey},
			wantStatus: 403, wantType: "UnrecognizedClientException"},
		{name: "denied invoke", method: "POST", path: invoke, body: `{}`, creds: &strangerK, wantStatus: 403, wantType: "AccessDeniedException",
			wantMessage: "User: arn:aws:sts::000000000000:assumed-role/nobody/stranger is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:target because no identity-based policy allows the lambda:InvokeFunction action"},
		{name: "denied stream", method: "POST", path: stream, body: `{}`, creds: &strangerK, wantStatus: 403, wantType: "AccessDeniedException"},
		{name: "explicit deny", method: "POST", path: invoke, body: `{}`, creds: &denyKey, wantStatus: 403, wantType: "AccessDeniedException",
			wantInMessage: "with an explicit deny in an identity-based policy"},
		{name: "function on another function", method: "POST", path: "/2015-03-31/functions/other/invocations", body: `{}`, creds: &fnKey, wantStatus: 403, wantType: "AccessDeniedException",
			wantInMessage: "on resource: arn:aws:lambda:us-east-1:000000000000:function:other because"},
		{name: "qualified needs the qualified ARN", method: "POST", path: "/2015-03-31/functions/target:prod/invocations", body: `{}`, creds: &fnKey, wantStatus: 403, wantType: "AccessDeniedException",
			wantInMessage: "function:target:prod"},
		{name: "function on management", method: "GET", path: "/v2/apis", creds: &fnKey, wantStatus: 403, wantType: "AccessDeniedException", wantInMessage: "only the admin principal"},
		{name: "function on api keys", method: "POST", path: "/_portico/apikeys", body: `{"name":"x","plan":"p"}`, creds: &fnKey, wantStatus: 403, wantType: "AccessDeniedException"},
		{name: "function on logs", method: "GET", path: "/_portico/functions/target/logs", creds: &fnKey, wantStatus: 403, wantType: "AccessDeniedException"},
		{name: "function on a future operation", method: "PUT", path: "/2019-09-25/functions/target/event-invoke-config", body: `{}`, creds: &fnKey, wantStatus: 403, wantType: "AccessDeniedException"},
		{name: "allowed function invoke", method: "POST", path: invoke, body: `{"a":1}`, creds: &fnKey, wantStatus: 299},
		{name: "allowed function invoke by ARN", method: "POST", path: "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:target/invocations", body: `{}`, creds: &fnKey, wantStatus: 299},
		{name: "allowed function stream", method: "POST", path: stream, body: `{}`, creds: &fnKey, wantStatus: 299},
		{name: "admin invoke", method: "POST", path: "/2015-03-31/functions/other:v1/invocations", body: `{}`, creds: &adminKey, wantStatus: 299},
		{name: "admin management", method: "POST", path: "/v2/apis/a1/deployments", body: `{"stageName":"prod"}`, creds: &adminKey, wantStatus: 299},
		{name: "admin api keys", method: "DELETE", path: "/_portico/apikeys/bob", creds: &adminKey, wantStatus: 299},
		{name: "s3 anonymous", method: "GET", path: "/bucket/key", wantStatus: 298},
		{name: "s3 signed", method: "GET", path: "/bucket/key", creds: &strangerK, service: "s3", wantStatus: 298},
		{name: "s3 path signed for lambda", method: "GET", path: "/bucket/key", creds: &adminKey, service: "lambda", wantStatus: 298},
		{name: "s3 path, other auth", method: "GET", path: "/bucket/key", header: map[string]string{"Authorization": "Bearer x"}, wantStatus: 298},
		{name: "lambda path, other auth", method: "POST", path: invoke, header: map[string]string{"Authorization": "Bearer x"},
			wantStatus: 400, wantType: "IncompleteSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, seen := newGate(t, now)
			r := httptest.NewRequest(tc.method, "http://127.0.0.1:4566"+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if tc.creds != nil {
				c := *tc.creds
				if tc.forge {
					c.SecretAccessKey = "not-the-secret"
				}
				svc, at := tc.service, tc.at
				if svc == "" {
					svc = Service(r.URL.Path)
				}
				if at.IsZero() {
					at = now
				}
				sign(t, r, c, svc, at, tc.body)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			if tc.wantStatus == 298 || tc.wantStatus == 299 {
				if len(*seen) != 1 {
					t.Fatalf("handler calls %q", *seen)
				}
				if tc.body != "" && !strings.Contains((*seen)[0], tc.body) {
					t.Errorf("the handler got %q, not the body", (*seen)[0])
				}
				return
			}
			if len(*seen) != 0 {
				t.Fatalf("a refused request reached a handler: %q", *seen)
			}
			if got := w.Header().Get("x-amzn-ErrorType"); got != tc.wantType {
				t.Errorf("x-amzn-ErrorType %q, want %q", got, tc.wantType)
			}
			if w.Header().Get("Content-Type") != "application/json" || w.Header().Get("x-amzn-RequestId") == "" {
				t.Errorf("headers %v", w.Header())
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if tc.wantMessage != "" && body["message"] != tc.wantMessage {
				t.Errorf("message %q, want %q", body["message"], tc.wantMessage)
			}
			if !strings.Contains(body["message"], tc.wantInMessage) {
				t.Errorf("message %q lacks %q", body["message"], tc.wantInMessage)
			}
			if w.Header().Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("a refusal allows cross-origin reads: %v", w.Header())
			}
		})
	}
}

// TestGateBodyLimit: a body above MaxBody is refused before any handler.
func TestGateBodyLimit(t *testing.T) {
	g, seen := newGate(t, time.Now())
	g.cfg.MaxBody = 10
	body := strings.Repeat("x", 11)
	r := httptest.NewRequest("POST", "http://127.0.0.1:4566/2015-03-31/functions/target/invocations", strings.NewReader(body))
	sign(t, r, adminKey, "lambda", time.Now(), body)
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != 413 || w.Header().Get("x-amzn-ErrorType") != "RequestEntityTooLargeException" || len(*seen) != 0 {
		t.Errorf("%d %v %q", w.Code, w.Header(), *seen)
	}
}

// TestSigner: what the CLI signs, the gate accepts, for each service.
func TestSigner(t *testing.T) {
	g, seen := newGate(t, time.Now())
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := &http.Client{Transport: &Signer{AccessKeyID: adminKey.AccessKeyID, SecretAccessKey: adminKey.SecretAccessKey, Region: region}}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/2015-03-31/functions/target/invocations", `{"k":"v"}`},
		{"GET", "/v2/apis", ""},
		{"GET", "/_portico/functions/target/logs?follow=true&since=10m", ""},
		{"POST", "/_portico/apikeys", `{"name":"a b","plan":"p"}`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 299 {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, b)
		}
	}
	if len(*seen) != 4 {
		t.Errorf("handled %q", *seen)
	}
}

func TestService(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/apis": "apigateway", "/v2": "apigateway", "/v2x": "lambda",
		"/2015-03-31/functions/f/invocations": "lambda", "/_portico/apikeys": "lambda",
	} {
		if got := Service(path); got != want {
			t.Errorf("Service(%q) = %q, want %q", path, got, want)
		}
	}
}

// BenchmarkGate measures what the gate adds to a signed Invoke (signature
// check, body read, policy evaluation) against the handler alone, in the
// same run: compare ns/op of the two sub-benchmarks.
func BenchmarkGate(b *testing.B) {
	t := &testing.T{}
	now := time.Now()
	g, _ := newGate(t, now)
	body := `{"hello":"bench","n":1}`
	req := func() *http.Request {
		return httptest.NewRequest("POST", "http://127.0.0.1:4566/2015-03-31/functions/target/invocations", strings.NewReader(body))
	}
	signedReq := req()
	sign(t, signedReq, fnKey, "lambda", now, body)
	hdr := signedReq.Header.Clone()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); w.WriteHeader(200) })
	g.deps.Next = handler
	b.Run("handler alone", func(b *testing.B) {
		for b.Loop() {
			handler.ServeHTTP(httptest.NewRecorder(), req())
		}
	})
	b.Run("through the gate (function, IAM allow)", func(b *testing.B) {
		for b.Loop() {
			r := req()
			r.Header = hdr.Clone()
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}

// unreadBody fails the test if anything reads it.
type unreadBody struct{ t *testing.T }

func (u unreadBody) Read([]byte) (int, error) {
	u.t.Error("the body of an unknown caller was read")
	return 0, io.EOF
}

// TestGateUnknownKeyBodyUnread: an unknown key is refused on its headers.
func TestGateUnknownKeyBodyUnread(t *testing.T) {
	now := time.Now()
	g, seen := newGate(t, now)
	r := httptest.NewRequest("POST", "http://127.0.0.1:4566/2015-03-31/functions/target/invocations", strings.NewReader("{}"))
	sign(t, r, sigv4.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "x"}, "lambda", now, "{}")
	r.Body = io.NopCloser(unreadBody{t})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != 403 || w.Header().Get("x-amzn-ErrorType") != "UnrecognizedClientException" || len(*seen) != 0 {
		t.Errorf("%d %v %q", w.Code, w.Header(), *seen)
	}
}
