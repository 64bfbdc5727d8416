package authz

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integration"
)

func testRequest() *integration.Request {
	h := httptest.NewRequest("GET", "http://api.example.com/v1/pets/42?token=q1&token=q2&Tok=upper&enc%5Fkey=a%20b&empty=", nil)
	h.Header.Set("Authorization", "Bearer abc")
	h.Header.Set("User-Agent", "ua/1")
	h.Header.Add("X-Multi", "one")
	h.Header.Add("X-Multi", "two")
	h.Header["x-raw"] = []string{"lower"} // not canonicalised
	h.Header.Set("X-Empty", "")
	return &integration.Request{
		HTTP:           h,
		RawPath:        "/v1/pets/42",
		Path:           "/pets/42",
		RouteKey:       "GET /pets/{id}",
		Stage:          "v1",
		StageVariables: map[string]string{"key": "sv", "blank": ""},
		RequestID:      "req-1",
		Time:           time.UnixMilli(1700000000123),
		APIID:          "api1",
		AccountID:      "123456789012",
		DomainName:     "api1.execute-api.localhost",
		SourceIP:       "127.0.0.1",
	}
}

func TestSourceValue(t *testing.T) {
	r := testRequest()
	tests := []struct {
		name   string
		expr   string
		want   string
		wantOK bool
	}{
		{name: "header", expr: "$request.header.Authorization", want: "Bearer abc", wantOK: true},
		{name: "header case-insensitive", expr: "$request.header.aUTHORIZATION", want: "Bearer abc", wantOK: true},
		{name: "header multi joined", expr: "$request.header.x-multi", want: "one,two", wantOK: true},
		{name: "header not canonicalised in map", expr: "$request.header.X-Raw", want: "lower", wantOK: true},
		{name: "header absent", expr: "$request.header.X-Missing"},
		{name: "header empty", expr: "$request.header.X-Empty"},
		{name: "query multi joined", expr: "$request.querystring.token", want: "q1,q2", wantOK: true},
		{name: "query case-sensitive", expr: "$request.querystring.Tok", want: "upper", wantOK: true},
		{name: "query case-sensitive miss", expr: "$request.querystring.TOKEN"},
		{name: "query encoded name", expr: "$request.querystring.enc_key", want: "a b", wantOK: true},
		{name: "query empty", expr: "$request.querystring.empty"},
		{name: "query absent", expr: "$request.querystring.nope"},
		{name: "stage variable", expr: "$stageVariables.key", want: "sv", wantOK: true},
		{name: "stage variable empty", expr: "$stageVariables.blank"},
		{name: "stage variable absent", expr: "$stageVariables.none"},
		{name: "context requestId", expr: "$context.requestId", want: "req-1", wantOK: true},
		{name: "context routeKey", expr: "$context.routeKey", want: "GET /pets/{id}", wantOK: true},
		{name: "context stage", expr: "$context.stage", want: "v1", wantOK: true},
		{name: "context httpMethod", expr: "$context.httpMethod", want: "GET", wantOK: true},
		{name: "context path", expr: "$context.path", want: "/v1/pets/42", wantOK: true},
		{name: "context sourceIp", expr: "$context.identity.sourceIp", want: "127.0.0.1", wantOK: true},
		{name: "context userAgent", expr: "$context.identity.userAgent", want: "ua/1", wantOK: true},
		{name: "context apiId", expr: "$context.apiId", want: "api1", wantOK: true},
		{name: "context accountId", expr: "$context.accountId", want: "123456789012", wantOK: true},
		{name: "context domainName", expr: "$context.domainName", want: "api1.execute-api.localhost", wantOK: true},
		{name: "context domainPrefix", expr: "$context.domainPrefix", want: "api1", wantOK: true},
		{name: "context requestTimeEpoch", expr: "$context.requestTimeEpoch", want: "1700000000123", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSource(tt.expr)
			if err != nil {
				t.Fatalf("ParseSource(%q): %v", tt.expr, err)
			}
			if s.String() != tt.expr {
				t.Errorf("String() = %q, want %q", s.String(), tt.expr)
			}
			got, ok := s.Value(r)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Value = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSourceValueNilParts(t *testing.T) {
	var zero Source
	if v, ok := zero.Value(testRequest()); ok || v != "" {
		t.Errorf("zero Source: Value = %q, %v; want absent", v, ok)
	}
	for _, expr := range []string{"$request.header.A", "$request.querystring.a", "$context.httpMethod", "$stageVariables.a"} {
		s, err := ParseSource(expr)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Value(nil); ok {
			t.Errorf("%s: nil request resolved", expr)
		}
		if _, ok := s.Value(&integration.Request{}); ok {
			t.Errorf("%s: empty request resolved", expr)
		}
	}
}

func TestParseSourceErrors(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		wantErr string
	}{
		{name: "empty", expr: "", wantErr: "want $request.header"},
		{name: "unknown prefix", expr: "$request.path.id", wantErr: "want $request.header"},
		{name: "body", expr: "$request.body.token", wantErr: "want $request.header"},
		{name: "no dollar", expr: "request.header.Authorization", wantErr: "want $request.header"},
		{name: "empty header", expr: "$request.header.", wantErr: "empty name"},
		{name: "empty query", expr: "$request.querystring.", wantErr: "empty name"},
		{name: "empty context", expr: "$context.", wantErr: "empty name"},
		{name: "empty stage variable", expr: "$stageVariables.", wantErr: "empty name"},
		{name: "bad header name", expr: "$request.header.Bad Name", wantErr: "invalid header name"},
		{name: "header colon", expr: "$request.header.a:b", wantErr: "invalid header name"},
		{name: "query with space", expr: "$request.querystring.a b", wantErr: "white space"},
		{name: "unknown context", expr: "$context.authorizer.claims.sub", wantErr: "unsupported $context variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSource(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseSource(%q) = %v, want error containing %q", tt.expr, err, tt.wantErr)
			}
		})
	}
}

