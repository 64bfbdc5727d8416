package pulumirun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/testtool"
)

// The programs under testdata/nodejs are real Pulumi TypeScript and
// JavaScript programs on the pinned packages of examples/seed-pulumi-ts
// (package.json and package-lock.json are copied into each). Their
// node_modules is shared by every test of this package (in the system's
// temporary directory, keyed by the lock file's hash; installed once with
// npm ci). These tests are not parallel: they share that directory.

func runNode(t *testing.T, name string, timeout time.Duration) (*pulumiyaml.Program, error) {
	t.Helper()
	longTier(t)
	if _, err := exec.LookPath("npm"); err != nil {
		testtool.Missing(t, "npm", "not installed")
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "nodejs", name))); err != nil {
		t.Fatal(err)
	}
	example := filepath.Join("..", "..", "examples", "seed-pulumi-ts")
	lock, err := os.ReadFile(filepath.Join(example, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(example, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.js")); err == nil {
		pkg = []byte(strings.Replace(string(pkg), `"main": "index.ts"`, `"main": "index.js"`, 1))
	}
	for file, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(lock)
	shared := filepath.Join(os.TempDir(), "portico-pulumirun-node-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(shared, "node_modules", lockStamp)); err != nil {
		if err := os.MkdirAll(shared, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(shared, file), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		proj := &Project{Name: "shared", dir: shared}
		var out syncBuffer
		if err := ensureNodeModules(context.Background(), proj, shared, &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	}
	if err := os.Symlink(filepath.Join(shared, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return runDir(t, dir, timeout)
}

func TestRunNodeGoodProgram(t *testing.T) {
	p, err := runNode(t, "good", 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkGood(t, p)
	if w := strings.Join(p.Warnings, "\n"); !regexp.MustCompile(`\(aws:sqs/queue:Queue, index\.ts:32(:\d+)?\)`).MatchString(w) {
		t.Errorf("warnings = %q, want the queue named with its line (index.ts:32, and its column when the SDK sends it)", w)
	}
}

func TestRunNodeBadPrograms(t *testing.T) {
	tests := []struct {
		program string
		timeout time.Duration
		want    []string // in the error
	}{
		{"compileerror", 4 * time.Minute, []string{"nothing was deployed", "index.ts:5:7: error TS2322: Type 'Output<string>' is not assignable to type 'number'"}},
		{"throws", 2 * time.Minute, []string{"nothing was deployed", "index.js:5:15: ReferenceError: apiEndpoint is not defined"}},
		{"hangs", 20 * time.Second, []string{"did not exit within 20s and was stopped"}},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			_, err := runNode(t, tt.program, tt.timeout)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			var list spec.ErrorList
			if errors.As(err, &list) {
				t.Errorf("err is a positioned model error, want the program's failure: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err =\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestNodeModulesInstall: a missing node_modules is installed (npm install
// without a lock file), an unchanged package is not installed again.
func TestNodeModulesInstall(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		testtool.Missing(t, "npm", "not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name": "p", "private": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	proj := &Project{Name: "p", dir: dir}
	var out syncBuffer
	if err := ensureNodeModules(context.Background(), proj, dir, &out); err != nil || !strings.Contains(out.String(), "npm install") {
		t.Fatalf("err %v, output %q; want an npm install", err, out.String())
	}
	out = syncBuffer{}
	if err := ensureNodeModules(context.Background(), proj, dir, &out); err != nil || out.String() != "" {
		t.Fatalf("second run: err %v, output %q; want nothing to do", err, out.String())
	}
}
