package testtool

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a test that calls Missing in a child process, with and
// without CI=true: skipped outside CI, failed in CI.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTTOOL_CHILD") == "1" {
		Missing(t, "frobnicator", "not installed")
		return
	}
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestMissing"},
		{"true", true, "--- FAIL: TestMissing"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTTOOL_CHILD=1", "CI="+tc.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantFail || !strings.Contains(string(out), tc.want) {
			t.Errorf("CI=%q: err %v, output:\n%s\nwant %q", tc.ci, err, out, tc.want)
		}
	}
}

func TestEventuallyAndAwait(t *testing.T) {
	n := 0
	Eventually(t, "n to reach 3", func() bool { n++; return n >= 3 })
	if n != 3 {
		t.Fatalf("n = %d, want 3", n)
	}
	ch := make(chan int, 1)
	ch <- 7
	if got := Await(t, "a value", ch); got != 7 {
		t.Fatalf("Await = %d, want 7", got)
	}
	closed := make(chan struct{})
	close(closed)
	Await(t, "a closed channel", closed)
}
