// Package lambda runs Lambda functions as local processes that speak the
// Lambda Runtime API: the function runner. Its places, in the request's
// order:
//
//   - runner.go: Runner, Config, Deploy and Close; the global cap.
//   - invoke.go, stream.go: one invocation, a call value carried from the
//     pool's acquire to finish (buffered or streamed); async.go the
//     asynchronous queue's scheduling over asyncq.
//   - pool.go: one deployed function: its warm sandboxes in a
//     warmpool.Pool (acquire, warmest first or a slot for a cold start;
//     release; retire, the one way a sandbox leaves a pool), its log, its
//     runtime's command; and what the pools need of the runner (the
//     global cap).
//   - sandbox.go, isolation.go: a sandbox as its pool holds it, over an
//     execution environment of package execenv (one runtime process and
//     its supervision, limits and isolation).
//   - logs.go, credentials.go, env.go: what a function sees and writes.
//
// The Invoke API over HTTP is package invokeapi; the Runtime API each
// sandbox talks is package runtimeapi; the contract callers share (request,
// result, errors) is package invocation.
package lambda

import (
	"time"

	"github.com/portico-dev/portico/internal/invocation"
)

// Function is the configuration of one function, as the runner needs it.
type Function struct {
	Name    string
	Runtime string // python3.x, nodejs18.x..nodejs24.x, provided.al2023, provided.al2
	Handler string
	CodeDir string // absolute path of the code directory
	OptDir  string // directory served read-only at /opt (the function's layers, merged in order); "" for none
	// Interpreter is the python or node executable to run a Python or
	// Node.js function with; "" picks the installed one closest to the
	// runtime's version.
	Interpreter string
	// EphemeralStorageMB sizes the sandbox's private /tmp (512-10240 MB);
	// 0 means Lambda's default, 512.
	EphemeralStorageMB int
	Timeout            time.Duration
	MemoryMB           int
	Environment        map[string]string
	// ReservedConcurrency caps concurrent sandboxes; negative means unset
	// (the runner's global cap applies); 0 throttles every invocation.
	ReservedConcurrency int
	Role                string
	// Revision is opaque to the runner: when it changes (the caller hashes
	// the code directory), warm sandboxes are replaced by fresh ones.
	Revision string
}

// FunctionARN is the unqualified ARN of a function (see
// invocation.FunctionARN).
func FunctionARN(region, account, name string) string {
	return invocation.FunctionARN(region, account, name)
}
