package lambdaproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integration"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testTime is the fixed receive time of every test request.
var testTime = time.Date(2020, 4, 21, 15, 8, 21, 67_000_000, time.UTC)

// newRequest builds the integration.Request the gateway would hand over for
// a client request of method to target ("/v1/orders/42?x=1") on a named
// or $default stage. hdr holds header lines (name, value pairs, appended in
// order, names used as given).
func newRequest(method, target, stage, routeKey string, body []byte, hdr ...string) *integration.Request {
	hr := httptest.NewRequest(method, "http://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"+target, bytes.NewReader(body))
	hr.Header = http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		hr.Header[hdr[i]] = append(hr.Header[hdr[i]], hdr[i+1])
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	hr = hr.WithContext(context.WithValue(hr.Context(), http.LocalAddrContextKey, local))
	path := hr.URL.EscapedPath()
	rel := path
	if stage != "$default" {
		rel = strings.TrimPrefix(path, "/"+stage)
		if rel == "" {
			rel = "/"
		}
	}
	return &integration.Request{
		HTTP:       hr,
		Body:       body,
		RawPath:    path,
		Path:       rel,
		RouteKey:   routeKey,
		Stage:      stage,
		RequestID:  "LV7fzho-PHcEJPw=",
		Time:       testTime,
		APIID:      "a1b2c3d4e5",
		AccountID:  "111122223333",
		DomainName: "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
		SourceIP:   "198.51.100.7",
	}
}

type eventCase struct {
	name string
	req  *integration.Request
}

