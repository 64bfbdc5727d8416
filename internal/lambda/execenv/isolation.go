package execenv

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
	"time"

	sbx "github.com/portico-dev/portico/internal/lambda/sandbox"
)

// Isolation modes of HostConfig.Isolation.
const (
	IsolationAuto    = ""        // sandboxes where the machine allows them, else none (Host.Isolated says why)
	IsolationSandbox = "sandbox" // sandboxes, or NewHost fails
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
	DefaultSandboxPids = 1024 // Lambda's limit on processes and threads
	DefaultEphemeralMB = 512
)

// HostConfig is how a Host runs execution environments. The caller has
// defaulted and validated it.
type HostConfig struct {
	Isolation   string   // IsolationAuto, IsolationSandbox or IsolationNone
	MemoryLimit string   // a memory mode (MemoryCgroup2...), "" for the best available
	CacheDir    string   // the sandboxes' root and cache directories go under CacheDir/sandbox
	SandboxUIDs UIDRange // UIDs for sandboxes when running as root
	SandboxPids int      // processes and threads per sandbox
}

// Host is the machine's side of every execution environment: the
// isolation in use and the UIDs handed out, and the memory and pids
// limiters. It is safe for concurrent use.
type Host struct {
	iso     *isolation
	mem     *memLimiter
	pidsLim *pidsLimiter // nil without isolation
	now     func() time.Time
	wg      sync.WaitGroup // environments' goroutines
}

// NewHost sets up isolation and limits as cfg asks; in auto mode a machine
// that cannot sandbox gives isolation off with the reason (see Isolated).
// now is the clock of the Runtime API servers.
func NewHost(cfg HostConfig, now func() time.Time) (*Host, error) {
	iso, err := newIsolation(cfg)
	if err != nil {
		return nil, err
	}
	h := &Host{iso: iso, mem: newMemLimiter(cfg.MemoryLimit), now: now}
	if iso.on() {
		h.pidsLim = newPidsLimiter(h.mem)
	}
	return h, nil
}

// MemoryMode is the memory enforcement mode in use (MemoryCgroup2...).
func (h *Host) MemoryMode() string { return h.mem.mode }

// Wait waits until every environment started on h has been torn down.
func (h *Host) Wait() { h.wg.Wait() }

// Close removes the host's cgroups; call it after Wait.
func (h *Host) Close() {
	h.mem.close()
	if h.pidsLim != nil {
		h.pidsLim.close()
	}
}

// isolation is the host's sandboxing: off (mode ""), or the mode in use
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
func newIsolation(cfg HostConfig) (*isolation, error) {
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

// Isolated says whether environments run in sandboxes and how ("sandbox
// (dedicated-uid)"), or why not (e.g. "turned off with --isolation=none").
func (h *Host) Isolated() (isolated bool, detail string) {
	if h.iso.on() {
		return true, "sandbox (" + string(h.iso.mode) + ")"
	}
	return false, h.iso.reason
}

// View is where a runtime sees its code and its layers: /var/task and /opt
// in a sandbox, the host directories without one. The function's
// environment is built from it.
type View struct {
	Task, Opt string
}

// View is the view of a function with code in codeDir and layers in optDir
// ("" for none) under h's isolation.
func (h *Host) View(codeDir, optDir string) View {
	if h.iso.on() {
		return View{Task: sbx.TaskRoot, Opt: sbx.OptRoot}
	}
	return View{Task: codeDir, Opt: optDir}
}

// Translate maps a host path in the code directory codeDir or the layers
// directory optDir to the path the runtime sees.
func (v View) Translate(codeDir, optDir, p string) string {
	for _, m := range [][2]string{{codeDir, v.Task}, {optDir, v.Opt}} {
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

// sandboxSpec describes the sandbox of one runtime process.
func (h *Host) sandboxSpec(fn *Spec, env []string, uid int) (*sbx.Spec, error) {
	cmd := fn.Command
	v := h.View(fn.CodeDir, fn.OptDir)
	spec := &sbx.Spec{
		Path:    v.Translate(fn.CodeDir, fn.OptDir, cmd.Path),
		Dir:     v.Translate(fn.CodeDir, fn.OptDir, cmd.Dir),
		Env:     env,
		TaskDir: fn.CodeDir,
		OptDir:  fn.OptDir,
		TmpMB:   fn.TmpMB,
		UID:     uid,
		GID:     uid,
		Pids:    h.iso.pids,
		RootDir: h.iso.rootDir,
	}
	if spec.Dir == "" {
		spec.Dir = sbx.TaskRoot
	}
	seen := map[string]bool{}
	for i, p := range append([]string{cmd.Path}, cmd.Args...) {
		t := v.Translate(fn.CodeDir, fn.OptDir, p)
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
		host := filepath.Join(h.iso.cacheDir, fn.Function, strconv.Itoa(i))
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

// CheckReadable fails when the sandbox user could not read dir: as on
// Lambda, a function's files must be readable by others.
func (h *Host) CheckReadable(what, dir string) error {
	if h.iso.mode != sbx.Dedicated {
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
// is refused too. pids lists the runtime processes of every live
// environment. Without isolation it returns ln itself.
func (h *Host) RefuseSandboxes(ln net.Listener, pids func() []int) net.Listener {
	if !h.iso.on() {
		return ln
	}
	return &sandboxGuard{Listener: ln, h: h, pids: pids}
}

type sandboxGuard struct {
	net.Listener
	h    *Host
	pids func() []int
}

// Accept returns the next connection that does not come from a sandbox.
func (g *sandboxGuard) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !g.fromAnySandbox(c) {
			return c, nil
		}
		c.Close()
	}
}

// fromAnySandbox reports whether c was opened by a sandbox: in Dedicated
// mode its owner is a UID of the sandboxes' range; in a user namespace one
// of the sandboxes' processes holds it.
func (g *sandboxGuard) fromAnySandbox(c net.Conn) bool {
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return true
	}
	uid, inode, err := sbx.SocketOwner(remote.AddrPort(), local.AddrPort())
	if err != nil {
		return true
	}
	if iso := g.h.iso; iso.mode == sbx.Dedicated {
		return uid >= iso.first && uid < iso.first+len(iso.inUse)
	}
	for _, pid := range g.pids() {
		if sbx.HoldsSocket(pid, inode) {
			return true
		}
	}
	return false
}
