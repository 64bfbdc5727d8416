package testtool

import (
	"testing"
	"time"
)

// deadlineMargin is how long before the test binary's deadline (-timeout)
// a wait gives up, leaving time to report which event never came.
const deadlineMargin = 10 * time.Second

// Eventually polls cond until it holds. It fails t only when the test
// binary's deadline (go test -timeout) is near: a test waits for the event
// it needs, not for a guess of how fast the machine is. what names the
// event in the failure.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	stop := giveUp(t)
	for !cond() {
		select {
		case <-stop:
			t.Fatalf("gave up waiting for %s at the test deadline", what)
		case <-time.After(time.Millisecond):
		}
	}
}

// Await waits until ch is ready (a value sent, or closed) and returns what
// it received, failing t as Eventually does.
func Await[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-giveUp(t):
		t.Fatalf("gave up waiting for %s at the test deadline", what)
	}
	var zero T
	return zero
}

// giveUp is closed shortly before the test binary's deadline; without a
// deadline (-timeout 0) it is never closed.
func giveUp(t testing.TB) <-chan time.Time {
	d, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return nil
	}
	end, ok := d.Deadline()
	if !ok {
		return nil
	}
	return time.After(max(time.Until(end)-deadlineMargin, 0))
}
