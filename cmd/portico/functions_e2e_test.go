package main

import (
	"archive/zip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/testtool"
)

// needTools fails in CI (CI=true) and skips elsewhere when a tool the test
// drives is missing.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			testtool.Missing(t, name, "not on PATH")
		}
	}
}

// layout writes files (slash-separated names relative to dir).
func layout(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// zipLayer writes a zip file holding files.
func zipLayer(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

const functionsSpec = `functions:
  py:
    runtime: python3.13
    handler: app.handler
    code: ./py
    layers: [./pylayer]
  js:
    runtime: nodejs24.x
    handler: index.handler
    code: ./js
    layers: [./jslayer.zip]
apis:
  a:
    integrations:
      py: {type: AWS_PROXY, function: py}
      js: {type: AWS_PROXY, function: js}
    routes:
      "GET /py": {integration: py}
      "GET /js": {integration: js}
    stages:
      $default: {autoDeploy: true}
`

// functionsDir lays out a Python function with a requirements.txt and a
// directory layer, and a Node.js function with a package.json and a zip
// layer, on runtimes newer than the machine's interpreters may be.
func functionsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	layout(t, dir, map[string]string{
		"portico.yaml": functionsSpec,
		"py/app.py": `import six, shared
def handler(event, context):
    print("six is", six.__version__)
    return {"statusCode": 200, "body": "six " + six.__version__ + ", " + shared.WHO}
`,
		"py/requirements.txt":      "six==1.16.0\n",
		"pylayer/python/shared.py": "WHO = 'from the layer'\n",
		"pylayer/bin/hello-tool":   "#!/bin/sh\necho tool\n",
		"js/index.js": `const ms = require('ms');
const greet = require('greet');
exports.handler = async () => {
  console.log('ms says', ms(60000));
  return { statusCode: 200, body: 'ms ' + ms(60000) + ', ' + greet() };
};
`,
		"js/package.json": `{"name": "js", "version": "1.0.0", "dependencies": {"ms": "2.1.3"}}`,
	})
	zipLayer(t, filepath.Join(dir, "jslayer.zip"), map[string]string{
		"nodejs/node_modules/greet/index.js": "module.exports = () => 'from the layer';\n",
	})
	return dir
}

// TestFunctionsDependenciesLayersAndOutput runs a Python and a Node.js
// function whose dependencies are installed by pip and npm and whose
// layers are merged, on runtimes (python3.13, nodejs24.x) run by the
// closest installed interpreter, and checks their output in the terminal.
func TestFunctionsDependenciesLayersAndOutput(t *testing.T) {
	needTools(t, "python3", "node", "npm")
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // builds of its own: installs are seen
	dir := functionsDir(t)
	in := up(t, filepath.Join(dir, "portico.yaml"))

	tests := []struct {
		path, want string
	}{
		{"/py", "six 1.16.0, from the layer"},
		{"/js", "ms 1m, from the layer"},
	}
	for _, tt := range tests {
		resp, body := get(t, in.gateway+tt.path)
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("GET %s: %d %q, want 200 %q\nstderr:\n%s", tt.path, resp.StatusCode, body, tt.want, in.stderr.String())
		}
	}
	waitFor(t, redeployWait, func() bool { return strings.Count(in.stderr.String(), "] REPORT RequestId: ") >= 2 })
	stderr := in.stderr.String()
	for _, want := range []string{
		`msg="installing dependencies" function=py from=requirements.txt packages=1 with=pip`,
		`msg="dependencies installed" function=py packages=1 elapsed=`,
		`msg="installing dependencies" function=js from=package.json packages=1 with=npm`,
		`msg="dependencies installed" function=js packages=`,
		"[py] START RequestId: ",
		"[py] six is 1.16.0\n",
		"[py] END RequestId: ",
		"[py] REPORT RequestId: ",
		"[js] START RequestId: ",
		"\tINFO\tms says 1m\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The closest interpreter runs a runtime the machine lacks, with one
	// warning per function.
	if _, err := exec.LookPath("python3.13"); err != nil {
		if n := strings.Count(stderr, "runtime python3.13 runs on the machine's Python"); n != 1 {
			t.Errorf("%d warnings about python3.13, want 1:\n%s", n, stderr)
		}
	}
	if out, _ := exec.Command("node", "--version").Output(); !strings.HasPrefix(string(out), "v24.") {
		if n := strings.Count(stderr, "runtime nodejs24.x runs on the machine's Node.js"); n != 1 {
			t.Errorf("%d warnings about nodejs24.x, want 1:\n%s", n, stderr)
		}
	}
	// Nothing is written into the user's code.
	for _, p := range []string{"js/node_modules", "py/six.py"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s was written into the code directory", p)
		}
	}

	// A requirement that cannot be installed: the reload fails with pip's
	// message and the running version keeps serving.
	writeFile(t, filepath.Join(dir, "py", "requirements.txt"), "six==1.16.0\nportico-no-such-package-4b1d==1.0\n")
	waitFor(t, redeployWait, func() bool {
		return strings.Contains(in.stderr.String(), "No matching distribution found for portico-no-such-package-4b1d==1.0")
	})
	if resp, body := get(t, in.gateway+"/py"); resp.StatusCode != 200 || body != "six 1.16.0, from the layer" {
		t.Errorf("after a failed install: %d %q, want the last good version", resp.StatusCode, body)
	}
}

