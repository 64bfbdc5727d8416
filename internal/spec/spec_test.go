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
		"lambdaIntegration": {Name: "lambdaIntegration", Pos: Pos{23, 7}, Type: AWSProxy, Function: "aiServiceFunction", PayloadFormatVersion: "2.0", TimeoutInMillis: 30000, InvokeMode: "BUFFERED"},
		"modelServer":       {Name: "modelServer", Pos: Pos{24, 7}, Type: HTTPProxy, URI: "http://127.0.0.1:11434/{proxy}", Method: "ANY", PayloadFormatVersion: "1.0", TimeoutInMillis: 30000, InvokeMode: "BUFFERED"},
	}
	if !reflect.DeepEqual(a.Integrations, wantI) {
		t.Errorf("integrations = %s", jsonOf(a.Integrations))
	}
	wantR := map[string]*Route{
		"GET /":                {Key: "GET /", Pos: Pos{26, 7}, Method: "GET", Path: "/", Integration: "lambdaIntegration", AuthorizationType: "NONE"},
		"ANY /models/{proxy+}": {Key: "ANY /models/{proxy+}", Pos: Pos{27, 7}, Method: "ANY", Path: "/models/{proxy+}", Integration: "modelServer", AuthorizationType: "NONE"},
	}
	if !reflect.DeepEqual(a.Routes, wantR) {
		t.Errorf("routes = %s", jsonOf(a.Routes))
	}
	wantS := map[string]*Stage{"v1": {Name: "v1", Pos: Pos{29, 7}, AutoDeploy: true, StageVariables: map[string]string{"tier": "free"}, RouteSettings: map[string]*RouteSettings{}}}
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
				want := map[string]*Stage{"$default": {Name: "$default", Pos: Pos{4, 3}, AutoDeploy: true, StageVariables: map[string]string{}, RouteSettings: map[string]*RouteSettings{}}}
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
		{"runtime unsupported", "functions:\n  f: {runtime: java21, handler: a.b, code: app}\n", []string{`2:16: runtime: unsupported runtime "java21"; supported: python3.6 to python3.14, nodejs18.x to nodejs24.x, provided.al2023, provided.al2, provided`}},
		{"runtime typo", "functions:\n  f: {runtime: nodejs20, handler: a.b, code: app}\n", []string{`2:16: runtime: unsupported runtime "nodejs20" (did you mean "nodejs20.x"?); supported: python3.6 to python3.14, nodejs18.x to nodejs24.x, provided.al2023, provided.al2, provided`}},
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
		{"ephemeral storage too small", "functions:\n  f: {runtime: provided, code: app, ephemeralStorage: 256}\n", []string{`2:55: ephemeralStorage: must be 512 to 10240 MB, got 256`}},
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
		{"policy parsed: errors point inside it", "roles:\n  r:\n    policies:\n      - Version: '2012-10-17'\n        Statement:\n          - {Effect: Allow, Action: 's3:*', Resource: '*'}\n          - {Effect: Allow, Action: GetObject, Resource: '*'}\n      - {Version: '2012-10-17', Statement: {Effect: Allow, Action: 's3:*', Resource: '*', Condition: {StringLike: {s3:prefix: a*}, Bool: {aws:MultiFactorAuthPresent: true}}}}\n      - '{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{\"NumericBetween\":{\"s3:max-keys\":1}}}}'\n", []string{
			`7:29: policies[0]: policy: statement 1: Action "GetObject": want "service:name" (wildcards allowed) or "*"`,
			`8:139: policies[1]: policy: statement 0: Condition Bool: key "aws:MultiFactorAuthPresent" is not one Portico supplies (supported: aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:SecureTransport, aws:PrincipalArn, s3:prefix, s3:delimiter, s3:max-keys)`,
			`9:9: policies[2]: policy: statement 0: Condition operator "NumericBetween" is not supported (supported: ArnEquals, ArnLike, ArnNotEquals, ArnNotLike, Bool, DateEquals, DateGreaterThan, DateGreaterThanEquals, DateLessThan, DateLessThanEquals, DateNotEquals, IpAddress, NotIpAddress, NumericEquals, NumericGreaterThan, NumericGreaterThanEquals, NumericLessThan, NumericLessThanEquals, NumericNotEquals, StringEquals, StringEqualsIgnoreCase, StringLike, StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike, Null, each with IfExists and ForAnyValue:/ForAllValues:)`}},
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
		{"bad protocol", "apis:\n  a: {protocolType: REST}\n", []string{`2:21: protocolType: must be HTTP or WEBSOCKET, got "REST"`}},
		{"bad api id", "apis:\n  a: {id: ABC}\n", []string{`2:11: id: must be 1 to 63 lower-case letters or digits, got "ABC"`}},
		{"duplicate api id", "apis:\n  a: {id: abc}\n  b: {id: abc}\n", []string{`3:11: api "b": id "abc" is also the id of api "a"`}},
		{"integration type missing", "apis:\n  a:\n    integrations:\n      i: {uri: 'http://x'}\n", []string{`4:7: integration "i": type is required (AWS_PROXY or HTTP_PROXY)`}},
		{"integration type unknown", "apis:\n  a:\n    integrations:\n      i: {type: AWS, function: f}\n", []string{`4:17: type: must be AWS_PROXY or HTTP_PROXY, got "AWS"`}},
		{"integration type typo", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXI, uri: 'http://x'}\n", []string{`4:17: type: must be AWS_PROXY or HTTP_PROXY, got "HTTP_PROXI" (did you mean "HTTP_PROXY"?)`}},
		{"aws proxy without function", "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY}\n", []string{`4:7: integration "i": function is required for AWS_PROXY`}},
		{"aws proxy unknown function", fn + "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fm}\n", []string{`6:38: function: no function named "fm"`}},
		{"aws proxy with uri and method", fn + "apis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fn, uri: 'http://x', method: GET}\n", []string{
			`6:47: uri: not used by AWS_PROXY integrations (name the function with function)`, `6:67: method: not used by AWS_PROXY integrations`}},
		{"http proxy without uri", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY}\n", []string{`4:7: integration "i": uri (or upstreams) is required for HTTP_PROXY`}},
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

		// Access control and throttling.
		{"number wrong type", "account: {throttlingRateLimit: fast}\n", []string{
			`1:32: throttlingRateLimit: expected a number, got string "fast"`}},
		{"number bool", "account: {throttlingRateLimit: true}\n", []string{
			`1:32: throttlingRateLimit: expected a number, got boolean true`}},
		{"number nan", "account: {throttlingRateLimit: .nan}\n", []string{
			`1:32: throttlingRateLimit: expected a finite number, got .nan`}},
		{"nested not a mapping", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    cors: [x]\n", []string{
			`4:11: cors: expected a mapping, got a list`}},
		{"nested unknown field", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    cors: {allowOrigin: ['*'], maxAge: 5}\n", []string{
			`4:12: unknown field "allowOrigin" in cors (did you mean "allowOrigins"?)`}},
		{"nested error keeps siblings", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    cors: {maxAge: x, allowMethods: [get]}\n", []string{
			`4:20: maxAge: expected an integer, got string "x"`,
			`4:38: allowMethods[0]: must be one of GET POST PUT PATCH DELETE HEAD OPTIONS or "*", got "get" (methods are upper case: GET)`}},
		{"object list not a list", "usagePlans:\n  p: {apiStages: {api: a}}\n", []string{
			`2:18: apiStages: expected a list, got a mapping`}},
		{"object list element not a mapping", "usagePlans:\n  p: {apiStages: [a/v1]}\n", []string{
			`2:19: apiStages[0]: expected a mapping, got string "a/v1"`}},
		{"route settings not a mapping", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages:\n      v1: {routeSettings: {$default: 5}}\n", []string{
			`5:38: route settings "$default": expected a mapping, got integer 5`}},
		{"authorizer type missing", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {}\n", []string{
			`5:7: authorizer "x": type is required (JWT or REQUEST)`}},
		{"authorizer type unknown", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: JWTT}\n", []string{
			`5:17: type: must be JWT or REQUEST, got "JWTT" (did you mean "JWT"?)`}},
		{"jwt without configuration", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: JWT}\n", []string{
			`5:7: authorizer "x": jwtConfiguration is required for JWT authorizers`}},
		{"jwt issuer and audience", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: JWT, jwtConfiguration: {issuer: 'http://idp.example.com', audience: []}}\n      y: {type: JWT, jwtConfiguration: {audience: ['']}}\n      z: {type: JWT, jwtConfiguration: {issuer: 'idp.example.com', audience: [a]}}\n", []string{
			`5:49: issuer: "http://idp.example.com": must use https:// (http:// is accepted only for localhost, 127.0.0.1 and [::1])`,
			`5:85: jwtConfiguration: audience needs 1 to 50 entries, got 0`,
			`6:40: jwtConfiguration: issuer is required`,
			`6:52: audience[0]: must not be empty`,
			`7:49: issuer: "idp.example.com" is not an absolute URL; want https://HOST[/PATH]`}},
		{"jwt too many audiences", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, a33, a34, a35, a36, a37, a38, a39, a40, a41, a42, a43, a44, a45, a46, a47, a48, a49, a50]}}\n", []string{
			`5:72: jwtConfiguration: audience needs 1 to 50 entries, got 51`}},
		{"jwt identity sources", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: JWT, identitySource: [$request.header.A, $request.header.B], jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n      y: {type: JWT, identitySource: [$context.x], jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n      z: {type: JWT, identitySource: [method.request.header.Authorization], jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n", []string{
			`5:38: identitySource: a JWT authorizer takes exactly one identity source, got 2`,
			`6:39: identitySource[0]: a JWT authorizer reads the token from $request.header.NAME or $request.querystring.NAME, got "$context.x"`,
			`7:39: identitySource[0]: a JWT authorizer reads the token from $request.header.NAME or $request.querystring.NAME, got "method.request.header.Authorization" (did you mean "$request.header.Authorization"?)`}},
		{"jwt with request fields", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: JWT, function: fn, authorizerPayloadFormatVersion: '2.0', enableSimpleResponses: true, authorizerResultTtlInSeconds: 5, jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n", []string{
			`7:32: function: not used by JWT authorizers`,
			`7:68: authorizerPayloadFormatVersion: not used by JWT authorizers`,
			`7:98: enableSimpleResponses: not used by JWT authorizers`,
			`7:134: authorizerResultTtlInSeconds: not used by JWT authorizers`}},
		{"request without function", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: REQUEST}\n      y: {type: REQUEST, function: fm}\n", []string{
			`5:7: authorizer "x": function is required for REQUEST authorizers`,
			`6:36: function: no function named "fm"`}},
		{"request payload and simple responses", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: REQUEST, function: fn, authorizerPayloadFormatVersion: '3.0'}\n      y: {type: REQUEST, function: fn, authorizerPayloadFormatVersion: '1.0', enableSimpleResponses: true}\n", []string{
			`7:72: authorizerPayloadFormatVersion: must be "1.0" or "2.0", got "3.0"`,
			`8:102: enableSimpleResponses: only with authorizerPayloadFormatVersion "2.0"`}},
		{"request identity sources", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: REQUEST, function: fn, identitySource: [$request.headers.Auth, request.querystring.q, '$context.', Authorization, $stageVariables.a-b]}\n", []string{
			`7:57: identitySource[0]: "$request.headers.Auth" is not $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME (did you mean "$request.header.Auth"?)`,
			`7:80: identitySource[1]: "request.querystring.q" is not $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME (did you mean "$request.querystring.q"?)`,
			`7:103: identitySource[2]: "$context." is not $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME`,
			`7:116: identitySource[3]: "Authorization" is not $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME`,
			`7:131: identitySource[4]: "$stageVariables.a-b" is not $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME`}},
		{"request ttl", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: REQUEST, function: fn, authorizerResultTtlInSeconds: 3601, identitySource: [$request.header.A]}\n      y: {type: REQUEST, function: fn, authorizerResultTtlInSeconds: 10}\n      z: {type: REQUEST, function: fn, authorizerResultTtlInSeconds: -1}\n", []string{
			`7:70: authorizerResultTtlInSeconds: must be 0 to 3600, got 3601`,
			`8:70: authorizerResultTtlInSeconds: caching needs at least one identitySource (the cache key); set it to 0 or add an identity source`,
			`9:70: authorizerResultTtlInSeconds: must be 0 to 3600, got -1`}},
		{"request with jwt configuration", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      x: {type: REQUEST, function: fn, jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n", []string{
			`7:58: jwtConfiguration: not used by REQUEST authorizers`}},
		{"route authorization type", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /a: {integration: i, authorizationType: IAM}\n      GET /b: {integration: i, authorizationType: REQUEST}\n      GET /c: {integration: i, authorizationType: jwt}\n", []string{
			`5:51: authorizationType: must be NONE, JWT, CUSTOM or AWS_IAM, got "IAM" (did you mean "AWS_IAM"?)`,
			`6:51: authorizationType: must be NONE, JWT, CUSTOM or AWS_IAM, got "REQUEST" (a Lambda REQUEST authorizer is used with CUSTOM)`,
			`7:51: authorizationType: must be NONE, JWT, CUSTOM or AWS_IAM, got "jwt" (did you mean "JWT"?)`}},
		{"route authorizer required", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /a: {integration: i, authorizationType: JWT}\n      GET /b: {integration: i, authorizationType: CUSTOM}\n", []string{
			`5:51: route "GET /a": authorizer is required for authorizationType JWT`,
			`6:51: route "GET /b": authorizer is required for authorizationType CUSTOM`}},
		{"route authorizer unknown", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      cognito: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n    routes:\n      GET /a: {integration: i, authorizationType: JWT, authorizer: cognit}\n", []string{
			`7:68: authorizer: no authorizer named "cognit" in api "a" (did you mean "cognito"?)`}},
		{"route authorizer type mismatch", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      j: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n      l: {type: REQUEST, function: fn}\n    routes:\n      GET /a: {integration: i, authorizationType: JWT, authorizer: l}\n      GET /b: {integration: i, authorizationType: CUSTOM, authorizer: j}\n", []string{
			`10:68: authorizer: authorizationType JWT needs a JWT authorizer; "l" is a REQUEST authorizer (use authorizationType CUSTOM)`,
			`11:71: authorizer: authorizationType CUSTOM needs a REQUEST authorizer; "j" is a JWT authorizer (use authorizationType JWT)`}},
		{"route authorizer without type", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      j: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n    routes:\n      GET /a: {integration: i, authorizer: j}\n      GET /b: {integration: i, authorizationType: AWS_IAM, authorizer: j}\n", []string{
			`7:44: authorizer: not used with authorizationType NONE; set authorizationType to JWT or CUSTOM`,
			`8:72: authorizer: not used with authorizationType AWS_IAM; set authorizationType to JWT or CUSTOM`}},
		{"route scopes", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    authorizers:\n      j: {type: JWT, jwtConfiguration: {issuer: 'https://i', audience: [a]}}\n    routes:\n      GET /a: {integration: i, authorizationScopes: [read]}\n      GET /b: {integration: i, authorizationType: JWT, authorizer: j, authorizationScopes: [s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11]}\n      GET /c: {integration: i, authorizationType: JWT, authorizer: j, authorizationScopes: ['a b']}\n", []string{
			`7:53: authorizationScopes: only for authorizationType JWT`,
			`8:92: authorizationScopes: at most 10, got 11`,
			`9:93: authorizationScopes[0]: "a b": a scope is a non-empty word without spaces`}},
		{"api key required without plan", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /a: {integration: i, apiKeyRequired: true}\n      GET /b: {integration: i, apiKeyRequired: false}\n", []string{
			`5:48: apiKeyRequired: no usage plan covers api "a"; keys could never be accepted`}},
		{"cors origins", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    cors:\n      allowOrigins: ['https://a.com/', 'https://a.com/x', 'a.com', 'https://a.com:99999', '*.a.com', 'https://*.a.com', 'http://*']\n", []string{
			`5:22: allowOrigins[0]: "https://a.com/" is not an origin: an origin has no path (drop the trailing "/")`,
			`5:40: allowOrigins[1]: "https://a.com/x" is not an origin; want "*", "http://*", "https://*" or scheme://host[:port] with no path`,
			`5:59: allowOrigins[2]: "a.com" is not an origin; want "*", "http://*", "https://*" or scheme://host[:port] with no path`,
			`5:68: allowOrigins[3]: "https://a.com:99999": port must be 1 to 65535`,
			`5:91: allowOrigins[4]: "*.a.com" is not an origin; want "*", "http://*", "https://*" or scheme://host[:port] with no path`,
			`5:102: allowOrigins[5]: "https://*.a.com": wildcard hosts are not supported; list each origin, or use "https://*"`}},
		{"cors methods and headers", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    cors: {allowMethods: [get, FETCH, '*'], allowHeaders: ['X Y', '*'], exposeHeaders: ['a:b'], maxAge: 86401}\n", []string{
			`4:27: allowMethods[0]: must be one of GET POST PUT PATCH DELETE HEAD OPTIONS or "*", got "get" (methods are upper case: GET)`,
			`4:32: allowMethods[1]: must be one of GET POST PUT PATCH DELETE HEAD OPTIONS or "*", got "FETCH"`,
			`4:60: allowHeaders[0]: "X Y" is not a header name (or "*")`,
			`4:89: exposeHeaders[0]: "a:b" is not a header name (or "*")`,
			`4:105: maxAge: must be -1 to 86400 seconds, got 86401`}},
		{"cors max age low", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    cors: {maxAge: -2}\n", []string{
			`4:20: maxAge: must be -1 to 86400 seconds, got -2`}},
		{"route settings unknown route", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    routes:\n      GET /pets: {integration: i}\n    stages:\n      v1:\n        routeSettings:\n          GET /pet: {throttlingRateLimit: 1}\n          $default: {}\n", []string{
			`9:11: routeSettings: no route "GET /pet" in api "a" (did you mean "GET /pets"?)`}},
		{"negative throttles", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages:\n      v1:\n        defaultRouteSettings: {throttlingRateLimit: -1.5, throttlingBurstLimit: -1}\n        routeSettings:\n          $default: {throttlingBurstLimit: -2}\naccount: {throttlingRateLimit: -1, throttlingBurstLimit: -1}\n", []string{
			`6:53: throttlingRateLimit: must be 0 or more, got -1.5`,
			`6:81: throttlingBurstLimit: must be 0 or more, got -1`,
			`8:44: throttlingBurstLimit: must be 0 or more, got -2`,
			`9:32: throttlingRateLimit: must be 0 or more, got -1`,
			`9:58: throttlingBurstLimit: must be 0 or more, got -1`}},
		{"access key fields", "roles:\n  invoker: {}\naccessKeys:\n  a: {}\n  b: {accessKeyId: akia123, secretAccessKey: short, role: invokr}\n", []string{
			`4:3: access key "a": accessKeyId is required`,
			`4:3: access key "a": role is required (its policies decide what the key may invoke)`,
			`4:3: access key "a": secretAccessKey is required`,
			`5:20: accessKeyId: must be 16 to 128 upper-case letters and digits, got "akia123"`,
			`5:46: secretAccessKey: must be at least 16 characters, got 5`,
			`5:59: role: no role named "invokr" (did you mean "invoker"?)`}},
		{"access key duplicate id", "roles:\n  r: {}\naccessKeys:\n  a: {accessKeyId: AKIAAAAAAAAAAAAAAAAA, secretAccessKey: 0123456789abcdef, role: r}\n  b: {accessKeyId: AKIAAAAAAAAAAAAAAAAA, secretAccessKey: 0123456789abcdef, role: r}\n", []string{
			`5:20: accessKeyId: "AKIAAAAAAAAAAAAAAAAA" is also the id of access key "a"`}},
		{"usage plan throttle and quota", "usagePlans:\n  p: {throttle: {rateLimit: -1, burstLimit: -5}, quota: {limit: 0, period: day}}\n  q: {quota: {}}\n  r: {quota: {limit: 5, period: YEAR}}\n", []string{
			`2:29: rateLimit: must be 0 or more, got -1`,
			`2:45: burstLimit: must be 0 or more, got -5`,
			`2:65: limit: must be 1 or more, got 0`,
			`2:76: period: must be DAY, WEEK or MONTH, got "day" (did you mean "DAY"?)`,
			`3:14: quota: limit is required (requests per period, 1 or more)`,
			`3:14: quota: period is required (DAY, WEEK or MONTH)`,
			`4:33: period: must be DAY, WEEK or MONTH, got "YEAR"`}},
		{"usage plan api stages", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages: {v1: {}}\nusagePlans:\n  p:\n    apiStages:\n      - {api: b, stage: v1}\n      - {api: a, stage: v2}\n      - {stage: v1}\n      - {api: a}\n      - {api: a, stage: v1}\n      - {api: a, stage: v1}\n", []string{
			`8:15: apiStages[0].api: no api named "b"`,
			`9:25: apiStages[1].stage: no stage named "v2" in api "a"`,
			`10:9: apiStages[2]: api is required`,
			`11:9: apiStages[3]: stage is required`,
			`13:9: apiStages[5]: api "a" stage "v1" is already listed at apiStages[4]`}},
		{"usage plan default stage", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\nusagePlans:\n  p: {apiStages: [{api: a, stage: $default}, {api: a, stage: prod}]}\n", []string{
			`5:62: apiStages[1].stage: no stage named "prod" in api "a"`}},
		{"api key plan", "usagePlans:\n  gold: {}\napiKeys:\n  a: {}\n  b: {plan: gld}\n", []string{
			`4:3: api key "a": plan is required (a key on no usage plan is never accepted)`,
			`5:13: plan: no usage plan named "gld" (did you mean "gold"?)`}},
		{"api key value", "usagePlans:\n  p: {}\napiKeys:\n  a: {plan: p, value: short}\n  b: {plan: p, value: 'has a space in it, twenty+'}\n  c: {plan: p, value: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'}\n  d: {plan: p, value: 01234567890123456789}\n  e: {plan: p, value: '01234567890123456789'}\n", []string{
			`4:23: value: must be 20 to 128 printable ASCII characters without spaces, got 5 characters`,
			`5:23: value: must be printable ASCII without spaces; byte 3 is ' '`,
			`6:23: value: must be 20 to 128 printable ASCII characters without spaces, got 129 characters`,
			`8:23: value: same value as api key "d"`}},
		// New in this round: streaming, concurrency, upstreams, tokens, access logs, storage.
		{"int64 decode", "usagePlans:\n  p:\n    tokenLimits: {perMinute: 99999999999999999999, perDay: ten}\n", []string{
			`3:30: perMinute: integer 99999999999999999999 out of range`,
			`3:60: perDay: expected an integer, got string "ten"`}},
		{"int64 decode large ok and zero", "usagePlans:\n  p:\n    tokenLimits: {perMinute: 0, perDay: 9223372036854775807}\n  q:\n    tokenLimits: {}\n  r:\n    tokenLimits: {perDay: -5}\n", []string{
			`3:30: perMinute: must be 1 or more, got 0`,
			`5:18: tokenLimits: give perMinute, perDay or both`,
			`7:27: perDay: must be 1 or more, got -5`}},
		{"invoke mode", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations:\n      s: {type: AWS_PROXY, function: fn, invokeMode: STREAM}\n      t: {type: AWS_PROXY, function: fn, invokeMode: RESPONSE_STREAM, payloadFormatVersion: '1.0'}\n      h: {type: HTTP_PROXY, uri: 'http://h', invokeMode: RESPONSE_STREAM}\n      b: {type: AWS_PROXY, function: fn, invokeMode: buffered}\n", []string{
			`6:54: invokeMode: must be BUFFERED or RESPONSE_STREAM, got "STREAM"`,
			`7:54: invokeMode: RESPONSE_STREAM needs payloadFormatVersion "2.0"`,
			`8:58: invokeMode: RESPONSE_STREAM is only for AWS_PROXY integrations (HTTP_PROXY responses are forwarded as they arrive)`,
			`9:54: invokeMode: must be BUFFERED or RESPONSE_STREAM, got "buffered" (did you mean "BUFFERED"?)`}},
		{"idle timeout", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', idleTimeoutInMillis: 0}\n      j: {type: HTTP_PROXY, uri: 'http://h', idleTimeoutInMillis: 900001}\n", []string{
			`4:67: idleTimeoutInMillis: must be 1 to 900000, got 0`,
			`5:67: idleTimeoutInMillis: must be 1 to 900000, got 900001`}},
		{"concurrency ranges", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', maxConcurrency: 0, maxQueue: -1, queueTimeoutInMillis: 0}\n      j: {type: HTTP_PROXY, uri: 'http://h', maxConcurrency: 1, maxQueue: 100001, queueTimeoutInMillis: 900001}\n", []string{
			`4:62: maxConcurrency: must be 1 or more, got 0`,
			`4:75: maxQueue: must be 0 to 100000, got -1`,
			`4:101: queueTimeoutInMillis: must be 1 to 900000, got 0`,
			`5:75: maxQueue: must be 0 to 100000, got 100001`,
			`5:105: queueTimeoutInMillis: must be 1 to 900000, got 900001`}},
		{"queue without concurrency", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', maxQueue: 5, queueTimeoutInMillis: 100}\n      j: {type: HTTP_PROXY, uri: 'http://h', maxConcurrency: x, maxQueue: 5}\n", []string{
			`4:56: maxQueue: only with maxConcurrency (the queue holds requests beyond the cap)`,
			`4:81: queueTimeoutInMillis: only with maxConcurrency (the queue holds requests beyond the cap)`,
			`5:62: maxConcurrency: expected an integer, got string "x"`}},
		{"upstreams and uri", "apis:\n  a:\n    integrations:\n      i: {type: HTTP_PROXY, uri: 'http://h', upstreams: [{uri: 'http://u'}]}\n      j: {type: HTTP_PROXY, upstreams: []}\n", []string{
			`4:34: uri: give either uri or upstreams, not both`,
			`5:40: upstreams: must list 1 to 16 upstreams, got 0`}},
		{"upstreams on aws proxy", "functions:\n  fn: {runtime: python3.12, handler: app.main, code: app}\napis:\n  a:\n    integrations:\n      i: {type: AWS_PROXY, function: fn, upstreams: [{uri: 'http://u'}], openAICompatible: true}\n", []string{
			`6:53: upstreams: not used by AWS_PROXY integrations`,
			`6:92: openAICompatible: only for HTTP_PROXY integrations`}},
		{"upstream fields", "apis:\n  a:\n    integrations:\n      i:\n        type: HTTP_PROXY\n        upstreams:\n          - {priority: -1, weight: 0}\n          - {uri: 'ftp://x', weight: 1001}\n          - {uri: 'http://x/${foo}'}\n          - nope\n", []string{
			`7:13: upstreams[0]: uri is required`,
			`7:24: upstreams[0].priority: must be 0 or more, got -1`,
			`7:36: upstreams[0].weight: must be 1 to 1000, got 0`,
			`8:19: upstreams[1].uri: "ftp://x" must be an absolute http:// or https:// URL`,
			`8:38: upstreams[1].weight: must be 1 to 1000, got 1001`,
			`9:19: upstreams[2].uri: unknown variable ${foo}; only ${stageVariables.name} and {name} are allowed`,
			`10:13: upstreams[3]: expected a mapping, got string "nope"`}},
		{"too many upstreams", "apis:\n  a:\n    integrations:\n      i:\n        type: HTTP_PROXY\n        upstreams: [{uri: 'http://h0'}, {uri: 'http://h1'}, {uri: 'http://h2'}, {uri: 'http://h3'}, {uri: 'http://h4'}, {uri: 'http://h5'}, {uri: 'http://h6'}, {uri: 'http://h7'}, {uri: 'http://h8'}, {uri: 'http://h9'}, {uri: 'http://h10'}, {uri: 'http://h11'}, {uri: 'http://h12'}, {uri: 'http://h13'}, {uri: 'http://h14'}, {uri: 'http://h15'}, {uri: 'http://h16'}]\n", []string{
			`6:20: upstreams: must list 1 to 16 upstreams, got 17`}},
		{"upstream path variables", "apis:\n  a:\n    integrations:\n      i:\n        type: HTTP_PROXY\n        upstreams: [{uri: 'http://a/{id}'}, {uri: 'http://b/{name}'}]\n    routes:\n      GET /x/{id}: {integration: i}\n", []string{
			`8:34: integration: upstreams[1].uri of "i" uses {name}, which is not a path variable of route "GET /x/{id}"`}},
		{"route token limits need openai", "apis:\n  a:\n    integrations:\n      plain: {type: HTTP_PROXY, uri: 'http://h'}\n      llm: {type: HTTP_PROXY, uri: 'http://m', openAICompatible: true}\n    routes:\n      GET /p: {integration: plain}\n      POST /v1/chat/completions: {integration: llm}\n    stages:\n      v1:\n        routeSettings:\n          GET /p: {tokenLimits: {perMinute: 10}}\n          POST /v1/chat/completions: {tokenLimits: {perMinute: 0}}\n", []string{
			`12:33: tokenLimits: route "GET /p" uses integration "plain", which is not openAICompatible; tokens could never be counted`,
			`13:64: perMinute: must be 1 or more, got 0`}},
		{"default token limits need openai", "apis:\n  a:\n    integrations:\n      plain: {type: HTTP_PROXY, uri: 'http://h'}\n    routes:\n      GET /p: {integration: plain}\n    stages:\n      v1:\n        defaultRouteSettings: {tokenLimits: {perDay: 1000}}\n", []string{
			`9:45: tokenLimits: no route of api "a" uses an openAICompatible integration; tokens could never be counted`}},
		{"access log format", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages:\n      v1:\n        accessLogSettings: {format: '$context.stauts $context.identity.sourceIP $context.foo $context.foo $context'}\n", []string{
			`6:37: format: "$context" must be followed by .NAME (a variable such as $context.requestId)`,
			`6:37: format: must include at least $context.requestId or $context.extendedRequestId (as on AWS)`,
			`6:37: format: unknown variable $context.foo; see docs/spec.md for the supported $context variables`,
			`6:37: format: unknown variable $context.identity.sourceIP (did you mean "$context.identity.sourceIp"?); see docs/spec.md for the supported $context variables`,
			`6:37: format: unknown variable $context.stauts (did you mean "$context.status"?); see docs/spec.md for the supported $context variables`}},
		{"access log format too long and multiline", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages:\n      v1:\n        accessLogSettings: {format: \"$context.requestId\\n$context.status\"}\n      v2:\n        accessLogSettings: {format: '$context.requestId " + strings.Repeat("x", 3060) + "'}\n", []string{
			`6:37: format: must be one line (no line breaks)`,
			`8:37: format: at most 3072 bytes, got 3079`}},
		{"access log destination", "apis:\n  a:\n    integrations: {i: {type: HTTP_PROXY, uri: 'http://h'}}\n    stages:\n      v1: {accessLogSettings: {destination: STDOUT}}\n      v2: {accessLogSettings: {destination: nope/access.log}}\n      v3: {accessLogSettings: {destination: app}}\n      v4: {accessLogSettings: {destination: file/x.log}}\n      v5: {accessLogSettings: {destination: ''}}\n", []string{
			`5:45: destination: "STDOUT": the streams are lower case (did you mean "stdout"?)`,
			`6:45: destination: directory "nope" of the log file does not exist`,
			`7:45: destination: "app" is a directory; want a file path`,
			`8:45: destination: "file" of the log file is not a directory`,
			`9:45: destination: must be stdout, stderr or a file path`}},
		{"bucket contents", "buckets:\n  bkt1: {contents: nope}\n  bkt2: {contents: file}\n  bkt3: {contents: ''}\n", []string{
			`2:20: contents: directory "nope" does not exist`,
			`3:20: contents: "file" is not a directory`,
			`4:20: contents: must name a directory (relative to the spec file)`}},
		{"storage", "storage: {endpoint: 'https://s3.example.com/bucket', region: 'us east', accessKeyId: AKIA}\n", []string{
			`1:10: storage: accessKeyId and secretAccessKey are required: functions sign their S3 requests with them`,
			`1:21: endpoint: "https://s3.example.com/bucket" must be scheme://host[:port] without a path, query or credentials (buckets are addressed below it)`,
			`1:62: region: must be a region name such as us-east-1, got "us east"`}},
		{"storage endpoint", "storage: {endpoint: 'ftp://s3', accessKeyId: AKIA, secretAccessKey: s}\n", []string{
			`1:21: endpoint: "ftp://s3" is not an absolute http:// or https:// URL`}},
		{"storage without endpoint", "storage: {secretAccessKey: s}\n", []string{
			`1:10: storage: accessKeyId and secretAccessKey are required: functions sign their S3 requests with them`,
			`1:10: storage: endpoint is required (the S3-compatible service's URL, e.g. https://s3.eu-west-1.amazonaws.com)`}},
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
