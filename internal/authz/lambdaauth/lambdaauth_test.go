package lambdaauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/invocation"
)

func TestNewValidation(t *testing.T) {
	inv := &fakeInvoker{respond: answer(`{"isAuthorized":true}`)}
	tests := []struct {
		name string
		edit func(*Config)
		inv  Invoker
		want string // substring of the error, "" for success
	}{
		{name: "valid 2.0 simple", edit: func(*Config) {}},
		{name: "valid 1.0", edit: func(c *Config) { c.PayloadFormatVersion, c.EnableSimpleResponses = "1.0", false }},
		{name: "valid without identity sources", edit: func(c *Config) { c.IdentitySource = nil; c.ResultTTL = time.Minute }},
		{name: "valid max ttl", edit: func(c *Config) { c.ResultTTL = time.Hour }},
		{name: "missing function", edit: func(c *Config) { c.Function = "" }, want: "function is required"},
		{name: "missing payload version", edit: func(c *Config) { c.PayloadFormatVersion = "" }, want: `authorizerPayloadFormatVersion ""`},
		{name: "bad payload version", edit: func(c *Config) { c.PayloadFormatVersion = "3.0" }, want: `"3.0": must be`},
		{name: "simple responses with 1.0", edit: func(c *Config) { c.PayloadFormatVersion = "1.0" }, want: "enableSimpleResponses needs"},
		{name: "bad identity source", edit: func(c *Config) { c.IdentitySource = []string{"$request.body.x"} }, want: "identity source"},
		{name: "unknown context variable", edit: func(c *Config) { c.IdentitySource = []string{"$context.nope"} }, want: "nope"},
		{name: "ttl too long", edit: func(c *Config) { c.ResultTTL = time.Hour + time.Second }, want: "between 0 and 3600"},
		{name: "negative ttl", edit: func(c *Config) { c.ResultTTL = -time.Second }, want: "between 0 and 3600"},
		{name: "negative timeout", edit: func(c *Config) { c.Timeout = -1 }, want: "timeout"},
		{name: "negative cache size", edit: func(c *Config) { c.MaxCacheEntries = -1 }, want: "max cache entries"},
		{name: "nil invoker", edit: func(*Config) {}, inv: Invoker(nil), want: "no invoker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			tt.edit(&cfg)
			var i Invoker = inv
			if tt.want == "no invoker" {
				i = nil
			}
			_, err := New(cfg, i)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{PayloadFormatVersion: "9", ResultTTL: -1, IdentitySource: []string{"bad"}}, nil)
	if err == nil {
		t.Fatal("New succeeded")
	}
	for _, want := range []string{"function is required", `"9"`, "identity source", "between 0 and 3600", "no invoker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestAuthorizeSimple(t *testing.T) {
	tests := []struct {
		name      string
		sources   []string
		respond   respondFunc
		req       *integration.Request
		want      *integration.Authorizer
		wantKind  edge.Kind // when want is nil
		wantCalls int
	}{
		{
			name: "allowed with context", req: tokenRequest("good"), respond: answer(`{"isAuthorized":true,"context":{"user":"alice","n":7,"admin":true,"tags":["a"],"o":{"k":"v"}}}`),
			want:      &integration.Authorizer{Lambda: map[string]any{"user": "alice", "n": json.Number("7"), "admin": true, "tags": []any{"a"}, "o": map[string]any{"k": "v"}}},
			wantCalls: 1,
		},
		{
			name: "allowed without context", req: tokenRequest("good"), respond: answer(`{"isAuthorized":true}`),
			want: &integration.Authorizer{Lambda: map[string]any{}}, wantCalls: 1,
		},
		{
			name: "allowed with null context and extra members", req: tokenRequest("good"), respond: answer(`{"isAuthorized":true,"context":null,"extra":1}`),
			want: &integration.Authorizer{Lambda: map[string]any{}}, wantCalls: 1,
		},
		{name: "denied", req: tokenRequest("bad"), respond: answer(`{"isAuthorized":false,"context":{"why":"no"}}`), wantKind: edge.Forbidden, wantCalls: 1},
		{name: "header missing", req: newRequest("GET", "/v1/orders/42", "v1", "GET /orders/{id}"), respond: answer(`{"isAuthorized":true}`), wantKind: edge.Unauthorized},
		{name: "header empty", req: tokenRequest(""), respond: answer(`{"isAuthorized":true}`), wantKind: edge.Unauthorized},
		{
			name: "header name case-insensitive", req: newRequest("GET", "/v1/a", "v1", "GET /a", "x-TOKEN", "good"), respond: answer(`{"isAuthorized":true}`),
			want: &integration.Authorizer{Lambda: map[string]any{}}, wantCalls: 1,
		},
		{
			name: "second source missing", sources: []string{"$request.header.X-Token", "$request.querystring.tenant"},
			req: tokenRequest("good"), respond: answer(`{"isAuthorized":true}`), wantKind: edge.Unauthorized,
		},
		{
			name: "query source present", sources: []string{"$request.querystring.tenant"},
			req: newRequest("GET", "/v1/a?tenant=t1", "v1", "GET /a"), respond: answer(`{"isAuthorized":true}`),
			want: &integration.Authorizer{Lambda: map[string]any{}}, wantCalls: 1,
		},
		{
			name: "query source is case-sensitive", sources: []string{"$request.querystring.tenant"},
			req: newRequest("GET", "/v1/a?Tenant=t1", "v1", "GET /a"), respond: answer(`{"isAuthorized":true}`), wantKind: edge.Unauthorized,
		},
		{
			name: "stage variable source missing", sources: []string{"$stageVariables.authKey"},
			req: tokenRequest("good"), respond: answer(`{"isAuthorized":true}`), wantKind: edge.Unauthorized,
		},
		{
			name: "no identity sources: always invoked", sources: []string{},
			req: newRequest("GET", "/v1/a", "v1", "GET /a"), respond: answer(`{"isAuthorized":true}`),
			want: &integration.Authorizer{Lambda: map[string]any{}}, wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.sources != nil {
				cfg.IdentitySource = tt.sources
			}
			inv := &fakeInvoker{respond: tt.respond}
			a := mustNew(t, cfg, inv)
			got, err := a.Authorize(context.Background(), tt.req, nil)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Authorize = %#v, want %#v", got, tt.want)
				}
			} else {
				if got != nil {
					t.Fatalf("Authorize returned identity %#v with error %v", got, err)
				}
				if k := kindOf(err); k != tt.wantKind {
					t.Fatalf("Authorize error = %v (kind %d), want kind %d", err, k, tt.wantKind)
				}
			}
			if n := inv.calls(); n != tt.wantCalls {
				t.Fatalf("invocations = %d, want %d", n, tt.wantCalls)
			}
			if n := inv.calls(); n > 0 && inv.names[0] != "authFn" {
				t.Fatalf("invoked %q, want authFn", inv.names[0])
			}
		})
	}
}

