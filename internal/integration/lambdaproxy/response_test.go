package lambdaproxy

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type respWant struct {
	status int
	header http.Header
	body   string
}

func TestDecodeResponseV2(t *testing.T) {
	ct := func(v string) http.Header { return http.Header{"Content-Type": {v}} }
	tests := []struct {
		name    string
		payload string
		want    respWant
		wantErr string
	}{
		// inference
		{name: "string", payload: `"Hello from Lambda!"`, want: respWant{200, ct("application/json"), "Hello from Lambda!"}},
		{name: "string with escapes", payload: ` "a\"b\u00e9" `, want: respWant{200, ct("application/json"), `a"bé`}},
		{name: "object without statusCode", payload: `{ "message": "Hello from Lambda!" }`, want: respWant{200, ct("application/json"), `{ "message": "Hello from Lambda!" }`}},
		{name: "StatusCode in other case is not statusCode", payload: `{"StatusCode":404}`, want: respWant{200, ct("application/json"), `{"StatusCode":404}`}},
		{name: "number", payload: "42\n", want: respWant{200, ct("application/json"), "42"}},
		{name: "array", payload: `[1,"a"]`, want: respWant{200, ct("application/json"), `[1,"a"]`}},
		{name: "null", payload: `null`, want: respWant{200, ct("application/json"), "null"}},
		{name: "bool", payload: `true`, want: respWant{200, ct("application/json"), "true"}},
		// structured
		{name: "minimal", payload: `{"statusCode":200}`, want: respWant{200, ct(DefaultContentType), ""}},
		{name: "204 gets no content type", payload: `{"statusCode":204}`, want: respWant{204, http.Header{}, ""}},
		{name: "204 keeps the function's content type", payload: `{"statusCode":204,"headers":{"content-type":"text/html"}}`, want: respWant{204, ct("text/html"), ""}},
		{name: "scalar header values sent as their JSON text", payload: `{"statusCode":200,"headers":{"content-length":146,"x-n":-1.5,"x-t":true,"x-f":false,"x-s":"s"}}`,
			want: respWant{200, http.Header{"X-N": {"-1.5"}, "X-T": {"true"}, "X-F": {"false"}, "X-S": {"s"}, "Content-Type": {DefaultContentType}}, ""}},
		{name: "full", payload: `{"statusCode":201,"headers":{"content-type":"text/html","x-multi":"a,b"},"cookies":["a=1; Path=/","b=2"],"body":"<p>hi</p>","isBase64Encoded":false,"extra":[1]}`,
			want: respWant{201, http.Header{"Content-Type": {"text/html"}, "X-Multi": {"a,b"}, "Set-Cookie": {"a=1; Path=/", "b=2"}}, "<p>hi</p>"}},
		{name: "base64 body", payload: `{"statusCode":200,"headers":{"Content-Type":"image/png"},"body":"iVBORw0=","isBase64Encoded":true}`,
			want: respWant{200, ct("image/png"), "\x89PNG\r"}},
		{name: "base64 body unpadded", payload: `{"statusCode":200,"body":"aGk","isBase64Encoded":true}`, want: respWant{200, ct(DefaultContentType), "hi"}},
		{name: "bad base64 body", payload: `{"statusCode":200,"body":"*not*","isBase64Encoded":true}`, wantErr: "isBase64Encoded"},
		{name: "multiValueHeaders ignored", payload: `{"statusCode":200,"multiValueHeaders":{"Content-Type":["application/json"],"X":[1]}}`, want: respWant{200, ct(DefaultContentType), ""}},
		{name: "null members", payload: `{"statusCode":200,"headers":null,"cookies":null,"body":null,"isBase64Encoded":null}`, want: respWant{200, ct(DefaultContentType), ""}},
		{name: "null content-type suppresses the default", payload: `{"statusCode":200,"headers":{"Content-Type":null,"X-A":"1"}}`, want: respWant{200, http.Header{"X-A": {"1"}}, ""}},
		{name: "framing headers dropped", payload: `{"statusCode":200,"headers":{"Content-Length":"999","Transfer-Encoding":"chunked","Connection":"close","Keep-Alive":"x","Upgrade":"h2c","X-Ok":"1"},"body":"abc"}`,
			want: respWant{200, http.Header{"X-Ok": {"1"}, "Content-Type": {DefaultContentType}}, "abc"}},
		{name: "unsendable headers dropped", payload: `{"statusCode":200,"headers":{"bad name":"1","X-Inject":"a\r\nb: c","":"e","X-Ok":"tab\tok"}}`,
			want: respWant{200, http.Header{"X-Ok": {"tab\tok"}, "Content-Type": {DefaultContentType}}, ""}},
		{name: "status 599", payload: `{"statusCode":599}`, want: respWant{599, ct(DefaultContentType), ""}},
		{name: "status 100", payload: `{"statusCode":100}`, want: respWant{100, ct(DefaultContentType), ""}},
		// errors, each next to its good form above
		{name: "empty", payload: "", wantErr: "empty"},
		{name: "blank", payload: " \n", wantErr: "empty"},
		{name: "invalid JSON", payload: `{"statusCode":200`, wantErr: "not valid JSON"},
		{name: "trailing garbage", payload: `"a" x`, wantErr: "not valid JSON"},
		{name: "status 99", payload: `{"statusCode":99}`, wantErr: "100..599"},
		{name: "status 600", payload: `{"statusCode":600}`, wantErr: "100..599"},
		{name: "status fraction", payload: `{"statusCode":200.5}`, wantErr: "100..599"},
		{name: "status exponent", payload: `{"statusCode":2e2}`, wantErr: "100..599"},
		{name: "status string", payload: `{"statusCode":"200"}`, wantErr: "not a number"},
		{name: "status null", payload: `{"statusCode":null}`, wantErr: "not a number"},
		{name: "headers not an object", payload: `{"statusCode":200,"headers":["a"]}`, wantErr: "headers: wrong type"},
		{name: "header value an object", payload: `{"statusCode":200,"headers":{"a":{"b":1}}}`, wantErr: "headers: wrong type"},
		{name: "header value an array", payload: `{"statusCode":200,"headers":{"a":["1"]}}`, wantErr: "headers: wrong type"},
		{name: "cookies not an array", payload: `{"statusCode":200,"cookies":"a=1"}`, wantErr: "cookies: wrong type"},
		{name: "body not a string", payload: `{"statusCode":200,"body":{"a":1}}`, wantErr: "body: wrong type"},
		{name: "isBase64Encoded not a bool", payload: `{"statusCode":200,"isBase64Encoded":"true"}`, wantErr: "isBase64Encoded: wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponseV2([]byte(tt.payload))
			checkResp(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func TestDecodeResponseV1(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    respWant
		wantErr string
	}{
		{name: "minimal", payload: `{"statusCode":200,"body":"ok"}`, want: respWant{200, http.Header{"Content-Type": {DefaultContentType}}, "ok"}},
		{name: "merged headers", payload: `{"statusCode":302,"headers":{"Location":"/x","X-A":"1","X-B":"2"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"],"x-a":["1","3"],"X-B":["4"]}}`,
			want: respWant{302, http.Header{"Location": {"/x"}, "Set-Cookie": {"a=1", "b=2"}, "X-A": {"1", "3"}, "X-B": {"4", "2"}, "Content-Type": {DefaultContentType}}, ""}},
		{name: "base64", payload: `{"statusCode":200,"body":"AAE=","isBase64Encoded":true,"headers":{"content-type":"application/octet-stream"}}`,
			want: respWant{200, http.Header{"Content-Type": {"application/octet-stream"}}, "\x00\x01"}},
		{name: "scalar values in both maps", payload: `{"statusCode":200,"headers":{"X-A":1,"X-B":true},"multiValueHeaders":{"X-A":[1,2],"X-C":[false]}}`,
			want: respWant{200, http.Header{"X-A": {"1", "2"}, "X-B": {"true"}, "X-C": {"false"}, "Content-Type": {DefaultContentType}}, ""}},
		{name: "cookies member ignored", payload: `{"statusCode":200,"cookies":["a=1"]}`, want: respWant{200, http.Header{"Content-Type": {DefaultContentType}}, ""}},
		{name: "null content-type in multiValueHeaders", payload: `{"statusCode":200,"multiValueHeaders":{"Content-Type":null}}`, want: respWant{200, http.Header{}, ""}},
		{name: "missing statusCode", payload: `{"body":"ok"}`, wantErr: "missing statusCode"},
		{name: "not an object", payload: `"ok"`, wantErr: "not a JSON object"},
		{name: "array", payload: `[{"statusCode":200}]`, wantErr: "not a JSON object"},
		{name: "empty", payload: ``, wantErr: "empty"},
		{name: "invalid JSON", payload: `{"statusCode":200,}`, wantErr: "response payload"},
		{name: "bad status", payload: `{"statusCode":1000}`, wantErr: "100..599"},
		{name: "multiValueHeaders value an object", payload: `{"statusCode":200,"multiValueHeaders":{"a":[{}]}}`, wantErr: "multiValueHeaders: wrong type"},
		{name: "multiValueHeaders wrong type", payload: `{"statusCode":200,"multiValueHeaders":{"a":"b"}}`, wantErr: "multiValueHeaders: wrong type"},
		{name: "bad base64", payload: `{"statusCode":200,"body":"@@","isBase64Encoded":true}`, wantErr: "isBase64Encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponseV1([]byte(tt.payload))
			checkResp(t, got, err, tt.want, tt.wantErr)
		})
	}
}

func checkResp(t *testing.T, got *Response, err error, want respWant, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error = %v, want one containing %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if got.StatusCode != want.status {
		t.Errorf("status = %d, want %d", got.StatusCode, want.status)
	}
	if !reflect.DeepEqual(got.Header, want.header) {
		t.Errorf("header = %v, want %v", got.Header, want.header)
	}
	if string(got.Body) != want.body {
		t.Errorf("body = %q, want %q", got.Body, want.body)
	}
}

// TestDecodeResponseGolden records the decoded form of representative
// function results.
func TestDecodeResponseGolden(t *testing.T) {
	tests := []struct {
		name    string
		v1      bool
		payload string
	}{
		{"v2-inferred-string", false, `"Hello from Lambda!"`},
		{"v2-inferred-object", false, `{"message":"Hello from Lambda!"}`},
		{"v2-structured", false, `{"statusCode":201,"headers":{"content-type":"application/json","x-multi":"a,b"},"cookies":["sid=1; HttpOnly","theme=dark"],"body":"{\"id\":7}"}`},
		{"v2-binary", false, `{"statusCode":200,"headers":{"content-type":"image/gif"},"body":"R0lGODlhAQABAAAAACw=","isBase64Encoded":true}`},
		{"v1-merged", true, `{"statusCode":200,"headers":{"X-A":"1"},"multiValueHeaders":{"X-A":["2"],"Set-Cookie":["a=1","b=2"]},"body":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := DecodeResponseV2
			if tt.v1 {
				dec = DecodeResponseV1
			}
			resp, err := dec([]byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.MarshalIndent(struct {
				Payload    string
				StatusCode int
				Header     http.Header
				Body       []byte // base64, exact bytes
				BodyText   string
			}{tt.payload, resp.StatusCode, resp.Header, resp.Body, string(resp.Body)}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "responses", tt.name+".json"), append(out, '\n'))
		})
	}
}
