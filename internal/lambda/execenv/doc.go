// Package execenv runs execution environments: one long-lived runtime
// process each, supervised. An Env is started by a Host with its own
// Runtime API listener (accepting only its own sandbox's connections when
// isolated), its output captured line by line, memory and pids limits
// (cgroup v2 or v1, else RLIMIT_AS), liveness (Dead, Dying) and Kill.
//
// Its places:
//
//   - isolation.go: the Host, isolation modes (through package sandbox, the
//     namespace re-exec), the UIDs handed out, the View a runtime has of its
//     code and layers, and the guard for listeners that are not for
//     functions.
//   - env.go: one Env, from Start to its teardown.
//   - memlimit.go, pidslimit.go: the limits; proc_linux.go, proc_other.go
//     the Linux-only system calls behind build tags, with fallbacks.
//
// It knows nothing of pools, invocations or the runner: the runner's pools
// decide which Env serves which invocation, and when one is killed.
package execenv

// Command is how to start a function's runtime process.
type Command struct {
	Path string   // executable
	Args []string // argv[1:]
	Dir  string   // working directory (the code directory)
	Env  []string // runtime-specific extras as KEY=VALUE; a PATH extra is prepended to Lambda's PATH
	// CacheDirs are directories the runtime writes caches to (Python
	// bytecode). An isolated sandbox gets a private one per function at the
	// same path, so functions cannot poison each other's caches.
	CacheDirs []string
	Warnings  []string // e.g. retired runtime names; logged once per pool
}
