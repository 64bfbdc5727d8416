package pulumirun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// The uv and poetry tests install the pinned SDKs of
// testdata/python/requirements.txt from PyPI with the real tools (each
// keeps its own download cache, so only a first run downloads), into a
// virtualenv in the test's directory, and run the "good" program in it.

// toolchainProgram copies testdata/python/good into a new directory with
// Pulumi.yaml naming toolchain and the given extra files, and returns the
// directory. It ends t (long tier) under -short and when the tool is
// missing (failing under CI=true).
func toolchainProgram(t *testing.T, toolchain string, files map[string]string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("installs the Pulumi SDKs from PyPI with %s: long tier, skipped under -short", toolchain)
	}
	if _, err := exec.LookPath(toolchain); err != nil {
		testtool.Missing(t, toolchain, "not on PATH (.ci/run installs it from PyPI)")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "python", "good"))); err != nil {
		t.Fatal(err)
	}
	files["Pulumi.yaml"] = "name: good\nruntime:\n  name: python\n  options:\n    toolchain: " + toolchain + "\n"
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Python itself comes from the machine, never from a download, and
	// poetry's virtualenv stays in the test's directory.
	t.Setenv("UV_PYTHON_DOWNLOADS", "never")
	t.Setenv("POETRY_VIRTUALENVS_IN_PROJECT", "true")
	return dir
}

// sdkPins are the SDKs of testdata/python/requirements.txt (the seed
// example's pins), one per line.
func sdkPins(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "python", "requirements.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// TestRunPythonToolchains runs the good program with each toolchain: the
// first run installs from PyPI (with the tool's output as progress) into
// the toolchain's virtualenv, a second finds it up to date; a broken
// pyproject.toml is an error at its line, with the tool's message.
func TestRunPythonToolchains(t *testing.T) {
	pins := sdkPins(t)
	quoted := `"` + strings.Join(pins, `", "`) + `"`
	poetryDeps := ""
	for _, p := range pins {
		name, version, _ := strings.Cut(p, "==")
		poetryDeps += name + ` = "` + version + `"` + "\n"
	}
	tests := []struct {
		name      string
		toolchain string
		files     map[string]string
		venv      string   // relative to the program
		progress  []string // in the first run's output
	}{
		{"uv with pyproject.toml", "uv", map[string]string{"pyproject.toml": "[project]\nname = \"good\"\nversion = \"0.1.0\"\nrequires-python = \">=3.10\"\ndependencies = [" + quoted + "]\n"},
			".venv", []string{"uv sync (into ", "pulumi-aws==6.83.4"}},
		{"uv with requirements.txt", "uv", map[string]string{"requirements.txt": strings.Join(pins, "\n") + "\n"},
			".venv", []string{"uv venv ", "uv pip install -r requirements.txt", "pulumi-aws==6.83.4"}},
		{"poetry", "poetry", map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"good\"\nversion = \"0.1.0\"\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = \">=3.10,<4\"\n" + poetryDeps},
			".venv", []string{"poetry install", "pulumi-aws (6.83.4)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := toolchainProgram(t, tt.toolchain, tt.files)
			var out syncBuffer
			p, err := Run(t.Context(), Config{Dir: dir, BuildDir: t.TempDir(), Timeout: 2 * time.Minute,
				APIEndpoint: func(string) string { return "http://127.0.0.1:8080" }, Output: &out})
			if err != nil {
				t.Fatalf("%v\noutput:\n%s", err, out.String())
			}
			checkGood(t, p)
			for _, w := range tt.progress {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if _, err := os.Stat(filepath.Join(dir, tt.venv, "bin", "python")); err != nil {
				t.Errorf("virtualenv: %v", err)
			}
			// Unchanged files: nothing to install.
			proj, err := ReadProject(dir)
			if err != nil {
				t.Fatal(err)
			}
			out = syncBuffer{}
			if _, err := pythonCommand(t.Context(), proj, t.TempDir(), &out); err != nil || out.String() != "" {
				t.Errorf("second run: err %v, output %q; want nothing to do", err, out.String())
			}
		})
	}
}

// TestPythonToolchainErrors: a broken pyproject.toml is an error at its
// line with the tool's own message; poetry without a pyproject.toml says
// what it needs. Nothing is installed.
func TestPythonToolchainErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toolchain string
		files           map[string]string
		want            []string
	}{
		{"uv: broken pyproject.toml", "uv", map[string]string{"pyproject.toml": "[project]\nname = \"good\nversion = \"0.1.0\"\n"},
			[]string{"uv sync failed; nothing was started", "pyproject.toml:2:", "TOML parse error at line 2"}},
		{"poetry: broken pyproject.toml", "poetry", map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"good\n"},
			[]string{"poetry install failed; nothing was started", "pyproject.toml:2:", "Invalid TOML file"}},
		{"poetry: a dependency that does not exist", "poetry", map[string]string{"pyproject.toml": "[tool.poetry]\nname = \"good\"\nversion = \"0.1.0\"\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = \">=3.9,<4\"\npulumi = \"==0.0.0.404\"\n"},
			[]string{"poetry install failed; nothing was started", "pulumi (==0.0.0.404)"}},
		{"poetry: no pyproject.toml", "poetry", map[string]string{},
			[]string{"toolchain: poetry needs a pyproject.toml in "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := toolchainProgram(t, tc.toolchain, tc.files)
			proj, err := ReadProject(dir)
			if err != nil {
				t.Fatal(err)
			}
			var out syncBuffer
			_, err = pythonCommand(t.Context(), proj, t.TempDir(), &out)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err =\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
