package pulumirun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
)

// The programs under testdata/programs are real Pulumi Go programs (one
// module, the Pulumi SDK only; .ci/run warms the build cache, a cold build
// of the SDK takes minutes). Each test builds and runs one against the
// monitor, as `portico up DIR` does.

// longTier skips t under -short: it builds and runs a Pulumi program (Go,
// or Node.js and Python with their SDKs installed).
func longTier(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a Pulumi program: long tier, skipped under -short")
	}
}

func run(t *testing.T, name string, timeout time.Duration) (*pulumiyaml.Program, error) {
	t.Helper()
	return runDir(t, filepath.Join("testdata", "programs", name), timeout)
}

// runDir runs the program in dir as `portico up` does and logs its output
// and model when the test fails.
func runDir(t *testing.T, dir string, timeout time.Duration) (*pulumiyaml.Program, error) {
	t.Helper()
	var out syncBuffer
	p, err := Run(context.Background(), Config{
		Dir:         dir,
		BuildDir:    t.TempDir(),
		Timeout:     timeout,
		APIEndpoint: func(string) string { return "http://127.0.0.1:8080" },
		Output:      &out,
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("program output:\n%s", out.String())
			if p != nil {
				t.Logf("model:\n%s", p.SpecText)
			}
		}
	})
	return p, err
}

// syncBuffer is a bytes.Buffer safe for the program's output and the
// monitor's log messages, which arrive concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunGoodProgram(t *testing.T) {
	longTier(t)
	t.Parallel()
	p, err := run(t, "good", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	fn := p.Spec.Functions["fn"]
	if fn == nil || fn.Runtime != "python3.12" || fn.Environment["GREETING"] != "pulumi" || filepath.Base(fn.Code) != "app" {
		t.Fatalf("function fn = %+v; want python3.12 with GREETING from Pulumi.dev.yaml and code ./app", fn)
	}
	api := p.Spec.APIs["api"]
	if api == nil || api.Routes["GET /hello"] == nil || api.Stages["$default"] == nil {
		t.Fatalf("api = %+v; want route GET /hello and stage $default", api)
	}
	if r := api.Routes["GET /hello"]; r.Integration != "integration" || api.Integrations["integration"].Function != "fn" {
		t.Errorf("route GET /hello goes to %q (function %q); want the integration of fn", r.Integration, api.Integrations["integration"].Function)
	}
	want := map[string]string{"url": "http://127.0.0.1:8080", "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn"}
	if len(p.Outputs) != len(want) {
		t.Errorf("outputs = %+v, want %v", p.Outputs, want)
	}
	for _, o := range p.Outputs {
		if want[o.Name] != o.Value {
			t.Errorf("output %s = %q, want %q", o.Name, o.Value, want[o.Name])
		}
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings = %q, want none (components, permissions and log groups are accepted)", p.Warnings)
	}
}

func TestRunInvokes(t *testing.T) {
	longTier(t)
	t.Parallel()
	p, err := run(t, "invoke", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]string{}
	for _, o := range p.Outputs {
		outs[o.Name] = o.Value
	}
	if outs["accountId"] != account || outs["region"] != region || outs["partition"] != "aws" ||
		!strings.Contains(outs["policyJson"], `"Service": "lambda.amazonaws.com"`) {
		t.Errorf("outputs = %v", outs)
	}
}

func TestRunUnsupportedTypesWarn(t *testing.T) {
	longTier(t)
	t.Parallel()
	p, err := run(t, "unsupported", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings, "\n")
	for _, want := range []string{"unsupported resource types, skipped:", "(aws:sqs/queue:Queue, main.go:", "(aws:dynamodb/table:Table, main.go:"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings = %q, want %q", w, want)
		}
	}
}

func TestRunBadPrograms(t *testing.T) {
	longTier(t)
	tests := []struct {
		program string
		timeout time.Duration
		want    []string // in the error
		list    bool     // a positioned spec.ErrorList
	}{
		{"compileerror", time.Minute, []string{"go build failed", "nothing was started", "main.go:10:29: cannot use"}, false},
		{"panics", time.Minute, []string{"failed (exit status 2); nothing was deployed", "panic: boom in program"}, false},
		{"fails", time.Minute, []string{"failed (exit status 32); nothing was deployed", "boom: the program failed"}, false},
		{"hangs", 3 * time.Second, []string{"did not exit within 3s and was stopped"}, false},
		{"danglingref", time.Minute, []string{"main.go:", `target "integrations/nope"`}, true},
		{"missingarchive", time.Minute, []string{"main.go:", "does-not-exist"}, true},
		{"wrongtype", time.Minute, []string{"main.go:", "runtime must be a string, not a number"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, tt.program, tt.timeout)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			var list spec.ErrorList
			if isList := errors.As(err, &list); isList != tt.list {
				t.Errorf("err is a positioned list: %v, want %v", isList, tt.list)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err =\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestRunConfigErrors: configuration Portico cannot give a program is an
// error before anything is built.
func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, project, stack, want string
	}{
		{"no runtime", "name: p\n", "", "project: runtime is required"},
		{"java", "name: p\nruntime: java\n", "", `runtime "java"`},
		{"secret", "name: p\nruntime: go\n", "config:\n  p:token:\n    secure: AAABAx\n", "config p:token is encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write("Pulumi.yaml", tt.project)
			write("Pulumi.dev.yaml", tt.stack)
			_, err := Run(context.Background(), Config{Dir: dir, BuildDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStackConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: p\nruntime: go\nconfig:\n  size: {default: 3}\n  region: us-east-1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte("config:\n  p:size: 5\n  aws:region: eu-west-1\n  p:tags: {team: ai}\n"), 0o644)
	proj, err := ReadProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := proj.stackConfig(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p:size": "5", "p:region": "us-east-1", "aws:region": "eu-west-1", "p:tags": `{"team":"ai"}`}
	if len(got) != len(want) {
		t.Errorf("config = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config %s = %q, want %q", k, got[k], v)
		}
	}
}
