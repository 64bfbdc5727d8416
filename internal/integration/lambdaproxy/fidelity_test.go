package lambdaproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/internal/integration"
)

// The fidelity tests decode every encoded event into aws-lambda-go's event
// types (what Go functions receive), re-encode them with encoding/json and
// check nothing was lost, then compare key fields by value.

// lostV1 are the members of our 1.0 events that aws-lambda-go's
// APIGatewayProxyRequest has no field for (documented omissions of that
// library, not of the event).
var lostV1 = map[string]bool{
	"version":                                true,
	"requestContext.identity.principalOrgId": true,
	"isBase64Encoded":                        true, // omitempty: false is dropped
}

func TestFidelityV2(t *testing.T) {
	for _, tc := range eventCases() {
		t.Run(tc.name, func(t *testing.T) {
			raw := AppendEventV2(nil, tc.req)
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields() // every member we send has a field
			var ev events.APIGatewayV2HTTPRequest
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("decode into APIGatewayV2HTTPRequest: %v\n%s", err, raw)
			}
			again, err := json.Marshal(&ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lost(t, raw, again, nil) {
				t.Errorf("lost in aws-lambda-go round trip: %s", l)
			}
			checkV2Values(t, tc.req, &ev)
		})
	}
}

func TestFidelityV1(t *testing.T) {
	for _, tc := range eventCases() {
		t.Run(tc.name, func(t *testing.T) {
			raw := AppendEventV1(nil, tc.req)
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("decode into APIGatewayProxyRequest: %v\n%s", err, raw)
			}
			again, err := json.Marshal(&ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lost(t, raw, again, lostV1) {
				t.Errorf("lost in aws-lambda-go round trip: %s", l)
			}
			checkV1Values(t, tc.req, &ev)
		})
	}
}

func checkV2Values(t *testing.T, r *integration.Request, ev *events.APIGatewayV2HTTPRequest) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("version", ev.Version, "2.0")
	eq("routeKey", ev.RouteKey, r.RouteKey)
	eq("rawPath", ev.RawPath, r.RawPath)
	eq("rawQueryString", ev.RawQueryString, r.HTTP.URL.RawQuery)
	eq("requestContext.routeKey", ev.RequestContext.RouteKey, r.RouteKey)
	eq("requestContext.stage", ev.RequestContext.Stage, r.Stage)
	eq("requestContext.requestId", ev.RequestContext.RequestID, r.RequestID)
	eq("requestContext.accountId", ev.RequestContext.AccountID, r.AccountID)
	eq("requestContext.apiId", ev.RequestContext.APIID, r.APIID)
	eq("requestContext.domainName", ev.RequestContext.DomainName, r.DomainName)
	eq("requestContext.domainPrefix", ev.RequestContext.DomainPrefix, "a1b2c3d4e5")
	eq("requestContext.http.method", ev.RequestContext.HTTP.Method, r.HTTP.Method)
	eq("requestContext.http.path", ev.RequestContext.HTTP.Path, r.RawPath)
	eq("requestContext.http.protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1")
	eq("requestContext.http.sourceIp", ev.RequestContext.HTTP.SourceIP, r.SourceIP)
	eq("requestContext.http.userAgent", ev.RequestContext.HTTP.UserAgent, r.HTTP.UserAgent())
	eq("requestContext.time", ev.RequestContext.Time, "21/Apr/2020:15:08:21 +0000")
	eq("requestContext.timeEpoch", ev.RequestContext.TimeEpoch, r.Time.UnixMilli())
	eq("pathParameters", ev.PathParameters, r.PathParameters)
	eq("stageVariables", ev.StageVariables, r.StageVariables)
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q not lower-cased", k)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("cookie header kept")
	}
	for _, h := range []string{"host", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"} {
		if ev.Headers[h] == "" {
			t.Errorf("header %s missing", h)
		}
	}
	eq("x-forwarded-port", ev.Headers["x-forwarded-port"], "8080")
	eq("x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http")
	if !strings.HasSuffix(ev.Headers["x-forwarded-for"], r.SourceIP) {
		t.Errorf("x-forwarded-for %q does not end with the source IP", ev.Headers["x-forwarded-for"])
	}
	checkBody(t, r, ev.Body, ev.IsBase64Encoded)
	if r.Authorizer != nil && r.Authorizer.JWT != nil {
		eq("jwt claims", ev.RequestContext.Authorizer.JWT.Claims, r.Authorizer.JWT.Claims)
		eq("jwt scopes", ev.RequestContext.Authorizer.JWT.Scopes, r.Authorizer.JWT.Scopes)
	}
	if r.Authorizer != nil && r.Authorizer.Lambda != nil {
		eq("lambda context", ev.RequestContext.Authorizer.Lambda, r.Authorizer.Lambda)
	}
}

