package lambda

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	sbx "github.com/portico-dev/portico/internal/lambda/sandbox"
)

// Isolation modes of Config.Isolation.
const (
	IsolationAuto    = ""        // sandboxes where the machine allows them, else none (IsolationStatus says why)
	IsolationSandbox = "sandbox" // sandboxes, or New fails
	IsolationNone    = "none"    // plain processes that share the runner's user, files and processes
)

// UIDRange is a range of user (and group) IDs for sandboxes when the runner
// runs as root: each sandbox takes one of its own for its life.
type UIDRange struct {
	First int // default 2000000000
	Count int // default 65536
}

// Default sandbox limits.
const (
	defaultSandboxPids = 1024 // Lambda's limit on processes and threads
	defaultEphemeralMB = 512
)

// isolation is the runner's sandboxing: off (mode ""), or the mode in use
// and the UIDs handed out.
type isolation struct {
	mode     sbx.Mode
	reason   string // why sandboxes are off in auto mode
	rootDir  string // the empty mount point of every sandbox's root
	cacheDir string // per-function writable cache directories
	pids     int

	mu    sync.Mutex
	first int
	inUse []bool
	next  int
}

// newIsolation sets up sandboxing as cfg asks; in auto mode a machine that
// cannot sandbox gives isolation off with the reason.
func newIsolation(cfg Config) (*isolation, error) {
	iso := &isolation{pids: cfg.SandboxPids, first: cfg.SandboxUIDs.First}
	if cfg.Isolation == IsolationNone {
		iso.reason = "turned off with --isolation=none"
		return iso, nil
	}
	if !sbx.Available {
		iso.reason = "function sandboxes need Linux (this is " + runtime.GOOS + ")"
		if cfg.Isolation == IsolationSandbox {
			return nil, errors.New(iso.reason)
		}
		return iso, nil
	}
	base := filepath.Join(cfg.CacheDir, "sandbox")
	iso.rootDir = filepath.Join(base, "root")
	iso.cacheDir = filepath.Join(base, "cache")
	if err := os.MkdirAll(iso.rootDir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox root: %w", err)
	}
	if err := os.Chmod(base, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox directory: %w", err)
	}
	mode, err := sbx.Probe(iso.rootDir)
	if err != nil {
		if cfg.Isolation == IsolationSandbox {
			return nil, err
		}
		iso.reason = err.Error()
		return iso, nil
	}
	iso.mode = mode
	iso.inUse = make([]bool, cfg.SandboxUIDs.Count)
	return iso, nil
}

func (iso *isolation) on() bool { return iso.mode != "" }

// takeUID reserves a UID for one sandbox (Dedicated mode); 0 otherwise.
func (iso *isolation) takeUID() (int, error) {
	if iso.mode != sbx.Dedicated {
		return 0, nil
	}
	iso.mu.Lock()
	defer iso.mu.Unlock()
	for i := range iso.inUse {
		j := (iso.next + i) % len(iso.inUse)
		if !iso.inUse[j] {
			iso.inUse[j] = true
			iso.next = j + 1
			return iso.first + j, nil
		}
	}
	return 0, fmt.Errorf("no free sandbox UID in %d-%d", iso.first, iso.first+len(iso.inUse)-1)
}

// releaseUID gives back a UID once every process of its sandbox is gone.
func (iso *isolation) releaseUID(uid int) {
	if uid == 0 || iso.mode != sbx.Dedicated {
		return
	}
	iso.mu.Lock()
	iso.inUse[uid-iso.first] = false
	iso.mu.Unlock()
}

// IsolationStatus says whether functions run in sandboxes and how ("sandbox
// (dedicated-uid)"), or why not (e.g. "turned off with --isolation=none").
func (r *Runner) IsolationStatus() (isolated bool, detail string) {
	if r.iso.on() {
		return true, "sandbox (" + string(r.iso.mode) + ")"
	}
	return false, r.iso.reason
}

// view is where a runtime sees its code and its layers: /var/task and /opt
// in a sandbox, the host directories without one. The function's
// environment is built from it.
type view struct {
	task, opt string
}

// viewOf is fn's view under the runner's isolation.
func (r *Runner) viewOf(fn *Function) view {
	if r.iso.on() {
		return view{task: sbx.TaskRoot, opt: sbx.OptRoot}
	}
	return view{task: fn.CodeDir, opt: fn.OptDir}
}

// translate maps a host path in fn's code or layers directory to the path
// the runtime sees.
func (v view) translate(fn *Function, p string) string {
	for _, m := range [][2]string{{fn.CodeDir, v.task}, {fn.OptDir, v.opt}} {
		if m[0] == "" {
			continue
		}
		if p == m[0] {
			return m[1]
		}
		if rest, ok := strings.CutPrefix(p, m[0]+"/"); ok {
			return m[1] + "/" + rest
		}
	}
	return p
}

// systemPrefixes are served in every sandbox anyway.
var systemPrefixes = []string{"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/"}

