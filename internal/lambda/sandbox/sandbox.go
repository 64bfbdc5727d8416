// Package sandbox starts a function's runtime process in an execution
// environment of its own: a new PID namespace with a private /proc, a
// minimal read-only root (the system directories, the interpreter's install
// prefix, the code at /var/task, the layers at /opt), a private /tmp of a
// fixed size, an unprivileged user with no capabilities, and a process
// limit. See docs/security.md for the threat model.
//
// The environment is built by the portico binary itself: Start re-executes
// /proc/self/exe as "portico-sandbox-init" in new namespaces; that helper
// (Init, run by this package's init function before anything else of the
// program) builds the root, pivots into it, drops its privileges and
// executes the runtime. The runtime therefore keeps the helper's PID, which
// is the PID Start's caller sees. Only Linux has the kernel features; on
// other systems Probe reports why isolation is unavailable.
package sandbox

// Spec is one sandbox. Paths in Path, Args, Dir and Env are as the runtime
// sees them inside the sandbox; the other paths are the host's.
type Spec struct {
	Path string   // the runtime executable
	Args []string // argv[1:]
	Dir  string   // working directory
	Env  []string // the runtime's complete environment, KEY=VALUE

	TaskDir string // host directory served read-only at /var/task
	OptDir  string // host directory served read-only at /opt; "" for an empty /opt
	// ReadOnly are host paths (files or directories) served read-only at
	// the same path: the interpreter's install prefix, bootstrap scripts.
	ReadOnly []string
	// Writable are host directories served read-write, each at its Path.
	Writable []Bind
	TmpMB    int // size of the private /tmp in MiB

	// UID and GID the runtime runs as when the runner is root (Dedicated);
	// in a user namespace the runtime is the namespace's only user.
	UID, GID int
	// Pids caps the processes and threads of the sandbox (RLIMIT_NPROC on
	// the dedicated UID); 0 for no cap.
	Pids int
	// RootDir is an empty host directory the helper mounts the sandbox's
	// root on (in its own mount namespace; the host never sees the mount).
	RootDir string
}

// Bind is a host directory served at Path inside the sandbox.
type Bind struct {
	Host string
	Path string
}

// Mount points inside every sandbox.
const (
	TaskRoot = "/var/task"
	OptRoot  = "/opt"
)

// initArg is argv[0] of the re-executed helper.
const initArg = "portico-sandbox-init"

// probeArg is argv[1] of a helper that only checks the namespaces work.
const probeArg = "probe"

// Mode says how sandboxes get their own user.
type Mode string

const (
	// Dedicated: the runner is root; each sandbox runs as a UID and GID of
	// its own, taken from the runner's range.
	Dedicated Mode = "dedicated-uid"
	// UserNamespace: the runner is not root; each sandbox is a user
	// namespace whose only user maps to the runner's UID.
	UserNamespace Mode = "user-namespace"
)
