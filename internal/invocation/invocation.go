// Package invocation is the contract between the function runner and
// everything that invokes functions or watches it: an invocation's request
// and result, the service errors of the Invoke API, the streamed response's
// writer, function ARNs, and the facts the runner reports about its work (a
// finished invocation's statistics, sandbox life-cycle states). Callers (the
// Lambda authorizer, the lambda-proxy integration, WebSocket APIs, function
// URLs) and observers (metrics, traces, the console) take these types
// without importing, and linking, the runner itself. It is a leaf: it
// imports nothing of Portico. The runner (internal/lambda) is written in
// these types.
package invocation

import "time"

// Stats describes one finished invocation.
type Stats struct {
	// Duration is the function's run time (the REPORT line's Duration);
	// 0 when the invocation never reached the runtime.
	Duration time.Duration
	// InitDuration is the runtime's init phase, for cold starts; 0 otherwise.
	InitDuration time.Duration
	// Cold says the invocation started a new sandbox.
	Cold bool
	// ErrorType is "" on success; otherwise the error type the function
	// reported (its own, unbounded set: "ValueError"...), a platform type
	// (Sandbox.Timedout, Runtime.ExitError, Runtime.OutOfMemory,
	// Runtime.InvalidEntrypoint...) or ErrorCanceled.
	ErrorType string
}

// ErrorCanceled is the Stats.ErrorType of an invocation whose caller went
// away (its context ended) before it finished.
const ErrorCanceled = "Canceled"

// SandboxState is the life-cycle state of a sandbox.
type SandboxState uint8

// Sandbox states. A sandbox goes None -> Initializing -> Busy (its runtime
// is ready and runs an invocation) <-> Idle (warm, waiting), and back to
// None when it stops; an init failure goes Initializing -> None.
const (
	SandboxNone         SandboxState = iota // not running (before start, after stop)
	SandboxInitializing                     // slot reserved, runtime starting or initializing
	SandboxBusy                             // initialized, running an invocation
	SandboxIdle                             // initialized, waiting for an invocation
)

// String returns the state's lower-case name.
func (s SandboxState) String() string {
	switch s {
	case SandboxInitializing:
		return "initializing"
	case SandboxBusy:
		return "busy"
	case SandboxIdle:
		return "idle"
	}
	return "none"
}

// QueueStatus is one function's asynchronous queue at one moment.
type QueueStatus struct {
	Function string
	// Depth counts the events queued, waiting for a retry or running.
	Depth int
	// OldestAge is the age of the oldest of them; 0 when Depth is 0.
	OldestAge time.Duration
}
