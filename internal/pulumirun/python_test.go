package pulumirun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
)

// The programs under testdata/python are real Pulumi Python programs on
// the pinned SDKs of testdata/python/requirements.txt. Each test copies
// one into a temporary directory whose virtualenv is shared by every test
// of this package (kept in the system's temporary directory, keyed by the
// requirements' hash): the first run creates it and installs the SDKs
// from PyPI as `portico up` does, later runs find it up to date. These
// tests are not parallel: they share that virtualenv.

func runPython(t *testing.T, name string, timeout time.Duration) (*pulumiyaml.Program, string, error) {
	t.Helper()
	dir := pythonProgram(t, name)
	p, err := runDir(t, dir, timeout)
	return p, dir, err
}

// pythonProgram copies testdata/python/NAME into a new directory whose
// venv is the shared virtualenv, and returns the directory.
func pythonProgram(t *testing.T, name string) string {
	t.Helper()
	longTier(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "python", name))); err != nil {
		t.Fatal(err)
	}
	req, err := os.ReadFile(filepath.Join("testdata", "python", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), req, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(req)
	venv := filepath.Join(os.TempDir(), "portico-pulumirun-venv-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		if out, err := exec.Command("python3", "-m", "venv", venv).CombinedOutput(); err != nil {
			t.Fatalf("python3 -m venv: %v\n%s", err, out)
		}
	}
	if err := os.Symlink(venv, filepath.Join(dir, "venv")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunPythonGoodProgram(t *testing.T) {
	p, _, err := runPython(t, "good", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkGood(t, p)
}

// TestRunPythonStrict: the good program has no aws:lambda:Permission; Run
// passes Strict to the loader, which marks its integration to answer 500
// as on AWS; without Strict it is served, with the warning.
func TestRunPythonStrict(t *testing.T) {
	dir := pythonProgram(t, "good")
	for _, strict := range []bool{false, true} {
		p, err := Run(t.Context(), Config{Dir: dir, BuildDir: t.TempDir(), Timeout: 2 * time.Minute, Strict: strict,
			APIEndpoint: func(string) string { return "http://127.0.0.1:8080" }})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Spec.APIs["api"].Integrations["integration"].Unpermitted; got != strict {
			t.Errorf("strict %v: unpermitted = %v", strict, got)
		}
		if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, "integration integration (__main__.py:27) invokes function fn, but no aws:lambda:Permission") ||
			!strings.Contains(w, `aws.lambda_.Permission("fnInvoke",`) {
			t.Errorf("strict %v: warnings = %q, want the missing permission, in Python", strict, w)
		}
	}
}

func TestRunPythonUnsupportedTypesWarn(t *testing.T) {
	p, _, err := runPython(t, "unsupported", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings, "\n")
	if want := "(aws:sqs/queue:Queue, __main__.py:5)"; !strings.Contains(w, want) {
		t.Errorf("warnings = %q, want %q (the line that registered it)", w, want)
	}
}

func TestRunPythonBadPrograms(t *testing.T) {
	tests := []struct {
		program string
		timeout time.Duration
		want    []string // in the error
		list    bool     // a positioned spec.ErrorList
	}{
		{"nameerror", 2 * time.Minute, []string{"nothing was deployed", "__main__.py:6: NameError: name 'api_endpoint' is not defined"}, false},
		{"syntaxerror", 2 * time.Minute, []string{"nothing was deployed", "__main__.py:5: SyntaxError: '(' was never closed"}, false},
		{"hangs", 5 * time.Second, []string{"did not exit within 5s and was stopped"}, false},
		{"danglingref", 2 * time.Minute, []string{"__main__.py:5:1: ", `target "integrations/nope"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			_, _, err := runPython(t, tt.program, tt.timeout)
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

// TestPythonVirtualenv: a missing virtualenv is created and
// requirements.txt installed; an unchanged file is not installed again; a
// changed one is; a toolchain Pulumi does not know is a clear error.
func TestPythonVirtualenv(t *testing.T) {
	if testing.Short() {
		t.Skip("installs a program's requirements with pip: long tier, skipped under -short")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Pulumi.yaml", "name: p\nruntime: {name: python, options: {virtualenv: env}}\n")
	write("requirements.txt", "")
	proj, err := ReadProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	if _, err := pythonCommand(context.Background(), proj, t.TempDir(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "env", "bin", "python")); err != nil || !strings.Contains(out.String(), "creating the virtualenv") {
		t.Fatalf("virtualenv not created: %v\n%s", err, out.String())
	}
	out = syncBuffer{}
	if _, err := pythonCommand(context.Background(), proj, t.TempDir(), &out); err != nil || out.String() != "" {
		t.Fatalf("second run: err %v, output %q; want nothing to do", err, out.String())
	}
	write("requirements.txt", "# changed\n")
	if _, err := pythonCommand(context.Background(), proj, t.TempDir(), &out); err != nil || !strings.Contains(out.String(), "installing requirements.txt") {
		t.Fatalf("changed requirements: err %v, output %q; want an install", err, out.String())
	}

	for _, tc := range []struct{ toolchain, want string }{
		{"conda", `toolchain: "conda": Pulumi knows pip, uv and poetry`},
	} {
		write("Pulumi.yaml", "name: p\nruntime: {name: python, options: {toolchain: "+tc.toolchain+"}}\n")
		proj, err := ReadProject(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pythonCommand(context.Background(), proj, t.TempDir(), &out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("toolchain %s: err = %v, want %q", tc.toolchain, err, tc.want)
		}
	}
}

// checkGood checks the model and outputs of a "good" test program (the
// same system in each language): a function with its greeting from
// Pulumi.dev.yaml behind GET /hello, and the outputs url, account and
// functionArn.
func checkGood(t *testing.T, p *pulumiyaml.Program) {
	t.Helper()
	fn := p.Spec.Functions["fn"]
	if fn == nil || fn.Runtime != "python3.12" || fn.Environment["GREETING"] != "pulumi" || filepath.Base(fn.Code) != "app" {
		t.Fatalf("function fn = %+v; want python3.12 with GREETING from Pulumi.dev.yaml and code ./app", fn)
	}
	if api := p.Spec.APIs["api"]; api == nil || api.Routes["GET /hello"] == nil || api.Stages["$default"] == nil {
		t.Fatalf("api = %+v; want route GET /hello and stage $default", api)
	}
	want := map[string]string{"url": "http://127.0.0.1:8080", "account": account, "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn"}
	if len(p.Outputs) != len(want) {
		t.Errorf("outputs = %+v, want %v", p.Outputs, want)
	}
	for _, o := range p.Outputs {
		if want[o.Name] != o.Value {
			t.Errorf("output %s = %q, want %q", o.Name, o.Value, want[o.Name])
		}
	}
}