func checkV1Values(t *testing.T, r *integration.Request, ev *events.APIGatewayProxyRequest) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	eq("path", ev.Path, r.RawPath)
	eq("httpMethod", ev.HTTPMethod, r.HTTP.Method)
	eq("requestContext.path", ev.RequestContext.Path, r.RawPath)
	eq("requestContext.stage", ev.RequestContext.Stage, r.Stage)
	eq("requestContext.requestId", ev.RequestContext.RequestID, r.RequestID)
	eq("requestContext.extendedRequestId", ev.RequestContext.ExtendedRequestID, r.RequestID)
	eq("requestContext.identity.sourceIp", ev.RequestContext.Identity.SourceIP, r.SourceIP)
	eq("requestContext.identity.userAgent", ev.RequestContext.Identity.UserAgent, r.HTTP.UserAgent())
	eq("requestContext.requestTime", ev.RequestContext.RequestTime, "21/Apr/2020:15:08:21 +0000")
	eq("requestContext.requestTimeEpoch", ev.RequestContext.RequestTimeEpoch, r.Time.UnixMilli())
	eq("pathParameters", ev.PathParameters, r.PathParameters)
	eq("stageVariables", ev.StageVariables, r.StageVariables)
	if want := routePath(r); ev.Resource != want || ev.RequestContext.ResourcePath != want {
		t.Errorf("resource %q resourcePath %q, want %q", ev.Resource, ev.RequestContext.ResourcePath, want)
	}
	for k, vs := range ev.MultiValueHeaders {
		if got := ev.Headers[k]; got != vs[len(vs)-1] {
			t.Errorf("headers[%s] = %q, want the last of %q", k, got, vs)
		}
	}
	for k, vs := range ev.MultiValueQueryStringParameters {
		if got := ev.QueryStringParameters[k]; got != vs[len(vs)-1] {
			t.Errorf("queryStringParameters[%s] = %q, want the last of %q", k, got, vs)
		}
	}
	if c := r.HTTP.Header.Get("Cookie"); c != "" && ev.Headers["cookie"] == "" {
		t.Error("cookie header dropped from 1.0 headers")
	}
	checkBody(t, r, ev.Body, ev.IsBase64Encoded)
}

// checkBody checks the event body carries the request body: exactly when
// base64, with invalid UTF-8 replaced when text.
func checkBody(t *testing.T, r *integration.Request, body string, b64 bool) {
	t.Helper()
	if b64 {
		got, err := base64.StdEncoding.DecodeString(body)
		if err != nil || !bytes.Equal(got, r.Body) {
			t.Errorf("base64 body decodes to %q (%v), want %q", got, err, r.Body)
		}
		return
	}
	want := []rune{}
	for _, c := range string(r.Body) { // invalid bytes -> U+FFFD each
		want = append(want, c)
	}
	if body != string(want) {
		t.Errorf("text body %q, want %q", body, string(want))
	}
}

// lost lists the members of a (our JSON) missing or different in b (the
// aws-lambda-go round trip). A null in a matches an absent or zero member
// in b; paths in allowed may be missing.
func lost(t *testing.T, a, b []byte, allowed map[string]bool) []string {
	t.Helper()
	var av, bv any
	if err := json.Unmarshal(a, &av); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &bv); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch a := a.(type) {
		case map[string]any:
			bm, _ := b.(map[string]any)
			for k, v := range a {
				p := strings.TrimPrefix(path+"."+k, ".")
				bvv, ok := bm[k]
				if !ok {
					if v != nil && !allowed[p] {
						out = append(out, p)
					}
					continue
				}
				walk(p, v, bvv)
			}
		case []any:
			bs, _ := b.([]any)
			if len(bs) != len(a) {
				out = append(out, path+" (length)")
				return
			}
			for i := range a {
				walk(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i])
			}
		case nil:
			// null matches absent, null or a zero value
		default:
			if fmt.Sprint(a) != fmt.Sprint(b) {
				out = append(out, fmt.Sprintf("%s (%v != %v)", path, a, b))
			}
		}
	}
	walk("", av, bv)
	slices.Sort(out)
	return out
}

