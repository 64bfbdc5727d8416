package spec

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// seedYAML is the example from the brief; code is ./app next to the file.
const seedYAML = `functions:
  aiServiceFunction:
    runtime: python3.12
    handler: handler.main
    code: ./app
    timeout: 30
    memorySize: 512
    environment: {MODEL: small}
    reservedConcurrency: 4
    role: lambdaRole
roles:
  lambdaRole:
    assumeRolePolicy: {Version: 2012-10-17, Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}]}
    managedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
    policies:
      - '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
buckets:
  models: {}
apis:
  aiServicesHttpApi:
    protocolType: HTTP
    integrations:
      lambdaIntegration: {type: AWS_PROXY, function: aiServiceFunction, payloadFormatVersion: "2.0", timeoutInMillis: 30000}
      modelServer:       {type: HTTP_PROXY, uri: "http://127.0.0.1:11434/{proxy}", method: ANY}
    routes:
      "GET /": {integration: lambdaIntegration}
      "ANY /models/{proxy+}": {integration: modelServer}
    stages:
      v1: {autoDeploy: true, stageVariables: {tier: free}}
`

// parseInDir prepares a temp directory holding an "app" code directory and
// a regular file "file", then parses text as <dir>/portico.yaml.
func parseInDir(t *testing.T, text string) (*Spec, string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "portico.yaml")
	s, err := Parse(file, []byte(text))
	return s, dir, err
}

// positioned renders an ErrorList as "line:col: message" lines, checking
// that every error names the file.
func positioned(t *testing.T, err error, file string) []string {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList: %v", err, err)
	}
	var out []string
	for _, e := range list {
		if e.File != file {
			t.Errorf("error file = %q, want %q", e.File, file)
		}
		out = append(out, fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg))
	}
	return out
}