// eventCases are the representative requests of the golden files.
func eventCases() []eventCase {
	ua := []string{"User-Agent", "curl/8.0", "Accept", "*/*"}
	with := func(r *integration.Request, f func(*integration.Request)) *integration.Request { f(r); return r }
	binary := make([]byte, 64)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	return []eventCase{
		{"get-root", newRequest("GET", "/", "$default", "$default", nil, ua...)},
		{"query-repeats", with(newRequest("GET", "/v1/items?tag=a&tag=b&x=1&q=a+b%21&empty=&flag&&t%C3%A9=%E2%9C%93&bad=%zz", "v1", "GET /items", nil, ua...), func(*integration.Request) {})},
		{"cookies", newRequest("GET", "/v1/me", "v1", "GET /me", nil, append(ua, "Cookie", "sid=abc; theme=dark", "Cookie", " x=1 ;; y=\"q\"")...)},
		{"binary-body", newRequest("POST", "/upload", "$default", "POST /upload", binary, append(ua, "Content-Type", "application/octet-stream", "Content-Length", "64")...)},
		{"json-body", newRequest("POST", "/v1/orders", "v1", "POST /orders", []byte(`{"item":"book","note":"<&>\u00e9"}`), append(ua, "Content-Type", "application/json; charset=utf-8")...)},
		{"form-body", newRequest("POST", "/v1/form", "v1", "POST /form", []byte("a=1&b=%20"), append(ua, "Content-Type", "application/x-www-form-urlencoded")...)},
		{"path-params", with(newRequest("GET", "/v1/orders/42", "v1", "GET /orders/{id}", nil, ua...), func(r *integration.Request) {
			r.PathParameters = map[string]string{"id": "42"}
		})},
		{"greedy-param", with(newRequest("GET", "/files/a/b%20c/d.txt", "$default", "GET /files/{proxy+}", nil, ua...), func(r *integration.Request) {
			r.PathParameters = map[string]string{"proxy": "a/b c/d.txt"}
		})},
		{"stage-variables", with(newRequest("DELETE", "/prod/orders/7", "prod", "DELETE /orders/{id}", nil, ua...), func(r *integration.Request) {
			r.PathParameters = map[string]string{"id": "7"}
			r.StageVariables = map[string]string{"env": "prod", "table": "orders-prod"}
		})},
		{"default-route", newRequest("PATCH", "/v1/anything/here?z=1", "v1", "$default", nil, append(ua,
			"X-Forwarded-For", "203.0.113.9",
			"X-Multi", "one", "X-Multi", "two",
			"x-multi", "three",
			"X-Forwarded-Port", "1", "X-Forwarded-Proto", "gopher",
			"X-Amzn-Trace-Id", "Root=1-5e9f0c65-1de4d666d4dd26aced652b6c")...)},
		{"jwt-authorizer", with(newRequest("GET", "/v1/orders/42", "v1", "GET /orders/{id}", nil, append(ua, "Authorization", "Bearer eyJ.x.y")...), func(r *integration.Request) {
			r.PathParameters = map[string]string{"id": "42"}
			r.Authorizer = &integration.Authorizer{JWT: &integration.JWTAuthorizer{
				Claims: map[string]string{"sub": "u1", "exp": "1787996002", "aud": "[app1 app2]"},
				Scopes: []string{"orders/read"},
			}}
		})},
		{"lambda-authorizer", with(newRequest("GET", "/v1/me", "v1", "GET /me", nil, append(ua, "Authorization", "allow")...), func(r *integration.Request) {
			r.Authorizer = &integration.Authorizer{Lambda: map[string]any{
				"user": "u1", "tier": float64(3), "admin": true, "ratio": 0.5, "nested": map[string]any{"a": []any{1.0, "b", nil}},
			}}
		})},
		{"iam-authorizer", with(newRequest("GET", "/v1/me", "v1", "GET /me", nil, ua...), func(r *integration.Request) {
			r.Authorizer = &integration.Authorizer{IAM: map[string]any{
				"accessKey": "AKIAEXAMPLE", "accountId": "111122223333", "callerId": "AIDAEXAMPLE",
				"cognitoIdentity": nil, "principalOrgId": nil,
				"userArn": "arn:aws:iam::111122223333:user/alice", "userId": "AIDAEXAMPLE",
			}}
		})},
		{"non-utf8-body", newRequest("PUT", "/v1/notes/1", "v1", "PUT /notes/{id}", []byte("ok \xff\xfe bad \x00 ctl \"q\" \\ \u2028 end"), append(ua, "Content-Type", "Text/Plain; charset=latin1", "X-Bad", "v\xffal")...)},
		{"suffix-json-body", newRequest("POST", "/v1/things", "v1", "POST /things", []byte(`{"data":{}}`), append(ua, "Content-Type", "application/vnd.api+json")...)},
	}
}