// TestAuthorizeFailures covers the bad inputs: an authorizer that crashes,
// times out, cannot be invoked or answers malformed or wrongly shaped JSON.
// Each is a 500 with no identity for the integration.
func TestAuthorizeFailures(t *testing.T) {
	crash := func(context.Context, []byte) (*invocation.Result, error) {
		return &invocation.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"Exception"}`)}, nil
	}
	hang := func(ctx context.Context, _ []byte) (*invocation.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	tests := []struct {
		name    string
		policy  bool // IAM policy responses instead of simple ones
		respond respondFunc
		want    string // substring of the logged cause
	}{
		{name: "function crashes", respond: crash, want: "function error Unhandled"},
		{name: "function times out", respond: hang, want: "deadline exceeded"},
		{name: "service error", respond: func(context.Context, []byte) (*invocation.Result, error) {
			return nil, &invocation.ServiceError{Status: 404, Type: "ResourceNotFoundException", Message: "Function not found"}
		}, want: "ResourceNotFoundException"},
		{name: "throttled", respond: func(context.Context, []byte) (*invocation.Result, error) {
			return nil, &invocation.ServiceError{Status: 429, Type: "TooManyRequestsException", Message: "Rate exceeded"}
		}, want: "TooManyRequestsException"},
		{name: "no result", respond: func(context.Context, []byte) (*invocation.Result, error) { return nil, nil }, want: "no result"},
		{name: "malformed JSON", respond: answer(`{"isAuthorized":tru`), want: "not JSON"},
		{name: "empty payload", respond: answer(``), want: "not JSON"},
		{name: "trailing data", respond: answer(`{"isAuthorized":true} {}`), want: "after the top-level value"},
		{name: "not an object", respond: answer(`true`), want: "must be a JSON object, got a boolean"},
		{name: "null", respond: answer(`null`), want: "got null"},
		{name: "isAuthorized missing", respond: answer(`{"context":{}}`), want: "isAuthorized is missing"},
		{name: "isAuthorized a string", respond: answer(`{"isAuthorized":"true"}`), want: "must be a boolean, got a string"},
		{name: "context an array", respond: answer(`{"isAuthorized":true,"context":[1]}`), want: "context must be an object"},
		{name: "context a string", respond: answer(`{"isAuthorized":true,"context":"x"}`), want: "context must be an object"},
		{name: "policy: simple answer", policy: true, respond: answer(`{"isAuthorized":true}`), want: "principalId is missing"},
		{name: "policy: principalId a number", policy: true, respond: answer(`{"principalId":1,"policyDocument":{}}`), want: "principalId must be a string"},
		{name: "policy: document missing", policy: true, respond: answer(`{"principalId":"u"}`), want: "policyDocument is missing"},
		{name: "policy: document a string", policy: true, respond: answer(`{"principalId":"u","policyDocument":"{}"}`), want: "policyDocument must be an object"},
		{name: "policy: no statements", policy: true, respond: answer(`{"principalId":"u","policyDocument":{"Version":"2012-10-17"}}`), want: "Statement is missing"},
		{name: "policy: bad effect", policy: true, respond: answer(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"execute-api:Invoke","Resource":"*"}]}}`), want: "policyDocument"},
		{name: "policy: condition", policy: true, respond: answer(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.4"}}}]}}`), want: "policyDocument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Timeout = 50 * time.Millisecond
			if tt.policy {
				cfg.EnableSimpleResponses = false
			}
			inv := &fakeInvoker{respond: tt.respond}
			a := mustNew(t, cfg, inv)
			got, err := a.Authorize(context.Background(), tokenRequest("good"), nil)
			if got != nil {
				t.Fatalf("Authorize returned identity %#v with error %v", got, err)
			}
			if k := kindOf(err); k != edge.InternalError {
				t.Fatalf("Authorize error = %v (kind %d), want InternalError", err, k)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "authFn") {
				t.Fatalf("error %q: want it to name authFn and contain %q", err, tt.want)
			}
			if inv.calls() != 1 {
				t.Fatalf("invocations = %d, want 1", inv.calls())
			}
		})
	}
}

