package iamauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/integration"
)

// Authorizer satisfies gateway.Authorizer (declared there; restated here so
// this test does not depend on the gateway package building).
var _ interface {
	Authorize(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error)
} = (*Authorizer)(nil)

var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func mustPolicy(t testing.TB, doc string) *iam.Policy {
	t.Helper()
	p, err := iam.ParsePolicy(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func principals(t testing.TB) []Principal {
	invoke, _ := iam.ManagedPolicy("arn:aws:iam::aws:policy/AmazonAPIGatewayInvokeFullAccess")
	return []Principal{
		{AccessKeyID: "AKIAALICE", SecretAccessKey: "alice-secret", RoleName: "callerRole", Policies: []*iam.Policy{invoke,
			mustPolicy(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:111122223333:api1/v1/DELETE/*"}}`)}},
		{AccessKeyID: "AKIABOB", SecretAccessKey: "bob-secret", RoleName: "readerRole", Policies: []*iam.Policy{
			mustPolicy(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`)}},
	}
}

func newAuthorizer(t testing.TB, ps []Principal) *Authorizer {
	a, err := New(Config{Principals: ps, Region: "us-east-1", AccountID: "111122223333", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// signed builds the integration.Request the gateway would hand over for a
// request signed by aws-sdk-go-v2.
func signed(t testing.TB, key, secret, method, path string, body []byte, at time.Time) *integration.Request {
	t.Helper()
	req, _ := http.NewRequest(method, "https://api1.execute-api.us-east-1.amazonaws.com"+path, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "execute-api", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	req.RequestURI = req.URL.RequestURI()
	req.Host = req.URL.Host
	return &integration.Request{HTTP: req, Body: body, RawPath: path, Path: strings.TrimPrefix(path, "/v1"),
		RouteKey: method + " " + strings.TrimPrefix(path, "/v1"), Stage: "v1", APIID: "api1", AccountID: "111122223333"}
}

func TestAuthorize(t *testing.T) {
	a := newAuthorizer(t, principals(t))
	r := signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", []byte(`{"n":1}`), now.Add(-time.Minute))
	got, err := a.Authorize(context.Background(), r, nil)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	want := map[string]any{"accessKey": "AKIAALICE", "accountId": "111122223333",
		"userArn": "arn:aws:iam::111122223333:role/callerRole", "cognitoIdentity": nil, "principalOrgId": nil}
	for k, v := range want {
		if got.IAM[k] != v {
			t.Errorf("iam[%s] = %v, want %v", k, got.IAM[k], v)
		}
	}
	if id, _ := got.IAM["userId"].(string); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":AKIAALICE") || got.IAM["callerId"] != id {
		t.Errorf("userId/callerId = %v / %v", got.IAM["userId"], got.IAM["callerId"])
	}
}

func TestAuthorizeRefuses(t *testing.T) {
	body := []byte(`{"n":1}`)
	tests := []struct {
		name  string
		build func(t *testing.T) (*Authorizer, *integration.Request)
	}{
		{"no signature", func(t *testing.T) (*Authorizer, *integration.Request) {
			r := signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now)
			r.HTTP.Header.Del("Authorization")
			return newAuthorizer(t, principals(t)), r
		}},
		{"outside window (old)", func(t *testing.T) (*Authorizer, *integration.Request) {
			return newAuthorizer(t, principals(t)), signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now.Add(-16*time.Minute))
		}},
		{"outside window (future)", func(t *testing.T) (*Authorizer, *integration.Request) {
			return newAuthorizer(t, principals(t)), signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now.Add(16*time.Minute))
		}},
		{"tampered header", func(t *testing.T) (*Authorizer, *integration.Request) {
			r := signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now)
			r.HTTP.Header.Set("X-Amz-Date", now.Add(time.Second).Format("20060102T150405Z"))
			return newAuthorizer(t, principals(t)), r
		}},
		{"tampered path", func(t *testing.T) (*Authorizer, *integration.Request) {
			r := signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now)
			r.HTTP.RequestURI, r.Path = "/v1/admin", "/admin"
			return newAuthorizer(t, principals(t)), r
		}},
		{"tampered body", func(t *testing.T) (*Authorizer, *integration.Request) {
			r := signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now)
			r.Body = []byte(`{"n":2}`)
			return newAuthorizer(t, principals(t)), r
		}},
		{"wrong secret", func(t *testing.T) (*Authorizer, *integration.Request) {
			return newAuthorizer(t, principals(t)), signed(t, "AKIAALICE", "guess", "POST", "/v1/orders", body, now)
		}},
		{"key deleted by redeploy", func(t *testing.T) (*Authorizer, *integration.Request) {
			return newAuthorizer(t, principals(t)[1:]), signed(t, "AKIAALICE", "alice-secret", "POST", "/v1/orders", body, now)
		}},
		{"role without permission", func(t *testing.T) (*Authorizer, *integration.Request) {
			return newAuthorizer(t, principals(t)), signed(t, "AKIABOB", "bob-secret", "GET", "/v1/orders", nil, now)
		}},
		{"explicit deny on route", func(t *testing.T) (*Authorizer, *integration.Request) {
			return newAuthorizer(t, principals(t)), signed(t, "AKIAALICE", "alice-secret", "DELETE", "/v1/orders/1", nil, now)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r := tt.build(t)
			_, err := a.Authorize(context.Background(), r, nil)
			var ee *edge.Error
			if !errors.As(err, &ee) || ee.Kind != edge.Forbidden {
				t.Fatalf("err = %v, want edge.Forbidden", err)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no region", Config{AccountID: "1"}, "region is empty"},
		{"no account", Config{Region: "r"}, "account ID is empty"},
		{"no key id", Config{Region: "r", AccountID: "1", Principals: []Principal{{SecretAccessKey: "s", RoleName: "x"}}}, "access key ID is empty"},
		{"no secret", Config{Region: "r", AccountID: "1", Principals: []Principal{{AccessKeyID: "A", RoleName: "x"}}}, "secret access key is empty"},
		{"no role", Config{Region: "r", AccountID: "1", Principals: []Principal{{AccessKeyID: "A", SecretAccessKey: "s"}}}, "role name is empty"},
		{"duplicate", Config{Region: "r", AccountID: "1", Principals: []Principal{{AccessKeyID: "A", SecretAccessKey: "s", RoleName: "x"}, {AccessKeyID: "A", SecretAccessKey: "s", RoleName: "x"}}}, "declared twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func BenchmarkAuthorize(b *testing.B) {
	a := newAuthorizer(b, principals(b))
	r := signed(b, "AKIAALICE", "alice-secret", "POST", "/v1/orders", []byte(`{"n":1}`), now)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authorize(context.Background(), r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