func TestEventGolden(t *testing.T) {
	for _, tc := range eventCases() {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				suffix string
				enc    func([]byte, *integration.Request) []byte
			}{{"v2", AppendEventV2}, {"v1", AppendEventV1}} {
				got := f.enc(nil, tc.req)
				if !json.Valid(got) {
					t.Fatalf("%s: invalid JSON:\n%s", f.suffix, got)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, got, "", "  "); err != nil {
					t.Fatal(err)
				}
				pretty.WriteByte('\n')
				checkGolden(t, filepath.Join("testdata", "events", tc.name+"."+f.suffix+".json"), pretty.Bytes())
			}
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestEventV2Rules(t *testing.T) {
	decode := func(t *testing.T, r *integration.Request) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(AppendEventV2(nil, r), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("omitted when empty", func(t *testing.T) {
		m := decode(t, newRequest("GET", "/", "$default", "$default", nil))
		for _, k := range []string{"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s present, want omitted", k)
			}
		}
		if _, ok := m["requestContext"].(map[string]any)["authorizer"]; ok {
			t.Error("authorizer present without an authorizer")
		}
		if m["rawQueryString"] != "" || m["isBase64Encoded"] != false {
			t.Errorf("rawQueryString %v isBase64Encoded %v, want \"\" and false", m["rawQueryString"], m["isBase64Encoded"])
		}
	})
	t.Run("cookie header moves to cookies", func(t *testing.T) {
		m := decode(t, newRequest("GET", "/", "$default", "$default", nil, "Cookie", "a=1; b=2"))
		if _, ok := m["headers"].(map[string]any)["cookie"]; ok {
			t.Error("cookie header kept")
		}
		if got := m["cookies"].([]any); len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
			t.Errorf("cookies = %v", got)
		}
	})
	t.Run("trace id generated when absent", func(t *testing.T) {
		r := newRequest("GET", "/", "$default", "$default", nil)
		got := decode(t, r)["headers"].(map[string]any)["x-amzn-trace-id"].(string)
		if !regexp.MustCompile(`^Root=1-5e9f0c65-[0-9a-f]{24}$`).MatchString(got) {
			t.Errorf("x-amzn-trace-id = %q", got)
		}
		if TraceID(r) != got {
			t.Errorf("TraceID = %q, event has %q", TraceID(r), got)
		}
		r2 := newRequest("GET", "/", "$default", "$default", nil)
		r2.RequestID = "other"
		if TraceID(r2) == got {
			t.Error("two request ids gave the same trace id")
		}
	})
	t.Run("trace id kept when sent", func(t *testing.T) {
		r := newRequest("GET", "/", "$default", "$default", nil, "X-Amzn-Trace-Id", "Root=1-1-2;Sampled=1")
		if got := TraceID(r); got != "Root=1-1-2;Sampled=1" {
			t.Errorf("TraceID = %q", got)
		}
	})
	t.Run("x-forwarded from the connection", func(t *testing.T) {
		r := newRequest("GET", "/", "$default", "$default", nil)
		r.HTTP = r.HTTP.WithContext(context.Background())
		r.HTTP.Host = "example.test:9000"
		h := decode(t, r)["headers"].(map[string]any)
		if h["x-forwarded-port"] != "9000" || h["x-forwarded-proto"] != "http" || h["x-forwarded-for"] != "198.51.100.7" || h["host"] != "example.test:9000" {
			t.Errorf("headers = %v", h)
		}
	})
}

func TestIsTextBody(t *testing.T) {
	tests := []struct {
		name string
		ct   string
		want bool
	}{
		{"none", "", false},
		{"text", "text/plain", true},
		{"text html with params", "text/html; charset=utf-8", true},
		{"text case", "TEXT/CSV", true},
		{"json", "application/json", true},
		{"json params", "application/json;charset=UTF-8", true},
		{"xml", "application/xml", true},
		{"javascript", "application/javascript", true},
		{"octet", "application/octet-stream", false},
		{"form", "application/x-www-form-urlencoded", false},
		{"multipart", "multipart/form-data; boundary=x", false},
		{"suffix json", "application/vnd.api+json", false},
		{"suffix xml", "application/atom+xml", false},
		{"image", "image/png", false},
		{"text without subtype", "text/", false},
		{"jsonx", "application/jsonx", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isTextBody(tt.ct); got != tt.want {
				t.Errorf("isTextBody(%q) = %v, want %v", tt.ct, got, tt.want)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"ascii", "hello"},
		{"quotes and backslash", `a"b\c`},
		{"controls", "\x00\x01\b\f\n\r\t\x1f\x7f"},
		{"html", "<a href='x'>&</a>"},
		{"utf8", "héllo ✓ 😀"},
		{"invalid utf8", "a\xffb\xc3(c\xed\xa0\x80d\xf0\x9f\x98"},
		{"line separators", "\u2028\u2029"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendString(nil, tt.in)
			var s string
			if err := json.Unmarshal(got, &s); err != nil {
				t.Fatalf("%s: %v", got, err)
			}
			want, _ := json.Marshal(tt.in)
			var ws string
			_ = json.Unmarshal(want, &ws)
			if s != ws {
				t.Errorf("decoded %q, encoding/json gives %q", s, ws)
			}
			if gb := appendString(nil, []byte(tt.in)); !bytes.Equal(gb, got) {
				t.Errorf("[]byte form %s != string form %s", gb, got)
			}
		})
	}
}