// sandboxSpec describes the sandbox of one of fn's runtime processes.
func (r *Runner) sandboxSpec(fn *Function, cmd *Command, env []string, uid int) (*sbx.Spec, error) {
	v := r.viewOf(fn)
	spec := &sbx.Spec{
		Path:    v.translate(fn, cmd.Path),
		Dir:     v.translate(fn, cmd.Dir),
		Env:     env,
		TaskDir: fn.CodeDir,
		OptDir:  fn.OptDir,
		TmpMB:   fn.EphemeralStorageMB,
		UID:     uid,
		GID:     uid,
		Pids:    r.iso.pids,
		RootDir: r.iso.rootDir,
	}
	if spec.Dir == "" {
		spec.Dir = sbx.TaskRoot
	}
	seen := map[string]bool{}
	for i, p := range append([]string{cmd.Path}, cmd.Args...) {
		t := v.translate(fn, p)
		if i > 0 {
			spec.Args = append(spec.Args, t)
		}
		if t != p || !filepath.IsAbs(p) || hasAnyPrefix(p, systemPrefixes) {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue // an argument that is not a file
		}
		// An interpreter in PREFIX/bin needs its whole install prefix
		// (its standard library); a script, its own directory.
		dir := filepath.Dir(p)
		if filepath.Base(dir) == "bin" {
			dir = filepath.Dir(dir)
		}
		if !seen[dir] {
			seen[dir] = true
			spec.ReadOnly = append(spec.ReadOnly, dir)
		}
	}
	for i, d := range cmd.CacheDirs {
		host := filepath.Join(r.iso.cacheDir, fn.Name, strconv.Itoa(i))
		if err := os.MkdirAll(host, 0o700); err != nil {
			return nil, fmt.Errorf("sandbox cache directory: %w", err)
		}
		// Shared by the function's sandboxes, each with its own UID; the
		// parent directories keep everyone else out.
		if err := os.Chmod(host, 0o777); err != nil {
			return nil, fmt.Errorf("sandbox cache directory: %w", err)
		}
		spec.Writable = append(spec.Writable, sbx.Bind{Host: host, Path: d})
	}
	return spec, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// checkReadable fails when the sandbox user could not read dir: as on
// Lambda, a function's files must be readable by others.
func (r *Runner) checkReadable(what, dir string) error {
	if r.iso.mode != sbx.Dedicated {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil // reported by the caller's own check
	}
	if st.Mode().Perm()&0o005 != 0o005 {
		return fmt.Errorf("%s %q is not readable by the sandbox's user (mode %v; run chmod -R a+rX %s): as on Lambda, a function's files must be readable by others",
			what, dir, st.Mode().Perm(), dir)
	}
	return nil
}

// peerListener accepts only connections opened by its own sandbox's
// processes: the Runtime API of a sandbox is on the shared loopback, so
// every other process on the machine could otherwise connect, take the
// sandbox's invocations and answer them.
type peerListener struct {
	net.Listener
	id *peerID
}

// peerID is who may connect to a sandbox's Runtime API.
type peerID struct {
	uid int          // Dedicated mode: the sandbox's UID
	pid atomic.Int64 // the runtime's PID once started; 0 before
}

// Accept returns the next connection that comes from the sandbox, closing
// every other one unread.
func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.fromSandbox(c) {
			return c, nil
		}
		c.Close()
	}
}

// fromSandbox looks the connecting socket up: in Dedicated mode its owner
// must be the sandbox's UID; in a user namespace (every sandbox shares the
// runner's UID) one of the sandbox's processes must hold it.
func (l *peerListener) fromSandbox(c net.Conn) bool {
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	uid, inode, err := sbx.SocketOwner(remote.AddrPort(), local.AddrPort())
	if err != nil {
		return false
	}
	if l.id.uid != 0 {
		return uid == l.id.uid
	}
	pid := l.id.pid.Load()
	return pid > 0 && sbx.HoldsSocket(int(pid), inode)
}

// RefuseSandboxes wraps ln, a listener of Portico's that is not for
// functions (the admin listener: console, metrics, profiles), so that
// connections opened from inside a sandbox are closed unread: sandboxes
// share the machine's loopback, and the console shows every function's
// requests and logs. A connection whose owner cannot be told (not IPv4)
// is refused too. Without isolation it returns ln itself.
func (r *Runner) RefuseSandboxes(ln net.Listener) net.Listener {
	if !r.iso.on() {
		return ln
	}
	return &sandboxGuard{Listener: ln, r: r}
}

type sandboxGuard struct {
	net.Listener
	r *Runner
}

// Accept returns the next connection that does not come from a sandbox.
func (g *sandboxGuard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !g.r.fromAnySandbox(c) {
			return c, nil
		}
		c.Close()
	}
}

// fromAnySandbox reports whether c was opened by a sandbox: in Dedicated
// mode its owner is a UID of the sandboxes' range; in a user namespace one
// of the sandboxes' processes holds it.
func (r *Runner) fromAnySandbox(c net.Conn) bool {
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return true
	}
	uid, inode, err := sbx.SocketOwner(remote.AddrPort(), local.AddrPort())
	if err != nil {
		return true
	}
	if r.iso.mode == sbx.Dedicated {
		u := r.cfg.SandboxUIDs
		return uid >= u.First && uid < u.First+u.Count
	}
	for _, pid := range r.runtimePIDs() {
		if sbx.HoldsSocket(pid, inode) {
			return true
		}
	}
	return false
}

// runtimePIDs lists the runtime processes of every sandbox.
func (r *Runner) runtimePIDs() []int {
	var out []int
	for _, p := range *r.pools.Load() {
		p.mu.Lock()
		for _, sb := range p.idle {
			out = append(out, sb.cmd.Process.Pid)
		}
		for sb := range p.busy {
			out = append(out, sb.cmd.Process.Pid)
		}
		p.mu.Unlock()
	}
	return out
}