func TestParseSeed(t *testing.T) {
	s, dir, err := parseInDir(t, seedYAML)
	if err != nil {
		t.Fatal(err)
	}
	f := s.Functions["aiServiceFunction"]
	four := 4
	wantF := &Function{Name: "aiServiceFunction", Pos: Pos{2, 3}, Runtime: "python3.12", Handler: "handler.main",
		Code: filepath.Join(dir, "app"), Timeout: 30, MemorySize: 512, Environment: map[string]string{"MODEL": "small"},
		ReservedConcurrency: &four, Role: "lambdaRole"}
	if !reflect.DeepEqual(f, wantF) {
		t.Errorf("function = %+v\nwant %+v", f, wantF)
	}
	r := s.Roles["lambdaRole"]
	if r.Pos != (Pos{12, 3}) || len(r.Policies) != 1 {
		t.Errorf("role = %+v", r)
	}
	if m, ok := r.Policies[0].(map[string]any); !ok || m["Version"] != "2012-10-17" {
		t.Errorf("policy JSON text not normalised: %#v", r.Policies[0])
	}
	if m, ok := r.AssumeRolePolicy.(map[string]any); !ok || m["Version"] != "2012-10-17" {
		t.Errorf("assumeRolePolicy = %#v", r.AssumeRolePolicy)
	}
	if b := s.Buckets["models"]; b == nil || b.Name != "models" || b.Pos != (Pos{18, 3}) {
		t.Errorf("bucket = %+v", b)
	}
	a := s.APIs["aiServicesHttpApi"]
	if a.ID != DeriveAPIID("aiServicesHttpApi") || a.ProtocolType != "HTTP" || a.Pos != (Pos{20, 3}) {
		t.Errorf("api = %+v", a)
	}
	wantI := map[string]*Integration{
		"lambdaIntegration": {Name: "lambdaIntegration", Pos: Pos{23, 7}, Type: AWSProxy, Function: "aiServiceFunction", PayloadFormatVersion: "2.0", TimeoutInMillis: 30000},
		"modelServer":       {Name: "modelServer", Pos: Pos{24, 7}, Type: HTTPProxy, URI: "http://127.0.0.1:11434/{proxy}", Method: "ANY", PayloadFormatVersion: "1.0", TimeoutInMillis: 30000},
	}
	if !reflect.DeepEqual(a.Integrations, wantI) {
		t.Errorf("integrations = %s", jsonOf(a.Integrations))
	}
	wantR := map[string]*Route{
		"GET /":                {Key: "GET /", Pos: Pos{26, 7}, Method: "GET", Path: "/", Integration: "lambdaIntegration"},
		"ANY /models/{proxy+}": {Key: "ANY /models/{proxy+}", Pos: Pos{27, 7}, Method: "ANY", Path: "/models/{proxy+}", Integration: "modelServer"},
	}
	if !reflect.DeepEqual(a.Routes, wantR) {
		t.Errorf("routes = %s", jsonOf(a.Routes))
	}
	wantS := map[string]*Stage{"v1": {Name: "v1", Pos: Pos{29, 7}, AutoDeploy: true, StageVariables: map[string]string{"tier": "free"}}}
	if !reflect.DeepEqual(a.Stages, wantS) {
		t.Errorf("stages = %s", jsonOf(a.Stages))
	}
	if got := f.TimeoutDuration().String(); got != "30s" {
		t.Errorf("TimeoutDuration = %s", got)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, s *Spec)
	}{
		{
			name: "function defaults",
			yaml: "functions:\n  f: {runtime: provided.al2023, code: app}\n",
			check: func(t *testing.T, s *Spec) {
				f := s.Functions["f"]
				if f.Timeout != 3 || f.MemorySize != 128 || f.ReservedConcurrency != nil || f.Environment == nil || f.Handler != "" {
					t.Errorf("function = %+v", f)
				}
			},
		},
		{
			name: "null fields take defaults",
			yaml: "functions:\n  f:\n    runtime: nodejs22.x\n    handler: index.handler\n    code: app\n    timeout:\n    memorySize: ~\n",
			check: func(t *testing.T, s *Spec) {
				if f := s.Functions["f"]; f.Timeout != 3 || f.MemorySize != 128 {
					t.Errorf("function = %+v", f)
				}
			},
		},
		{
			name: "api defaults and quick-create stage",
			yaml: "functions:\n  f: {runtime: python3.14, handler: a.b, code: app}\napis:\n  web:\n    integrations:\n      l: {type: AWS_PROXY, function: f}\n      h: {type: HTTP_PROXY, uri: 'https://example.com/${stageVariables.p}'}\n    routes:\n      $default: {integration: l}\n",
			check: func(t *testing.T, s *Spec) {
				a := s.APIs["web"]
				if a.ID != DeriveAPIID("web") || len(a.ID) != 10 || a.ProtocolType != "HTTP" {
					t.Errorf("api = %+v", a)
				}
				want := map[string]*Stage{"$default": {Name: "$default", Pos: Pos{4, 3}, AutoDeploy: true, StageVariables: map[string]string{}}}
				if !reflect.DeepEqual(a.Stages, want) {
					t.Errorf("stages = %s", jsonOf(a.Stages))
				}
				if l := a.Integrations["l"]; l.PayloadFormatVersion != "2.0" || l.TimeoutInMillis != 30000 || l.Method != "" || l.Timeout().String() != "30s" {
					t.Errorf("lambda integration = %+v", l)
				}
				if h := a.Integrations["h"]; h.PayloadFormatVersion != "1.0" || h.Method != "ANY" {
					t.Errorf("http integration = %+v", h)
				}
				if r := a.Routes["$default"]; r.Method != "" || r.Path != "" {
					t.Errorf("$default route = %+v", r)
				}
			},
		},
		{
			name: "explicit id, empty spec sections, scalars in string fields",
			yaml: "functions:\n  f: {runtime: python3.9, handler: src/app.main, code: app, environment: {PORT: 8080, DEBUG: true, EMPTY: }}\nroles: {}\nbuckets:\n  my.bucket-1:\napis:\n  a: {id: abc123, stages: {$default: {}}}\n",
			check: func(t *testing.T, s *Spec) {
				if s.APIs["a"].ID != "abc123" {
					t.Errorf("id = %q", s.APIs["a"].ID)
				}
				want := map[string]string{"PORT": "8080", "DEBUG": "true", "EMPTY": ""}
				if got := s.Functions["f"].Environment; !reflect.DeepEqual(got, want) {
					t.Errorf("environment = %v", got)
				}
				if st := s.APIs["a"].Stages["$default"]; st.AutoDeploy {
					t.Errorf("explicit $default stage got autoDeploy")
				}
				if s.Buckets["my.bucket-1"] == nil {
					t.Errorf("null bucket body dropped")
				}
			},
		},
		{
			name: "aliases inside the model",
			yaml: "functions:\n  f: &fn {runtime: python3.12, handler: a.b, code: app}\n  g: *fn\n",
			check: func(t *testing.T, s *Spec) {
				if g := s.Functions["g"]; g == nil || g.Name != "g" || g.Runtime != "python3.12" {
					t.Errorf("g = %+v", g)
				}
			},
		},
		{
			name: "empty mapping document",
			yaml: "{}\n",
			check: func(t *testing.T, s *Spec) {
				if s.Functions == nil || s.APIs == nil || s.Roles == nil || s.Buckets == nil {
					t.Errorf("nil maps: %+v", s)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := parseInDir(t, tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

// fn is a valid function for cases that need one.
const fn = "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		// Decoding.
		{"empty file", "", []string{`1:1: empty spec file: want a mapping with functions, roles, buckets or apis`}},
		{"comments only", "# nothing\n", []string{`1:1: empty spec file: want a mapping with functions, roles, buckets or apis`}},
		{"null document", "---\n~\n", []string{`2:1: empty spec file: want a mapping with functions, roles, buckets or apis`}},
		{"not a mapping", "- a\n- b\n", []string{`1:1: spec must be a mapping, got a list`}},
		{"scalar document", "hello\n", []string{`1:1: spec must be a mapping, got string "hello"`}},
		{"multiple documents", "buckets: {}\n---\nbuckets: {}\n", []string{`2:1: multiple YAML documents: a spec file holds exactly one`}},
		{"syntax error", "functions:\n  f: [a,\n", []string{`2:1: yaml syntax: did not find expected node content`}},
		{"tab indentation", "functions:\n\tf: {}\n", []string{`2:1: yaml syntax: found character that cannot start any token`}},
		{"unknown top-level field", "function: {}\n", []string{`1:1: unknown field "function" in spec (did you mean "functions"?)`}},
		{"unknown field no suggestion", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, colour: red}\n", []string{`2:53: unknown field "colour" in function`}},
		{"unknown field suggestion", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, tmeout: 3}\n", []string{`2:53: unknown field "tmeout" in function (did you mean "timeout"?)`}},
		{"snake case suggestion", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, memory_size: 256}\n", []string{`2:53: unknown field "memory_size" in function (did you mean "memorySize"?)`}},
		{"wrong type integer", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, timeout: 30s}\n", []string{`2:62: timeout: expected an integer, got string "30s"`}},
		{"wrong type float", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, memorySize: 1.5}\n", []string{`2:65: memorySize: expected an integer, got number 1.5`}},
		{"integer out of range", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, timeout: 99999999999999999999}\n", []string{`2:62: timeout: integer 99999999999999999999 out of range`}},
		{"wrong type pointer int", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, reservedConcurrency: [1]}\n", []string{`2:74: reservedConcurrency: expected an integer, got a list`}},
		{"wrong type string", "functions:\n  f: {runtime: {x: 1}, handler: a.b, code: app}\n", []string{`2:3: function "f": runtime is required`, `2:16: runtime: expected a string, got a mapping`}},
		{"wrong type boolean", "apis:\n  a:\n    stages:\n      s: {autoDeploy: yes}\n", []string{`4:23: autoDeploy: expected a boolean, got string "yes"`}},
		{"wrong type map", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, environment: [A=1]}\n", []string{`2:66: environment: expected a mapping, got a list`}},
		{"wrong type map value", "functions:\n  f: {runtime: python3.12, handler: a.b, code: app, environment: {AB: [1]}}\n", []string{`2:71: environment.AB: expected a string, got a list`}},
		{"wrong type list", "roles:\n  r: {managedPolicyArns: arn:aws:iam::aws:policy/x}\n", []string{`2:26: managedPolicyArns: expected a list, got string "arn:aws:iam::aws:policy/x"`}},
		{"resources not a mapping", "functions: [f]\n", []string{`1:12: functions: expected a mapping, got a list`}},
		{"resource not a mapping", "functions:\n  f: python\n", []string{`2:6: function "f": expected a mapping, got string "python"`}},
		{"duplicate key", "functions:\n  f:\n    runtime: python3.12\n    handler: a.b\n    code: app\n    runtime: python3.11\n", []string{`6:5: duplicate key "runtime" (first at line 3)`}},
		{"duplicate resource", "buckets:\n  abc: {}\n  abc: {}\n", []string{`3:3: duplicate key "abc" (first at line 2)`}},
		{"non-scalar key", "buckets:\n  [a]: {}\n", []string{`2:3: mapping key must be a scalar, got a list`}},
		{"merge key", "buckets:\n  <<: {abc: {}}\n", []string{`2:3: merge keys (<<) are not supported`}},
		{"custom tag", "functions:\n  f: {runtime: !Ref Runtime, handler: a.b, code: app}\n", []string{`2:3: function "f": runtime is required`, `2:16: unsupported YAML tag !Ref`}},

		// Functions.
		{"bad function name", "functions:\n  my fn: {runtime: python3.12, handler: a.b, code: app}\n", []string{`2:3: function name "my fn": must be 1 to 64 letters, digits, "-" or "_"`}},
		{"runtime missing", "functions:\n  f: {handler: a.b, code: app}\n", []string{`2:3: function "f": runtime is required`}},
		{"runtime unsupported", "functions:\n  f: {runtime: java21, handler: a.b, code: app}\n", []string{`2:16: runtime: unsupported runtime "java21"; supported: python3.6 to python3.14, nodejs18.x, nodejs20.x, nodejs22.x, provided.al2023, provided.al2, provided`}},
		{"runtime typo", "functions:\n  f: {runtime: nodejs20, handler: a.b, code: app}\n", []string{`2:16: runtime: unsupported runtime "nodejs20" (did you mean "nodejs20.x"?); supported: python3.6 to python3.14, nodejs18.x, nodejs20.x, nodejs22.x, provided.al2023, provided.al2, provided`}},
		{"handler missing", "functions:\n  f: {runtime: python3.12, code: app}\n", []string{`2:3: function "f": handler is required for runtime python3.12`}},
		{"python handler no dot", "functions:\n  f: {runtime: python3.12, handler: main, code: app}\n", []string{`2:37: handler: "main" is not module.function`}},
		{"python handler bad function", "functions:\n  f: {runtime: python3.12, handler: app.my-fn, code: app}\n", []string{`2:37: handler: "app.my-fn": function name "my-fn" is not a Python identifier`}},
		{"node handler dotdot", "functions:\n  f: {runtime: nodejs20.x, handler: ../x/index.handler, code: app}\n", []string{`2:37: handler: "../x/index.handler" must not contain ".."`}},
		{"node handler no export", "functions:\n  f: {runtime: nodejs20.x, handler: index, code: app}\n", []string{`2:37: handler: "index" is not file.export`}},
		{"code missing", "functions:\n  f: {runtime: provided, handler: bootstrap}\n", []string{`2:3: function "f": code is required (a directory, relative to the spec file)`}},
		{"code does not exist", "functions:\n  f: {runtime: provided.al2, code: ./nope}\n", []string{`2:36: code: directory "./nope" does not exist`}},
		{"code not a directory", "functions:\n  f: {runtime: provided.al2, code: file}\n", []string{`2:36: code: "file" is not a directory`}},
		{"timeout too small", "functions:\n  f: {runtime: provided, code: app, timeout: 0}\n", []string{`2:46: timeout: must be 1 to 900 seconds, got 0`}},
		{"timeout too large", "functions:\n  f: {runtime: provided, code: app, timeout: 901}\n", []string{`2:46: timeout: must be 1 to 900 seconds, got 901`}},
		{"memory too small", "functions:\n  f: {runtime: provided, code: app, memorySize: 64}\n", []string{`2:49: memorySize: must be 128 to 10240 MB, got 64`}},
		{"memory too large", "functions:\n  f: {runtime: provided, code: app, memorySize: 10241}\n", []string{`2:49: memorySize: must be 128 to 10240 MB, got 10241`}},
		{"env name invalid", "functions:\n  f: {runtime: provided, code: app, environment: {1ABC: x, A: y, OK_1: z}}\n", []string{
			`2:51: environment: invalid variable name "1ABC": must match [a-zA-Z][a-zA-Z0-9_]+`,
			`2:60: environment: invalid variable name "A": must match [a-zA-Z][a-zA-Z0-9_]+`}},
		{"env reserved", "functions:\n  f: {runtime: provided, code: app, environment: {AWS_REGION: x, LAMBDA_TASK_ROOT: y, TZ: ok}}\n", []string{
			`2:51: environment: AWS_REGION is reserved by Lambda`,
			`2:66: environment: LAMBDA_TASK_ROOT is reserved by Lambda`}},
		{"env too large", "functions:\n  f: {runtime: provided, code: app, environment: {BIG: " + strings.Repeat("x", 4094) + "}}\n", []string{
			`2:50: environment: 4097 bytes of names and values; Lambda allows 4096`}},
		{"reserved concurrency negative", "functions:\n  f: {runtime: provided, code: app, reservedConcurrency: -1}\n", []string{`2:58: reservedConcurrency: must be 0 or more, got -1`}},
		{"role missing", "functions:\n  f: {runtime: provided, code: app, role: lambdaRol}\nroles:\n  lambdaRole: {}\n", []string{`2:43: role: no role named "lambdaRol" (did you mean "lambdaRole"?)`}},

		// Roles and buckets.
		{"bad role name", "roles:\n  'a b': {}\n", []string{`2:3: role name "a b": must be 1 to 64 letters, digits or +=,.@_-`}},
		{"policy without Version and Statement", "roles:\n  r:\n    policies:\n      - {Id: x}\n", []string{
			`4:9: policies[0]: policy document needs Statement`, `4:9: policies[0]: policy document needs Version`}},
		{"policy bad Version", "roles:\n  r:\n    policies:\n      - {Version: 2020-01-01, Statement: {Effect: Allow}}\n", []string{
			`4:9: policies[0]: Version must be "2012-10-17" or "2008-10-17", got 2020-01-01`}},
		{"policy bad Statement", "roles:\n  r:\n    policies:\n      - {Version: '2012-10-17', Statement: [a]}\n", []string{
			`4:9: policies[0]: Statement must be a mapping or a non-empty list of mappings`}},
		{"policy bad JSON text", "roles:\n  r:\n    policies: ['{\"Version\": ']\n", []string{
			`3:16: policies[0]: policy document is not valid JSON: unexpected EOF`}},
		{"assume role policy not a document", "roles:\n  r: {assumeRolePolicy: 42}\n", []string{
			`2:25: assumeRolePolicy: expected a policy document (a mapping or its JSON text)`}},
		{"assume role policy JSON text", "roles:\n  r: {assumeRolePolicy: '{\"Version\":\"2012-10-17\"}'}\n", []string{
			`2:25: assumeRolePolicy: policy document needs Statement`}},
		{"managed policy not an ARN", "roles:\n  r: {managedPolicyArns: [AWSLambdaBasicExecutionRole]}\n", []string{
			`2:27: managedPolicyArns[0]: "AWSLambdaBasicExecutionRole" is not an ARN (arn:partition:service:region:account:resource)`}},
		{"bad bucket name", "buckets:\n  Models: {}\n  ab: {}\n", []string{
			`2:3: bucket name "Models": must be 3 to 63 lower-case letters, digits, "." or "-", starting and ending with a letter or digit`,
			`3:3: bucket name "ab": must be 3 to 63 lower-case letters, digits, "." or "-", starting and ending with a letter or digit`}},

		// APIs.
		{"websocket", "apis:\n  a: {protocolType: WEBSOCKET}\n", []string{`2:21: protocolType: WEBSOCKET APIs are not supported; only HTTP`}},
		{"bad protocol", "apis:\n  a: {protocolType: REST}\n", []string{`2:21: protocolType: must be HTTP, got "REST"`}},
		{"bad api id", "apis:\n  a: {id: ABC}\n", []string{`2:11: id: must be 1 to 63 lower-case letters or digits, got "ABC"`}},
		{"duplicate api id", "apis:\n  a: {id: abc}\n  b: {id: abc}\n", []string{`3:11: api "b": id "abc" is also the id of api "a"`}},
		{"integration type missing", "apis:\n  a:\n    integrations:\n      i: {uri: 'http://x'}\n", []string{`4:7: integration "i": type is required (AWS_PROXY or HTTP_PROXY)`}},
		{"integration type unknown", "apis:\n  a:\n    integrations:\n      i: {type: AWS, function: f}\n", []string{`4:17: type: must be AWS_PROXY or HTTP_PROXY, got "AWS"`}},
		{"integration type typo", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXI, uri: 'http://x'}\n", []string{`4:17: type: must be AWS_PROXY or HTTP_PROXY, got "HTTP_PROXI" (did you mean "HTTP_PROXY"?)`}},
		{"aws proxy without function", "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY}\n", []string{`4:7: integration "i": function is required for AWS_PROXY`}},
		{"aws proxy unknown function", fn + "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fm}\n", []string{`6:38: function: no function named "fm"`}},
		{"aws proxy with uri and method", fn + "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fn, uri: 'http://x', method: GET}\n", []string{
			`6:47: uri: not used by AWS_PROXY integrations (name the function with function)`, `6:67: method: not used by AWS_PROXY integrations`}},
		{"http proxy without uri", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY}\n", []string{`4:7: integration "i": uri is required for HTTP_PROXY`}},
		{"http proxy relative uri", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: /x}\n", []string{`4:34: uri: "/x" must be an absolute http:// or https:// URL`}},
		{"http proxy ftp uri", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'ftp://h/x'}\n", []string{`4:34: uri: "ftp://h/x" must be an absolute http:// or https:// URL`}},
		{"http proxy no host", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http:///x'}\n", []string{`4:34: uri: "http:///x" has no host`}},
		{"http proxy unknown variable", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h/${context.x}'}\n", []string{
			`4:34: uri: unknown variable ${context.x}; only ${stageVariables.name} and {name} are allowed`}},
		{"http proxy bad path variable", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h/{a b}'}\n", []string{`4:34: uri: variable {a b}: name must match [A-Za-z0-9._-]+`}},
		{"http proxy unclosed brace", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h/{a'}\n", []string{`4:34: uri: unclosed "{" in "http://h/{a"`}},
		{"http proxy with function", fn + "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', function: fn}\n", []string{`6:56: function: not used by HTTP_PROXY integrations (give the upstream URL with uri)`}},
		{"http proxy bad method", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', method: get}\n", []string{`4:54: method: must be one of ANY GET POST PUT PATCH DELETE HEAD OPTIONS, got "get"`}},
		{"payload format unknown", fn + "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fn, payloadFormatVersion: '3.0'}\n", []string{`6:64: payloadFormatVersion: must be "1.0" or "2.0", got "3.0"`}},
		{"payload format number", fn + "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fn, payloadFormatVersion: 2}\n", []string{`6:64: payloadFormatVersion: must be "1.0" or "2.0", got "2"`}},
		{"payload format http proxy", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', payloadFormatVersion: '2.0'}\n", []string{`4:68: payloadFormatVersion: HTTP_PROXY integrations support only "1.0"`}},
		{"integration timeout small", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', timeoutInMillis: 49}\n", []string{`4:63: timeoutInMillis: must be 50 to 900000, got 49`}},
		{"integration timeout large", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', timeoutInMillis: 900001}\n", []string{`4:63: timeoutInMillis: must be 50 to 900000, got 900001`}},

		// Routes.
		{"route key malformed", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      /x: {integration: i}\n", []string{
			`5:7: route key "/x": want "$default" or "METHOD /path"`}},
		{"route method lower case", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      get /x: {integration: i}\n", []string{
			`5:7: route key "get /x": unknown method "get" (methods are upper case: GET); want one of ANY GET POST PUT PATCH DELETE HEAD OPTIONS`}},
		{"route trailing slash", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /metrics/: {integration: i}\n", []string{
			`5:7: route key "GET /metrics/": path must not end with "/"`}},
		{"route greedy not last", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /{p+}/x: {integration: i}\n", []string{
			`5:7: route key "GET /{p+}/x": greedy path variable {p+} must be the last segment`}},
		{"route duplicate shape", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /a/{x}: {integration: i}\n      GET /a/{y}: {integration: i}\n      POST /a/{y}: {integration: i}\n      GET /a/{x+}: {integration: i}\n      GET /a/{y+}: {integration: i}\n", []string{
			`6:7: route "GET /a/{y}" overlaps route "GET /a/{x}" (line 5): same method and path shape`,
			`9:7: route "GET /a/{y+}" overlaps route "GET /a/{x+}" (line 8): same method and path shape`}},
		{"route integration missing", "apis:\n  a:\n    routes:\n      GET /: {}\n", []string{`4:7: route "GET /": integration is required`}},
		{"route integration unknown", "apis:\n  a:\n    integrations: {backend: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /: {integration: backnd}\n", []string{
			`5:28: integration: no integration named "backnd" in api "a" (did you mean "backend"?)`}},
		{"route uri variable not a path variable", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h/{id}/{proxy}'}}\n    routes:\n      GET /x/{id}/{proxy+}: {integration: i}\n      GET /y/{id}: {integration: i}\n      $default: {integration: i}\n", []string{
			`6:34: integration: uri of "i" uses {proxy}, which is not a path variable of route "GET /y/{id}"`,
			`7:31: integration: uri of "i" uses {id}, which is not a path variable of route "$default"`,
			`7:31: integration: uri of "i" uses {proxy}, which is not a path variable of route "$default"`}},

		// Stages.
		{"stage name invalid", "apis:\n  a:\n    stages:\n      'v 1': {}\n      " + strings.Repeat("s", 129) + ": {}\n", []string{
			`4:7: stage name "v 1": must be 1 to 128 letters, digits, "-" or "_", or "$default"`,
			`5:7: stage name "` + strings.Repeat("s", 129) + `": must be 1 to 128 letters, digits, "-" or "_", or "$default"`}},
		{"too many stages", "apis:\n  a:\n    stages: {s1: {}, s2: {}, s3: {}, s4: {}, s5: {}, s6: {}, s7: {}, s8: {}, s9: {}, s10: {}, s11: {}}\n", []string{
			`3:13: stages: at most 10 stages per API, got 11`}},
		{"stage variable name and value", "apis:\n  a:\n    stages:\n      v1: {stageVariables: {a-b: x, ok: 'a b', e: ''}}\n", []string{
			`4:29: stageVariables: invalid name "a-b": must match [A-Za-z0-9_]+`,
			`4:41: stageVariables.ok: invalid value "a b": must be 1 or more of A-Z a-z 0-9 - . _ ~ : / ? # & = ,`,
			`4:51: stageVariables.e: invalid value "": must be 1 or more of A-Z a-z 0-9 - . _ ~ : / ? # & = ,`}},
		{"too many stage variables", "apis:\n  a:\n    stages:\n      v1:\n        stageVariables: {" + manyVars(101) + "}\n", []string{
			`5:25: stageVariables: at most 100 per stage, got 101`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir, err := parseInDir(t, tt.yaml)
			if err == nil {
				t.Fatalf("Parse succeeded: %s", jsonOf(s))
			}
			if s != nil {
				t.Errorf("Parse returned a spec with errors")
			}
			got := positioned(t, err, filepath.Join(dir, "portico.yaml"))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func manyVars(n int) string {
	var l []string
	for i := range n {
		l = append(l, fmt.Sprintf("v%d: x", i))
	}
	return strings.Join(l, ", ")
}

// TestGolden loads the files under testdata/ and compares the outcome (the
// error list, or the loaded spec as JSON) with the .golden file beside it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := Load(file)
			var got string
			if err != nil {
				got = err.Error() + "\n"
			} else {
				b, err := json.MarshalIndent(s, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = strings.ReplaceAll(string(b), abs, "$TESTDATA") + "\n"
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file:\n%s", file, got)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "portico.yaml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "spec: read ") {
		t.Errorf("err = %v", err)
	}
	var list ErrorList
	if errors.As(err, &list) {
		t.Errorf("a read failure is not an ErrorList")
	}
}

func TestErrorListFormat(t *testing.T) {
	l := ErrorList{{File: "p.yaml", Pos: Pos{3, 1}, Msg: "b"}, {File: "p.yaml", Pos: Pos{1, 2}, Msg: "a"}, {File: "p.yaml", Pos: Pos{3, 1}, Msg: "b"}}.sort()
	want := "p.yaml:1:2: a\np.yaml:3:1: b"
	if got := l.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestKnownRuntime(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"python3.6", true}, {"python3.12", true}, {"python3.14", true}, {"python3.5", false}, {"python3.15", false},
		{"python3.012", false}, {"python3.", false}, {"python2.7", false}, {"python3.x", false},
		{"nodejs18.x", true}, {"nodejs20.x", true}, {"nodejs22.x", true}, {"nodejs16.x", false}, {"nodejs20", false},
		{"provided", true}, {"provided.al2", true}, {"provided.al2023", true}, {"provided.al2024", false},
		{"go1.x", false}, {"", false}, {"PYTHON3.12", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KnownRuntime(tt.name); got != tt.want {
				t.Errorf("KnownRuntime(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestDeriveAPIID(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"", "a", "aiServicesHttpApi", "orders", "orders2"} {
		id := DeriveAPIID(name)
		if len(id) != 10 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Errorf("DeriveAPIID(%q) = %q, want 10 lower-case alphanumerics", name, id)
		}
		if id != DeriveAPIID(name) {
			t.Errorf("DeriveAPIID(%q) not deterministic", name)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("DeriveAPIID(%q) = DeriveAPIID(%q)", name, other)
		}
		seen[id] = name
	}
	// Pinned so that an accidental change of the derivation (which would
	// change every default host name and ARN) fails loudly.
	if got := DeriveAPIID("aiServicesHttpApi"); got != "w8t5m0ekrb" {
		t.Errorf("DeriveAPIID(aiServicesHttpApi) = %q", got)
	}
}
