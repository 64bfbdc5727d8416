// Package testtool decides what a test does when a tool it drives is
// missing (a CLI, an SDK, a server, a browser): on a developer's machine
// the test is skipped; in CI (CI=true) it fails, because .ci/run installs
// every tool the tests use and a test that skips there proves nothing.
// It also waits for events (Eventually, Await) bounded only by the test
// binary's deadline, never by a guess of the machine's speed. Only tests
// import it.
package testtool

import (
	"os"
	"testing"
)

// Missing ends t because tool is missing: Skip outside CI, Fatal in CI.
// why says what is missing and how to install it.
func Missing(t testing.TB, tool, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %s (CI=true: .ci/run must install it)", tool, why)
	}
	t.Skipf("%s: %s", tool, why)
}
