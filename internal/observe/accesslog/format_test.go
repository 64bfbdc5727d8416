package accesslog

import (
	"encoding/json"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/observe"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// full is a record with every field set.
func full() *observe.Record {
	return &observe.Record{
		RequestID:          "Kx1aBcDeIAMEbXw=",
		Time:               time.Date(2024, time.March, 5, 7, 8, 9, 123e6, time.FixedZone("CET", 3600)),
		APIID:              "a1b2c3d4e5",
		APIName:            "orders",
		AccountID:          "123456789012",
		Stage:              "v1",
		RouteKey:           "GET /orders/{id}",
		HTTPMethod:         "GET",
		Path:               "/v1/orders/42",
		Protocol:           "HTTP/1.1",
		DomainName:         "127.0.0.1:8080",
		SourceIP:           "192.0.2.7",
		UserAgent:          "curl/8.5.0",
		TraceID:            "Root=1-65e6c2a5-0123456789abcdef01234567",
		Status:             200,
		RequestLen:         17,
		ResponseLen:        321,
		ResponseLatency:    12*time.Millisecond + 700*time.Microsecond,
		IntegrationLatency: 9 * time.Millisecond,
		IntegrationStatus:  201,
		IntegrationError:   "connection refused",
		ErrorMessage:       "Internal Server Error",
		ErrorType:          "INTEGRATION_FAILURE",
		AuthorizerError:    "token expired",
		AuthorizerLatency:  3 * time.Millisecond,
		PrincipalID:        "user-7",
		APIKeyID:           "partner-a",
		Function:           "orders-get",
		ColdStart:          true,
		QueueWait:          2 * time.Millisecond,
		PromptTokens:       120,
		CompletionTokens:   45,
		Model:              "gpt-4o-mini",
	}
}

// nasty has values with characters every format must escape.
func nasty() *observe.Record {
	r := full()
	r.RequestID = "id-2"
	r.UserAgent = "evil\"agent\\\n<x>&'y'\t\x01\u2028\xff"
	r.RouteKey = "GET /a,b"
	r.IntegrationError = "line1\r\nline2"
	return r
}

// render compiles "$context.requestId|"+rest and returns what follows "|".
func render(t *testing.T, rest string, r *observe.Record) string {
	t.Helper()
	f, err := Compile("$context.requestId|" + rest)
	if err != nil {
		t.Fatalf("Compile(%q): %v", rest, err)
	}
	out := string(f.Append(nil, r))
	_, after, _ := strings.Cut(out, "|")
	return after
}

func TestVariableValues(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"requestId", "Kx1aBcDeIAMEbXw="},
		{"extendedRequestId", "Kx1aBcDeIAMEbXw="},
		{"requestTime", "05/Mar/2024:06:08:09 +0000"},
		{"requestTimeEpoch", "1709618889123"},
		{"apiId", "a1b2c3d4e5"},
		{"accountId", "123456789012"},
		{"stage", "v1"},
		{"routeKey", "GET /orders/{id}"},
		{"httpMethod", "GET"},
		{"path", "/v1/orders/42"},
		{"protocol", "HTTP/1.1"},
		{"domainName", "127.0.0.1:8080"},
		{"identity.sourceIp", "192.0.2.7"},
		{"identity.userAgent", "curl/8.5.0"},
		{"xrayTraceId", "Root=1-65e6c2a5-0123456789abcdef01234567"},
		{"status", "200"},
		{"responseLength", "321"},
		{"responseLatency", "12"},
		{"integrationLatency", "9"},
		{"integration.latency", "9"},
		{"integration.status", "201"},
		{"integrationStatus", "201"},
		{"integrationErrorMessage", "connection refused"},
		{"integration.error", "connection refused"},
		{"error.message", "Internal Server Error"},
		{"error.responseType", "INTEGRATION_FAILURE"},
		{"authorizer.error", "token expired"},
		{"authorizer.latency", "3"},
		{"authorizer.principalId", "user-7"},
		{"identity.apiKeyId", "partner-a"},
		{"function.name", "orders-get"},
		{"function.coldStart", "true"},
		{"integration.queueWait", "2"},
		{"ai.promptTokens", "120"},
		{"ai.completionTokens", "45"},
		{"ai.model", "gpt-4o-mini"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[prefix+tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			if got := render(t, prefix+tt.name, full()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// Not applicable: "-" in text, "-" inside a JSON string, null
			// in a JSON value position.
			if got := render(t, prefix+tt.name, &observe.Record{RequestID: "x"}); got != "-" && tt.name != "requestId" && tt.name != "extendedRequestId" {
				t.Errorf("missing: got %q, want -", got)
			}
		})
	}
	for _, v := range Variables() {
		if !seen[v] {
			t.Errorf("variable %s has no row in this table", v)
		}
	}
}

func TestValueEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		format string
		rec    func(r *observe.Record)
		want   string
	}{
		{"sub-millisecond latency is 0, not missing", "$context.integrationLatency", func(r *observe.Record) { r.IntegrationLatency = 300 * time.Microsecond }, "0"},
		{"warm invocation", "$context.function.coldStart", func(r *observe.Record) { r.ColdStart = false }, "false"},
		{"no function", "$context.function.coldStart", func(r *observe.Record) { r.Function, r.ColdStart = "", false }, "-"},
		{"text escapes quotes and controls", "$context.identity.userAgent", func(r *observe.Record) { r.UserAgent = "a\"b\\c\nd\te\x01" }, `a\"b\\c\nd\te\x01`},
		{"literal dollar text kept", "$context. costs $5 $context.stage.", func(r *observe.Record) {}, "$context. costs $5 v1."},
		{"adjacent variables", "$context.stage$context.status", func(r *observe.Record) {}, "v1200"},
		{"xml escapes", "<a>$context.identity.userAgent</a>", func(r *observe.Record) { r.UserAgent = `<&>"'` + "\n\x02" }, "<a>&lt;&amp;&gt;&quot;&apos;&#10;\uFFFD</a>"},
		{"json string escapes", `{"ua":"$context.identity.userAgent"}`, func(r *observe.Record) { r.UserAgent = "q\"\\\n\x01\u2028\xff" }, `{"ua":"q\"\\\n\u0001\u2028\ufffd"}`},
		{"json bare values", `{"s":$context.status,"e":$context.integration.error,"c":$context.function.coldStart,"t":$context.requestTime}`, func(r *observe.Record) { r.IntegrationError = "" }, `{"s":200,"e":null,"c":true,"t":"05/Mar/2024:06:08:09 +0000"}`},
		{"json bare string quoted", `{"k":$context.stage}`, func(r *observe.Record) {}, `{"k":"v1"}`},
		{"json escaped quote in literal", `{"a\"b":"$context.stage"}`, func(r *observe.Record) {}, `{"a\"b":"v1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := full()
			tt.rec(r)
			f, err := Compile(tt.format + "$context.requestId")
			if err != nil {
				t.Fatal(err)
			}
			got := string(f.Append(nil, r))
			got = strings.TrimSuffix(strings.TrimSuffix(got, `"`+r.RequestID+`"`), r.RequestID)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		wantErr error
		want    []UnknownVariable
	}{
		{"one unknown", "$context.requestId $context.nope", nil, []UnknownVariable{{"$context.nope", 19}}},
		{"several unknown", "$context.foo $context.requestId $context.authorizer.claims.sub.", nil,
			[]UnknownVariable{{"$context.foo", 0}, {"$context.authorizer.claims.sub", 32}}},
		{"prefix of a known name", "$context.requestId $context.requestTimeX", nil, []UnknownVariable{{"$context.requestTimeX", 19}}},
		{"no request id", `{"status":"$context.status"}`, ErrMissingRequestID, nil},
		{"literal only", "hello", ErrMissingRequestID, nil},
		{"newline", "$context.requestId\n$context.status", ErrMultiline, nil},
		{"carriage return", "$context.requestId\r", ErrMultiline, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.format)
			if err == nil {
				t.Fatalf("Compile(%q) = %v, want an error", tt.format, f)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			var uv *UnknownVariablesError
			if !errors.As(err, &uv) {
				t.Fatalf("err = %T %v, want *UnknownVariablesError", err, err)
			}
			if !slices.Equal(uv.Vars, tt.want) {
				t.Errorf("unknown = %+v, want %+v", uv.Vars, tt.want)
			}
			for _, v := range tt.want {
				if !strings.Contains(err.Error(), v.Name) {
					t.Errorf("error %q does not name %s", err, v.Name)
				}
			}
		})
	}
}

func TestCompileGood(t *testing.T) {
	tests := []struct {
		name   string
		format string
	}{
		{"empty is default", ""},
		{"blank is default", "  "},
		{"extended id suffices", "$context.extendedRequestId"},
		{"clf", PresetCLF}, {"json", PresetJSON}, {"xml", PresetXML}, {"csv", PresetCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(tt.format); err != nil {
				t.Fatalf("Compile(%q): %v", tt.format, err)
			}
		})
	}
}

// TestVariablesMatchRecord parses observe.go and checks that the variables
// named in observe.Record's field comments are exactly Variables().
func TestVariablesMatchRecord(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, filepath.Join("..", "observe.go"), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\$context\.[A-Za-z0-9_.]*[A-Za-z0-9_]`)
	var names []string
	ast.Inspect(file, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Record" {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			for _, cg := range []*ast.CommentGroup{field.Doc, field.Comment} {
				if cg != nil {
					names = append(names, re.FindAllString(cg.Text(), -1)...)
				}
			}
		}
		return false
	})
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		t.Fatal("found no $context variables in observe.Record's comments")
	}
	if got := Variables(); !slices.Equal(got, names) {
		t.Errorf("Variables() = %v\nobserve.Record names %v", got, names)
	}
}

func TestPresetsGolden(t *testing.T) {
	tests := []struct {
		name   string
		format string
		json   bool
	}{
		{"clf", PresetCLF, false},
		{"json", PresetJSON, true},
		{"xml", PresetXML, false},
		{"csv", PresetCSV, false},
		{"default", "", true},
	}
	records := []*observe.Record{full(), nasty(), {RequestID: "id-3"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for _, r := range records {
				line := f.Append(nil, r)
				if tt.json && !json.Valid(line) {
					t.Errorf("not valid JSON: %s", line)
				}
				got = append(append(got, line...), '\n')
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if string(got) != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDefaultRecord(t *testing.T) {
	f, err := Compile("")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(f.Append(nil, nasty()), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"requestId": "id-2", "status": 200.0, "ip": "192.0.2.7", "routeKey": "GET /a,b",
		"userAgent": "evil\"agent\\\n<x>&'y'\t\x01\u2028\ufffd", "responseLatency": 12.0,
		"requestTime": "05/Mar/2024:06:08:09 +0000", "requestTimeEpoch": 1709618889123.0,
		"coldStart": true, "integrationErrorMessage": "line1\r\nline2", "apiName": "orders", "requestLength": 17.0,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if len(m) != 34 { // 33 fields, Time as requestTime and requestTimeEpoch
		t.Errorf("%d keys, want 34 (every field set): %v", len(m), m)
	}
	if got := string(f.Append(nil, &observe.Record{})); got != "{}" {
		t.Errorf("empty record = %s, want {}", got)
	}
}