func TestAuthorizeClientGone(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Minute} {
		t.Run(ttl.String(), func(t *testing.T) {
			started := make(chan struct{})
			inv := &fakeInvoker{respond: func(ctx context.Context, _ []byte) (*invocation.Result, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			}}
			cfg := baseConfig()
			cfg.ResultTTL = ttl
			a := mustNew(t, cfg, inv)
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-started; cancel() }()
			got, err := a.Authorize(ctx, tokenRequest("good"), nil)
			if got != nil || err == nil {
				t.Fatalf("Authorize = %v, %v; want an error", got, err)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v: want context.Canceled", err)
			}
			var e *edge.Error
			if errors.As(err, &e) {
				t.Fatalf("error %v is an edge error: nothing should be rendered for a client that left", err)
			}
		})
	}
}

// TestPolicy covers IAM policy responses: an Allow must match the route
// ARN, any matching Deny wins, wildcards * and ?.
func TestPolicy(t *testing.T) {
	const arn = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v1/GET/orders/42"
	policy := func(stmts ...string) respondFunc {
		return answer(`{"principalId":"user-1","policyDocument":{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]},"context":{"tier":"gold"}}`)
	}
	stmt := func(effect, resource string) string {
		return `{"Action":"execute-api:Invoke","Effect":"` + effect + `","Resource":"` + resource + `"}`
	}
	tests := []struct {
		name    string
		respond respondFunc
		allowed bool
	}{
		{"exact allow", policy(stmt("Allow", arn)), true},
		{"wildcard allow", policy(stmt("Allow", "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/*")), true},
		{"method wildcard", policy(stmt("Allow", "arn:aws:execute-api:*:*:a1b2c3d4e5/v1/*/orders/*")), true},
		{"question mark", policy(stmt("Allow", "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v?/GET/orders/4?")), true},
		{"resource array", answer(`{"principalId":"user-1","policyDocument":{"Version":"2012-10-17","Statement":{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["arn:x","` + arn + `"]}}}`), true},
		{"action wildcard", answer(`{"principalId":"user-1","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:*","Effect":"Allow","Resource":"*"}]}}`), true},
		{"other route only", policy(stmt("Allow", "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v1/POST/orders/42")), false},
		{"other stage only", policy(stmt("Allow", "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v2/*")), false},
		{"question mark needs one char", policy(stmt("Allow", "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/v1/GET/orders/42?")), false},
		{"other action", answer(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:ManageConnections","Effect":"Allow","Resource":"*"}]}}`), false},
		{"explicit deny", policy(stmt("Deny", arn)), false},
		{"deny beats allow", policy(stmt("Allow", "*"), stmt("Deny", "arn:aws:execute-api:*:*:*/v1/GET/*")), false},
		{"deny elsewhere", policy(stmt("Allow", "*"), stmt("Deny", "arn:aws:execute-api:*:*:*/v1/DELETE/*")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.EnableSimpleResponses = false
			a := mustNew(t, cfg, &fakeInvoker{respond: tt.respond})
			got, err := a.Authorize(context.Background(), tokenRequest("good"), nil)
			if !tt.allowed {
				if got != nil || kindOf(err) != edge.Forbidden {
					t.Fatalf("Authorize = %v, %v; want 403", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if got.PrincipalID != "user-1" {
				t.Fatalf("PrincipalID = %q, want user-1", got.PrincipalID)
			}
			if tt.name != "resource array" && tt.name != "action wildcard" && got.Lambda["tier"] != "gold" {
				t.Fatalf("Lambda = %v, want tier gold", got.Lambda)
			}
		})
	}
}

// TestPayloadV1Context checks that a 1.0 authorizer's context values reach
// the integration as strings and that 1.0 always uses policy responses.
func TestPayloadV1Context(t *testing.T) {
	cfg := baseConfig()
	cfg.PayloadFormatVersion, cfg.EnableSimpleResponses = "1.0", false
	a := mustNew(t, cfg, &fakeInvoker{respond: answer(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]},` +
		`"context":{"s":"x","n":1.5,"big":12345678901234567890,"t":true,"f":false,"nil":null,"a":[1,"<b>"],"o":{"k":"v"},"claims":"reserved"}}`)})
	got, err := a.Authorize(context.Background(), tokenRequest("good"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &integration.Authorizer{PrincipalID: "p", Lambda: map[string]any{
		"s": "x", "n": "1.5", "big": "12345678901234567890", "t": "true", "f": "false", "a": `[1,"<b>"]`, "o": `{"k":"v"}`,
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Authorize = %#v\nwant %#v", got, want)
	}
}

// TestEventGolden checks the authorizer events sent to the function against
// testdata/events/*.json (rewrite them with -update).
func TestEventGolden(t *testing.T) {
	full := func() *integration.Request {
		r := newRequest("POST", "/v1/orders/42?tag=a&tag=b&x=%2F1", "v1", "POST /orders/{id}",
			"X-Token", "tok1", "Cookie", "sid=abc; theme=dark", "User-Agent", "curl/8.0", "X-Multi", "one", "X-Multi", "two")
		r.PathParameters = map[string]string{"id": "42"}
		r.StageVariables = map[string]string{"env": "prod"}
		r.Body = []byte(`{"never":"sent"}`)
		return r
	}
	tests := []struct {
		name    string
		version string
		sources []string
		req     *integration.Request
	}{
		{name: "v2-full", version: "2.0", sources: []string{"$request.header.X-Token", "$request.querystring.tag", "$context.routeKey"}, req: full()},
		{name: "v2-default-route-no-sources", version: "2.0", req: newRequest("GET", "/anything/here", "$default", "$default")},
		{name: "v1-full", version: "1.0", sources: []string{"$request.header.X-Token", "$request.querystring.tag", "$stageVariables.env"}, req: full()},
		{name: "v1-default-route-no-sources", version: "1.0", req: newRequest("GET", "/anything/here", "$default", "$default")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.PayloadFormatVersion, cfg.EnableSimpleResponses, cfg.IdentitySource = tt.version, false, tt.sources
			inv := &fakeInvoker{respond: answer(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`)}
			a := mustNew(t, cfg, inv)
			if _, err := a.Authorize(context.Background(), tt.req, nil); err != nil {
				t.Fatal(err)
			}
			if inv.calls() != 1 {
				t.Fatalf("invocations = %d", inv.calls())
			}
			ev := inv.events[0]
			var v map[string]any
			if err := json.Unmarshal(ev, &v); err != nil {
				t.Fatalf("event is not JSON: %v\n%s", err, ev)
			}
			for _, absent := range []string{"body", "isBase64Encoded", "multiValueHeaders"} {
				if _, ok := v[absent]; ok {
					t.Errorf("event has %s", absent)
				}
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, ev, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty := append(buf.Bytes(), '\n')
			golden := filepath.Join("testdata", "events", tt.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, pretty, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != string(pretty) {
				t.Fatalf("event differs from %s:\n got: %s\nwant: %s", golden, pretty, want)
			}
		})
	}
}

func TestAccountIDDefault(t *testing.T) {
	cfg := baseConfig()
	cfg.AccountID = "999988887777"
	cfg.EnableSimpleResponses = false
	inv := &fakeInvoker{respond: answer(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:eu-west-1:999988887777:a1b2c3d4e5/v1/GET/orders/42"}]}}`)}
	a := mustNew(t, cfg, inv)
	r := tokenRequest("good")
	r.AccountID = ""
	if _, err := a.Authorize(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	if r.AccountID != "" {
		t.Fatal("Authorize modified the request")
	}
	if !strings.Contains(string(inv.events[0]), `"accountId":"999988887777"`) {
		t.Fatalf("event lacks the configured account: %s", inv.events[0])
	}
}
