package pulumiyaml

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const seedDir = "../../examples/seed-pulumi-yaml"

// scrub zeroes every spec.Pos and makes paths relative to their spec's
// directory, so that two loads of the same system compare equal.
func scrub(t *testing.T, s *spec.Spec) string {
	t.Helper()
	for _, f := range s.Functions {
		f.Code = filepath.Base(f.Code)
	}
	for _, b := range s.Buckets {
		b.Contents = filepath.Base(b.Contents)
	}
	zeroPos(reflect.ValueOf(s))
	view := map[string]any{"functions": s.Functions, "roles": s.Roles, "buckets": s.Buckets, "apis": s.APIs}
	b, err := json.MarshalIndent(view, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func zeroPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			zeroPos(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(spec.Pos{}) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				zeroPos(v.Field(i))
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			zeroPos(v.MapIndex(k))
		}
	case reflect.Slice:
		for i := range v.Len() {
			zeroPos(v.Index(i))
		}
	}
}

func TestSeedEqualsYAMLSpec(t *testing.T) {
	p, err := Load(seedDir, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want, err := spec.Load("../../examples/seed/portico.yaml")
	if err != nil {
		t.Fatalf("spec.Load: %v", err)
	}
	if got, w := scrub(t, p.Spec), scrub(t, want); got != w {
		t.Errorf("model differs from examples/seed/portico.yaml\n got: %s\nwant: %s", got, w)
	}
	if len(p.Outputs) != 1 || p.Outputs[0] != (Output{Name: "api_endpoint", Value: "http://127.0.0.1:8080"}) {
		t.Errorf("outputs = %+v", p.Outputs)
	}
	if p.Name != "seed-pulumi-yaml" {
		t.Errorf("name = %q", p.Name)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings = %q, want none (a Permission is accepted without effect)", p.Warnings)
	}
	golden := filepath.Join("testdata", "seed.spec.yaml")
	if *update {
		if err := os.WriteFile(golden, p.SpecText, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if string(g) != string(p.SpecText) {
		t.Errorf("generated spec differs from %s (run with -update)\n%s", golden, p.SpecText)
	}
}

func TestAPIEndpointOption(t *testing.T) {
	p, err := Load(seedDir, Options{APIEndpoint: func(api string) string { return "http://h/" + api }})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Outputs[0].Value; got != "http://h/aiServicesHttpApi" {
		t.Errorf("api_endpoint = %q", got)
	}
}

// program writes a Pulumi.yaml (and an app/ directory) into a temporary
// directory.
func program(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const head = "name: p\nruntime: yaml\nresources:\n"

// fn is a minimal valid function, at lines 4-9 of a program starting with head.
const fn = `  fn:
    type: aws:lambda/function:Function
    properties:
      runtime: python3.12
      handler: h.main
      code: {fn::fileArchive: ./app}
`

func TestLoad(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		wantErr  string // "" means success; else "line:col: substring"
		wantWarn string
		check    func(t *testing.T, s *spec.Spec)
	}{
		{name: "minimal function, long type token", text: head + fn,
			check: func(t *testing.T, s *spec.Spec) {
				if s.Functions["fn"] == nil || s.Functions["fn"].Runtime != "python3.12" {
					t.Errorf("functions = %+v", s.Functions)
				}
			}},
		{name: "unsupported types are one warning", text: head + fn +
			"  zone:\n    type: aws:route53:Zone\n  q:\n    type: aws:sqs/queue:Queue\n",
			wantWarn: "unsupported resource types, skipped: zone (aws:route53:Zone, Pulumi.yaml:10:3), q (aws:sqs/queue:Queue, Pulumi.yaml:12:3)"},
		{name: "reference to an undefined resource", text: head + fn + "      role: ${nope.arn}\n",
			wantErr: "10:13: ${nope.arn}: no resource or variable named \"nope\""},
		{name: "undefined output", text: head + fn + "      handler2: ${fn.nope}\n",
			wantErr: "10:17: resource fn (aws:lambda:Function) has no output \"nope\"", wantWarn: "fn.handler2"},
		{name: "wrong type: timeout", text: head + fn + "      timeout: soon\n",
			wantErr: "10:16: resource fn: timeout must be an integer, not a string"},
		{name: "wrong type: runtime", text: head + fn + "      memorySize: 256\n      environment: [a]\n",
			wantErr: "11:20: resource fn: environment must be a mapping"},
		{name: "wrong type: code", text: strings.Replace(head+fn, "{fn::fileArchive: ./app}", "./app", 1),
			wantErr: "9:13: resource fn: code must be an archive"},
		{name: "archive path does not exist", text: strings.Replace(head+fn, "./app}", "./nope}", 1),
			wantErr: "9:31: (spec) code: directory \"nope\" does not exist"},
		{name: "role is not a role", text: head + fn + "      role: arn:aws:iam::1:role/x\n",
			wantErr: "10:13: resource fn: role \"arn:aws:iam::1:role/x\" does not refer to a aws:iam:Role"},
		{name: "route target is not an integration", text: head + fn + `  api:
    type: aws:apigatewayv2:Api
    properties: {protocolType: HTTP}
  r:
    type: aws:apigatewayv2:Route
    properties:
      apiId: ${api.id}
      routeKey: GET /
      target: integrations/${fn.id}
`, wantErr: "18:15: resource r: target \"integrations/fn\" must be integrations/ID"},
		{name: "bad route key is reported by the spec, in the program", text: head + fn + `  api:
    type: aws:apigatewayv2:Api
  i:
    type: aws:apigatewayv2:Integration
    properties:
      apiId: ${api.id}
      integrationType: AWS_PROXY
      integrationUri: ${fn.arn}
  r:
    type: aws:apigatewayv2:Route
    properties:
      apiId: ${api.id}
      routeKey: FETCH /
      target: integrations/${i.id}
`, wantErr: "22:17: (spec) route key \"FETCH /\""},
		{name: "runtime is not yaml", text: "name: p\nruntime: go\n", wantErr: "2:10: project: runtime \"go\""},
		{name: "resource without type", text: head + "  x:\n    properties: {}\n", wantErr: "4:3: resource x: type is required"},
		{name: "unknown builtin", text: head + fn + "      handler2: {fn::readFile: x}\n", wantErr: "10:18: unsupported function fn::readFile", wantWarn: "x"},
		{name: "variable cycle", text: "name: p\nruntime: yaml\nvariables:\n  a: ${b}\n  b: ${a}\noutputs:\n  o: ${a}\n", wantErr: "refers to itself"},
		{name: "join, toJSON and variables", text: "name: p\nruntime: yaml\nvariables:\n  parts: [a, b]\n" +
			"  doc: {fn::toJSON: {k: [1, true]}}\nresources:\n" + fn[:len(fn)-1] + "\n      environment:\n        variables:\n" +
			"          JJ: {fn::join: [\"-\", \"${parts}\"]}\n          DD: ${doc}\n          EE: $${literal}\n",
			check: func(t *testing.T, s *spec.Spec) {
				want := map[string]string{"JJ": "a-b", "DD": `{"k":[1,true]}`, "EE": "${literal}"}
				if !reflect.DeepEqual(s.Functions["fn"].Environment, want) {
					t.Errorf("environment = %v, want %v", s.Functions["fn"].Environment, want)
				}
			}},
		{name: "integration defaults to payload format 1.0", text: head + fn + `  api:
    type: aws:apigatewayv2:Api
  i:
    type: aws:apigatewayv2:Integration
    properties:
      apiId: ${api.id}
      integrationType: AWS_PROXY
      integrationUri: ${fn.invokeArn}
      timeoutMilliseconds: 5000
`, check: func(t *testing.T, s *spec.Spec) {
			i := s.APIs["api"].Integrations["i"]
			if i.PayloadFormatVersion != "1.0" || i.Function != "fn" || i.TimeoutInMillis != 5000 {
				t.Errorf("integration = %+v", i)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := program(t, tt.text)
			p, err := Load(dir, Options{})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Load succeeded, want error %q", tt.wantErr)
				}
				var list spec.ErrorList
				if !errors.As(err, &list) {
					t.Fatalf("error %T is not a spec.ErrorList: %v", err, err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error:\n%v\nwant it to contain %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "Pulumi.yaml:") {
					t.Errorf("error not positioned in the program: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tt.wantWarn != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), tt.wantWarn) {
				t.Errorf("warnings = %q, want %q", p.Warnings, tt.wantWarn)
			}
			if tt.check != nil {
				tt.check(t, p.Spec)
			}
		})
	}
}

func TestMissingProject(t *testing.T) {
	if _, err := Load(t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "read project") {
		t.Errorf("err = %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join(seedDir, "Pulumi.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add(head + fn)
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Load(dir, Options{})
		if (p == nil) == (err == nil) {
			t.Fatalf("Load returned %v, %v", p, err)
		}
	})
}

func TestBareBucketReference(t *testing.T) {
	text := head + fn + "      environment:\n        variables: {BUCKET: \"${b}\"}\n  b:\n    type: aws:s3/bucketV2:BucketV2\n    properties: {bucket: data}\n"
	p, err := Load(program(t, text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Spec.Functions["fn"].Environment["BUCKET"]; got != "data" || p.Spec.Buckets["data"] == nil {
		t.Errorf("BUCKET = %q, buckets = %v", got, p.Spec.Buckets)
	}
}

func TestRuntimeMappingWithoutName(t *testing.T) {
	if _, err := Load(program(t, "name: p\nruntime: {options: {}}\n"), Options{}); err == nil || !strings.Contains(err.Error(), "want yaml") {
		t.Errorf("err = %v", err)
	}
}
