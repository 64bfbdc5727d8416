package build

import (
	"archive/zip"
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
	"github.com/portico-dev/portico/internal/testtool"
)

// needTool skips a test whose tool is missing, except in CI (CI=true),
// where the tool must be installed and the test fails instead.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testtool.Missing(t, name, "not on PATH")
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// zipOf writes a zip file with the given entries (name -> content; a name
// ending in / is a directory).
func zipOf(t *testing.T, path string, entries map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range entries {
		if strings.HasSuffix(name, "/") {
			if _, err := zw.Create(name); err != nil {
				t.Fatal(err)
			}
			continue
		}
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newBuilder(t *testing.T, logs *bytes.Buffer) *Builder {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	cache := t.TempDir()
	return New(Config{Dir: filepath.Join(cache, "build")},
		Deps{Logger: logger, Interpreters: BootstrapInterpreters{R: bootstrap.NewResolver(cache)}})
}

func TestLayersMergeInOrder(t *testing.T) {
	dir := t.TempDir()
	code := filepath.Join(dir, "code")
	write(t, filepath.Join(code, "app.py"), "")
	write(t, filepath.Join(dir, "one", "python", "shared.py"), "ONE")
	write(t, filepath.Join(dir, "one", "python", "only_one.py"), "only one")
	zipOf(t, filepath.Join(dir, "two.zip"), map[string]string{
		"python/":          "",
		"python/shared.py": "TWO",
		"bin/tool":         "#!/bin/sh\necho tool\n",
		"../escape.txt":    "rooted, stays inside",
	})
	b := newBuilder(t, nil)
	res, err := b.Build(context.Background(), Function{Name: "f", Runtime: "provided.al2023", CodeDir: code,
		Layers: []string{filepath.Join(dir, "one"), filepath.Join(dir, "two.zip")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.CodeDir != code {
		t.Errorf("CodeDir = %s, want the user's code directory (nothing to install)", res.CodeDir)
	}
	tests := []struct {
		name, path, want string
	}{
		{"later layer wins", "python/shared.py", "TWO"},
		{"earlier layer's other files stay", "python/only_one.py", "only one"},
		{"zip entries extracted", "bin/tool", "#!/bin/sh\necho tool\n"},
		{"an entry climbing out stays inside", "escape.txt", "rooted, stays inside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(t, filepath.Join(res.OptDir, tt.path)); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
	if st, err := os.Stat(filepath.Join(res.OptDir, "bin", "tool")); err != nil || st.Mode().Perm()&0o111 == 0 {
		t.Errorf("bin/tool lost its executable bit: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
		t.Errorf("a zip entry was written outside the layer directory")
	}

	// Same content: same directory. Changed content: another one.
	again, err := b.Build(context.Background(), Function{Name: "f", Runtime: "provided.al2023", CodeDir: code,
		Layers: []string{filepath.Join(dir, "one"), filepath.Join(dir, "two.zip")}})
	if err != nil || again.OptDir != res.OptDir {
		t.Errorf("rebuild of the same layers: %s, %v; want %s", again.OptDir, err, res.OptDir)
	}
	write(t, filepath.Join(dir, "one", "python", "only_one.py"), "changed")
	changed, err := b.Build(context.Background(), Function{Name: "f", Runtime: "provided.al2023", CodeDir: code,
		Layers: []string{filepath.Join(dir, "one"), filepath.Join(dir, "two.zip")}})
	if err != nil || changed.OptDir == res.OptDir {
		t.Errorf("changed layer: %s, %v; want a new directory", changed.OptDir, err)
	}
}

func TestBadZipLayer(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "code", "app.py"), "")
	write(t, filepath.Join(dir, "broken.zip"), "not a zip")
	_, err := newBuilder(t, nil).Build(context.Background(), Function{Name: "f", Runtime: "python3.12",
		CodeDir: filepath.Join(dir, "code"), Layers: []string{filepath.Join(dir, "broken.zip")}})
	if err == nil || !strings.Contains(err.Error(), "function f: layers:") {
		t.Errorf("err = %v, want a layers error naming the function", err)
	}
}

func TestPythonRequirements(t *testing.T) {
	if testing.Short() {
		t.Skip("installs a package from PyPI with pip: long tier, skipped under -short")
	}
	needTool(t, "python3")
	dir := t.TempDir()
	code := filepath.Join(dir, "code")
	write(t, filepath.Join(code, "app.py"), "import six\n")
	write(t, filepath.Join(code, "requirements.txt"), "# a tiny pure-Python package, pinned\nsix==1.16.0\n")
	var logs bytes.Buffer
	b := newBuilder(t, &logs)
	fn := Function{Name: "py", Runtime: "python3.12", CodeDir: code}
	res, err := b.Build(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	if res.CodeDir == code {
		t.Fatal("CodeDir is the user's directory; want a build copy")
	}
	if _, err := os.Stat(filepath.Join(res.CodeDir, "six.py")); err != nil {
		t.Errorf("six.py not in the build copy: %v", err)
	}
	if got := read(t, filepath.Join(res.CodeDir, "app.py")); got != "import six\n" {
		t.Errorf("app.py in the copy = %q", got)
	}
	entries, _ := os.ReadDir(code)
	if len(entries) != 2 {
		t.Errorf("the user's code directory was written: %v", entries)
	}
	for _, want := range []string{`msg="installing dependencies" function=py from=requirements.txt packages=1 with=pip`,
		`fetching="six==1.16.0" n=1`, `msg="dependencies installed" function=py packages=1 elapsed=`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, logs.String())
		}
	}

	// A code edit makes a new copy without installing again; so does a
	// restart (a new Builder on the same directory) with no interpreter
	// able to install anything.
	logs.Reset()
	write(t, filepath.Join(code, "app.py"), "import six  # edited\n")
	res2, err := b.Build(context.Background(), fn)
	if err != nil || res2.CodeDir == res.CodeDir || strings.Contains(logs.String(), "installing") {
		t.Errorf("after a code edit: %s, %v, logs %q; want a new copy, no install", res2.CodeDir, err, logs.String())
	}
	offline := New(Config{Dir: b.dir}, Deps{Interpreters: BootstrapInterpreters{R: bootstrap.NewResolver(t.TempDir())}})
	t.Setenv("PIP_INDEX_URL", "http://127.0.0.1:9/") // nothing listens there
	res3, err := offline.Build(context.Background(), fn)
	if err != nil || res3.CodeDir != res2.CodeDir {
		t.Errorf("restart: %s, %v; want the existing copy %s", res3.CodeDir, err, res2.CodeDir)
	}
}

func TestPythonRequirementsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pip against PyPI: long tier, skipped under -short")
	}
	needTool(t, "python3")
	dir := t.TempDir()
	code := filepath.Join(dir, "code")
	write(t, filepath.Join(code, "app.py"), "")
	write(t, filepath.Join(code, "requirements.txt"), "portico-no-such-package-4b1d==1.0\n")
	b := newBuilder(t, nil)
	_, err := b.Build(context.Background(), Function{Name: "py", Runtime: "python3.12", CodeDir: code})
	if err == nil {
		t.Fatal("Build succeeded; want pip's failure")
	}
	for _, want := range []string{"function py: installing requirements.txt with pip failed",
		"ERROR: No matching distribution found for portico-no-such-package-4b1d==1.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %q", err, want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(b.dir, "deps", "python-*")); len(m) != 0 {
		t.Errorf("a failed install left %v", m)
	}
}

func TestNodePackages(t *testing.T) {
	if testing.Short() {
		t.Skip("installs packages from npm: long tier, skipped under -short")
	}
	needTool(t, "node")
	needTool(t, "npm")
	tests := []struct {
		name, dep, wantErr string
	}{
		{name: "installed", dep: `"ms": "2.1.3"`},
		{name: "no such package", dep: `"portico-no-such-package-4b1d": "1.0.0"`, wantErr: "portico-no-such-package-4b1d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			code := filepath.Join(dir, "code")
			write(t, filepath.Join(code, "index.js"), "exports.handler = async () => require('ms')(60000);\n")
			write(t, filepath.Join(code, "package.json"), `{"name": "fn", "version": "1.0.0", "dependencies": {`+tt.dep+`}}`)
			res, err := newBuilder(t, nil).Build(context.Background(), Function{Name: "js", Runtime: "nodejs20.x", CodeDir: code})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "installing package.json with npm failed") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want npm's message naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(res.CodeDir, "node_modules", "ms", "package.json")); err != nil {
				t.Errorf("ms not installed in the build copy: %v", err)
			}
			if _, err := os.Stat(filepath.Join(code, "node_modules")); err == nil {
				t.Errorf("node_modules written into the user's code directory")
			}
			c := exec.Command("node", "-e", "console.log(require('ms')(60000))")
			c.Dir = res.CodeDir
			if out, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "1m" {
				t.Errorf("require('ms') in the build copy: %q, %v", out, err)
			}
		})
	}
}