func TestParseSources(t *testing.T) {
	got, err := ParseSources([]string{"$request.header.A", "$context.stage"})
	if err != nil || len(got) != 2 || !got[0].IsHeader() || got[1].IsHeader() {
		t.Fatalf("ParseSources = %v, %v", got, err)
	}
	_, err = ParseSources([]string{"bad1", "$request.header.A", "bad2"})
	if err == nil || !strings.Contains(err.Error(), "bad1") || !strings.Contains(err.Error(), "bad2") {
		t.Fatalf("ParseSources: want both errors, got %v", err)
	}
}

func TestRouteARN(t *testing.T) {
	r := testRequest()
	tests := []struct {
		name   string
		region string
		mod    func(r *integration.Request)
		want   string
	}{
		{name: "route", region: "us-east-1", want: "arn:aws:execute-api:us-east-1:123456789012:api1/v1/GET/pets/42"},
		{name: "root path", region: "eu-west-1", mod: func(r *integration.Request) { r.Path = "/"; r.RouteKey = "GET /" },
			want: "arn:aws:execute-api:eu-west-1:123456789012:api1/v1/GET/"},
		{name: "default route", region: "us-east-1", mod: func(r *integration.Request) { r.RouteKey = "$default" },
			want: "arn:aws:execute-api:us-east-1:123456789012:api1/v1/$default"},
		{name: "default stage", region: "us-east-1", mod: func(r *integration.Request) { r.Stage = "$default" },
			want: "arn:aws:execute-api:us-east-1:123456789012:api1/$default/GET/pets/42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := *r
			if tt.mod != nil {
				tt.mod(&rr)
			}
			if got := RouteARN(tt.region, &rr); got != tt.want {
				t.Errorf("RouteARN = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"$request.header.Authorization", "$request.querystring.t", "$context.stage", "$stageVariables.x", "", "$request.header."} {
		f.Add(s)
	}
	r := testRequest()
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSource(expr)
		if err != nil {
			return
		}
		if s.String() != expr {
			t.Fatalf("String() = %q, want %q", s.String(), expr)
		}
		_, _ = s.Value(r)
	})
}
