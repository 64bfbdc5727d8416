package lambda

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// binDir holds the test functions, built once by TestMain.
var binDir string

// testBinDirEnv names binDir for a test binary re-run by a test.
const testBinDirEnv = "PORTICO_LAMBDA_TEST_BIN_DIR"

var testFunctions = []string{"goecho", "goslow", "gocrash", "gopanic", "gomem", "rogue", "gorecord"}

func TestMain(m *testing.M) {
	if dir := os.Getenv(testBinDirEnv); dir != "" {
		// Re-run by TestSandboxAsUnprivilegedUser: the functions are built.
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "lambda-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, f := range testFunctions {
		args = append(args, "./testdata/"+f)
	}
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building test functions:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// codeDir makes a code directory whose bootstrap is the named test binary
// (a hard link: a sandbox sees only the code directory, so a symlink out of
// it would dangle), readable by others as Lambda requires.
func codeDir(t testing.TB, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := linkOrCopy(filepath.Join(binDir, bin), filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// linkOrCopy hard-links src to dst, or copies it (another user's file
// cannot be linked when fs.protected_hardlinks is set).
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// fn is a provided.al2023 function running the named test binary.
func fn(t testing.TB, name, bin string) Function {
	return Function{Name: name, Runtime: "provided.al2023", Handler: "bootstrap", CodeDir: codeDir(t, bin),
		Timeout: 3 * time.Second, MemoryMB: 128, ReservedConcurrency: -1}
}

// newRunner starts a runner with fns deployed and closes it (checking for
// leaked processes) at the end of the test.
func newRunner(t testing.TB, cfg Config, fns ...Function) *Runner {
	t.Helper()
	r, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pids := r.pids()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range pids {
			if processAlive(pid) {
				t.Errorf("process %d still alive after Close", pid)
			}
		}
	})
	if err := r.Deploy(context.Background(), fns); err != nil {
		t.Fatal(err)
	}
	return r
}

// pids lists the runtime processes of every sandbox (test helper).
func (r *Runner) pids() []int { return r.runtimePIDs() }

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) is dead for our purpose but would mean a missing
	// wait; report it as alive so the test notices.
	f := strings.Fields(string(b))
	return len(f) > 2
}

func invoke(t testing.TB, r *Runner, name, payload string) *invocation.Result {
	t.Helper()
	res, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: name, Payload: []byte(payload), LogTail: true})
	if err != nil {
		t.Fatalf("Invoke(%s, %s): %v", name, payload, err)
	}
	return res
}