// opaque members hold user data whose keys are not part of the format.
var opaque = map[string]bool{
	"headers": true, "multiValueHeaders": true, "queryStringParameters": true,
	"multiValueQueryStringParameters": true, "pathParameters": true, "stageVariables": true,
	"requestContext.authorizer.jwt.claims": true, "requestContext.authorizer.lambda": true,
	"requestContext.authorizer.iam": true, "requestContext.authorizer": false,
}

// keyPaths flattens the member names of a JSON document, stopping at opaque
// members.
func keyPaths(t *testing.T, doc []byte, opaqueV1Authorizer bool) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok || opaque[path] || (opaqueV1Authorizer && path == "requestContext.authorizer") {
			return
		}
		for k, e := range m {
			p := strings.TrimPrefix(path+"."+k, ".")
			out = append(out, p)
			walk(p, e)
		}
	}
	walk("", v)
	slices.Sort(out)
	return out
}

// lambdaGoTestdata returns the events/testdata directory of the
// aws-lambda-go module in the module cache, or skips the test.
func lambdaGoTestdata(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("aws-lambda-go module directory not available: %v", err)
	}
	return filepath.Join(dir, "events", "testdata")
}

// TestStructureMatchesLambdaGoTestdata compares the member names of our 2.0
// events with aws-lambda-go's captured API Gateway events: the same key
// sets, except requestContext.authentication (mutual TLS only, which the
// gateway does not offer).
func TestStructureMatchesLambdaGoTestdata(t *testing.T) {
	dir := lambdaGoTestdata(t)
	full := func(a *integration.Authorizer) *integration.Request {
		r := newRequest("POST", "/my/path?parameter1=value1&parameter1=value2&parameter2=value", "$default", "$default",
			[]byte(`{"a": 1}`), "Content-Type", "application/json", "Cookie", "cookie1; cookie2", "Header1", "value1")
		r.PathParameters = map[string]string{"proxy": "hello/world"}
		r.StageVariables = map[string]string{"stageVariable1": "value1"}
		r.Authorizer = a
		return r
	}
	tests := []struct {
		file string
		req  *integration.Request
	}{
		{"apigw-v2-request-no-authorizer.json", newRequest("GET", "/", "$default", "$default", nil, "User-Agent", "curl/7.58.0")},
		{"apigw-v2-request-jwt-authorizer.json", full(&integration.Authorizer{JWT: &integration.JWTAuthorizer{Claims: map[string]string{"claim1": "value1"}, Scopes: []string{"scope1"}}})},
		{"apigw-v2-request-lambda-authorizer.json", full(&integration.Authorizer{Lambda: map[string]any{"key": "value"}})},
		{"apigw-v2-request-iam.json", full(&integration.Authorizer{IAM: map[string]any{"accessKey": "A"}})},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			theirs, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Skipf("read aws-lambda-go testdata: %v", err)
			}
			want := slices.DeleteFunc(keyPaths(t, theirs, false), func(p string) bool {
				return strings.HasPrefix(p, "requestContext.authentication")
			})
			got := keyPaths(t, AppendEventV2(nil, tt.req), false)
			if !slices.Equal(got, want) {
				t.Errorf("member names differ\nours only:   %v\ntheirs only: %v", minus(got, want), minus(want, got))
			}
		})
	}
	t.Run("apigw-request.json (1.0)", func(t *testing.T) {
		theirs, err := os.ReadFile(filepath.Join(dir, "apigw-request.json"))
		if err != nil {
			t.Skipf("read aws-lambda-go testdata: %v", err)
		}
		// REST-only members that HTTP APIs do not send in 1.0 events.
		restOnly := []string{
			"requestContext.identity.apiKey", "requestContext.identity.apiKeyId",
			"requestContext.identity.clientCert",
		}
		want := slices.DeleteFunc(keyPaths(t, theirs, true), func(p string) bool {
			for _, r := range restOnly {
				if p == r || strings.HasPrefix(p, r+".") {
					return true
				}
			}
			return false
		})
		// 1.0 members the REST capture lacks: the format version and the
		// identity's principalOrgId (both in AWS's HTTP API 1.0 sample).
		want = append(want, "version", "isBase64Encoded", "requestContext.identity.principalOrgId")
		slices.Sort(want)
		got := keyPaths(t, AppendEventV1(nil, full(nil)), true)
		if !slices.Equal(got, want) {
			t.Errorf("member names differ\nours only:   %v\ntheirs only: %v", minus(got, want), minus(want, got))
		}
	})
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