// TestInstallFailureFailsUp: a requirement that does not exist stops
// portico up before it serves, with pip's own message naming it.
func TestInstallFailureFailsUp(t *testing.T) {
	needTools(t, "python3")
	dir := t.TempDir()
	layout(t, dir, map[string]string{
		"portico.yaml":        "functions:\n  py: {runtime: python3.12, handler: app.handler, code: ./py}\n",
		"py/app.py":           "def handler(event, context):\n    return 'ok'\n",
		"py/requirements.txt": "portico-no-such-package-4b1d==1.0\n",
	})
	cmd := exec.Command(binary, "up", "-f", filepath.Join(dir, "portico.yaml"), "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("portico up: %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{"function py: installing requirements.txt with pip failed",
		"ERROR: No matching distribution found for portico-no-such-package-4b1d==1.0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "ready") {
		t.Errorf("portico up became ready:\n%s", out)
	}
}

// onePythonFunction is a spec: function py (code ./py, handler
// app.handler) behind GET /.
const onePythonFunction = `functions:
  py: {runtime: python3.12, handler: app.handler, code: ./py}
apis:
  a:
    integrations: {py: {type: AWS_PROXY, function: py}}
    routes: {"GET /": {integration: py}}
    stages: {$default: {autoDeploy: true}}
`

// TestQuietHidesFunctionOutput: --quiet keeps functions' output out of the
// terminal (portico logs still has it).
func TestQuietHidesFunctionOutput(t *testing.T) {
	needTools(t, "python3")
	dir := t.TempDir()
	layout(t, dir, map[string]string{
		"portico.yaml": onePythonFunction,
		"py/app.py":    "def handler(event, context):\n    print('quiet please')\n    return 'ok'\n",
	})
	in := up(t, filepath.Join(dir, "portico.yaml"), "--quiet")
	if resp, body := get(t, in.gateway+"/"); resp.StatusCode != 200 {
		t.Fatalf("GET /: %d %s", resp.StatusCode, body)
	}
	out, err := exec.Command(binary, "logs", "--endpoint", in.aws, "--data-dir", in.dataDir, "py").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "quiet please") {
		t.Errorf("portico logs py: %v\n%s", err, out)
	}
	if strings.Contains(in.stderr.String(), "quiet please") || strings.Contains(in.stderr.String(), "[py]") {
		t.Errorf("--quiet printed the function's output:\n%s", in.stderr.String())
	}
}

// TestValidateReportsMissingHandlerModule: a handler whose module is in
// neither the code nor the layers is reported at the handler's position.
func TestValidateReportsMissingHandlerModule(t *testing.T) {
	dir := t.TempDir()
	layout(t, dir, map[string]string{
		"portico.yaml":  "functions:\n  py:\n    runtime: python3.12\n    handler: hanlder.main\n    code: ./py\n",
		"py/handler.py": "def main(event, context):\n    return 1\n",
	})
	file := filepath.Join(dir, "portico.yaml")
	out, err := exec.Command(binary, "validate", "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	want := "warning: " + file + ":4:14: handler: module hanlder (hanlder.py) is in neither the code directory nor the function's layers"
	if !strings.Contains(string(out), want) {
		t.Errorf("validate output:\n%s\nwant:\n%s", out, want)
	}
}

// TestImportErrorPrintedWhole: an import error reaches the terminal whole,
// traceback included, at the first request that meets it.
func TestImportErrorPrintedWhole(t *testing.T) {
	needTools(t, "python3")
	dir := t.TempDir()
	layout(t, dir, map[string]string{
		"portico.yaml": onePythonFunction,
		"py/app.py":    "import helper\n\ndef handler(event, context):\n    return 'ok'\n",
		"py/helper.py": "import portico_module_that_is_installed_nowhere_at_all_not_even_here\n",
	})
	in := up(t, filepath.Join(dir, "portico.yaml"))
	if resp, body := get(t, in.gateway+"/"); resp.StatusCode != 500 {
		t.Fatalf("GET /: %d %s, want 500 (API Gateway's answer to a function error)", resp.StatusCode, body)
	}
	want := []string{
		"[py] [ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'portico_module_that_is_installed_nowhere_at_all_not_even_here'\n",
		"[py] Traceback (most recent call last):\n",
	}
	waitFor(t, redeployWait, func() bool { return strings.Contains(in.stderr.String(), want[1]) })
	for _, w := range want {
		if !strings.Contains(in.stderr.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, in.stderr.String())
		}
	}
}
