package lambdaproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/internal/httptoken"
	"github.com/portico-dev/portico/internal/integration"
)

func fuzzRequest(method, path, query, hname, hval, cookie, ctype, param string, body []byte) *integration.Request {
	return &integration.Request{
		HTTP: &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawQuery: query},
			Header: http.Header{hname: {hval, param}, "Cookie": {cookie}, "Content-Type": {ctype}},
			Host:   hval,
		},
		Body:           body,
		RawPath:        path,
		Path:           path,
		RouteKey:       method + " " + path,
		PathParameters: map[string]string{param: hval},
		StageVariables: map[string]string{"v": param},
		Stage:          param,
		RequestID:      hval,
		APIID:          param,
		DomainName:     hval,
		SourceIP:       param,
		Authorizer: &integration.Authorizer{
			JWT:    &integration.JWTAuthorizer{Claims: map[string]string{param: hval}, Scopes: []string{param}},
			Lambda: map[string]any{param: hval, "n": float64(len(body))},
		},
	}
}

func FuzzAppendEventV2(f *testing.F) {
	f.Add("GET", "/v1/x", "a=1&a=2&b=%20", "X-A", "v", "a=1; b=2", "application/json", "id", []byte(`{"a":1}`))
	f.Add("POST", "/\xff", "%zz&&=&k", "x-forwarded-for", "1.2.3.4", ";;", "", "\x00", []byte{0, 0xff})
	f.Add("", "", "", "Cookie", "\"", "", "text/plain", "", []byte("\xed\xa0\x80"))
	f.Fuzz(func(t *testing.T, method, path, query, hname, hval, cookie, ctype, param string, body []byte) {
		r := fuzzRequest(method, path, query, hname, hval, cookie, ctype, param, body)
		out := AppendEventV2(nil, r)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %q", out)
		}
		var ev events.APIGatewayV2HTTPRequest
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("decode into APIGatewayV2HTTPRequest: %v\n%s", err, out)
		}
		if ev.IsBase64Encoded {
			got, err := base64.StdEncoding.DecodeString(ev.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("base64 body does not round-trip: %v", err)
			}
		}
		if out1 := AppendEventV1(nil, r); !json.Valid(out1) {
			t.Fatalf("invalid 1.0 JSON: %q", out1)
		} else {
			var ev1 events.APIGatewayProxyRequest
			if err := json.Unmarshal(out1, &ev1); err != nil {
				t.Fatalf("decode into APIGatewayProxyRequest: %v", err)
			}
		}
	})
}

func checkFuzzResponse(t *testing.T, resp *Response, err error) {
	if err != nil {
		if resp != nil {
			t.Fatal("response and error both set")
		}
		return
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, vs := range resp.Header {
		if !httptoken.Valid(k) || droppedResponseHeader(k) {
			t.Fatalf("header name %q", k)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				t.Fatalf("header %s value %q", k, v)
			}
		}
	}
}

func FuzzDecodeResponseV2(f *testing.F) {
	for _, s := range []string{`"hi"`, `{"statusCode":200,"headers":{"a":"b"},"cookies":["c"],"body":"aGk=","isBase64Encoded":true}`, `{"a":1}`, `[1]`, `null`, `{"statusCode":1e3}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		resp, err := DecodeResponseV2(payload)
		checkFuzzResponse(t, resp, err)
	})
}

func FuzzDecodeResponseV1(f *testing.F) {
	for _, s := range []string{`{"statusCode":200,"headers":{"a":"b"},"multiValueHeaders":{"a":["c",null]},"body":"x"}`, `{"body":"x"}`, `"x"`, `{"statusCode":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		resp, err := DecodeResponseV1(payload)
		checkFuzzResponse(t, resp, err)
	})
}

// FuzzEventPath checks EventPath against its definition, built from the
// standard library: decode once, cut at '?', decode again.
func FuzzEventPath(f *testing.F) {
	for _, s := range []string{"/a%20b", "/a%3Fb", "/a%252Fb", "/a%25zz", "/a+b", "/%", "/plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.IndexByte(raw, '?') >= 0 {
			return // the gateway cuts the query off first
		}
		got, err := EventPath(raw)
		once, err1 := url.PathUnescape(raw)
		if err1 != nil {
			if err == nil {
				t.Fatalf("EventPath(%q) = %q, want an error", raw, got)
			}
			return
		}
		if i := strings.IndexByte(once, '?'); i >= 0 {
			once = once[:i]
		}
		want, err2 := url.PathUnescape(once)
		if (err2 != nil) != (err != nil) || (err == nil && got != want) {
			t.Fatalf("EventPath(%q) = %q, %v; want %q, %v", raw, got, err, want, err2)
		}
	})
}

// typicalRequest is a GET with a query, a path parameter and browser-like
// headers.
func typicalRequest() *integration.Request {
	r := newRequest("GET", "/v1/orders/42?expand=items&page=2", "v1", "GET /orders/{id}", nil,
		"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
		"Accept", "application/json", "Accept-Encoding", "gzip, deflate, br", "Accept-Language", "en-GB,en;q=0.9",
		"Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.sig", "Cookie", "sid=abc123; theme=dark")
	r.PathParameters = map[string]string{"id": "42"}
	return r
}

func BenchmarkAppendEventV2(b *testing.B) {
	r := typicalRequest()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEventV2(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendEventV1(b *testing.B) {
	r := typicalRequest()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEventV1(buf[:0], r)
	}
}

func BenchmarkDecodeResponseV2(b *testing.B) {
	payload := []byte(`{"statusCode":200,"headers":{"content-type":"application/json","cache-control":"no-store"},"cookies":["sid=abc; HttpOnly"],"body":"{\"id\":42,\"items\":[1,2,3]}"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeResponseV2(payload); err != nil {
			b.Fatal(err)
		}
	}
}
