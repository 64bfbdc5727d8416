package sandbox

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"
)

// init turns the process into the sandbox helper when it was started as
// one (argv[0] is initArg). It lives in init, not in a hook each main must
// call, so that every binary linking the runner (portico, each package's
// test binary) can serve as the helper: a forgotten hook would make the
// helper run the host program's own main. It never returns in the helper.
func init() {
	if len(os.Args) == 0 || os.Args[0] != initArg {
		return
	}
	// Capabilities, no_new_privs and the parent-death signal are per
	// thread: set them all on the thread that executes the runtime.
	runtime.LockOSThread()
	if len(os.Args) == 3 && os.Args[1] == probeArg {
		if err := probeChild(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	err := initChild()
	status := os.NewFile(4, "status")
	fmt.Fprint(status, err)
	os.Exit(127)
}

// Available reports that this system has the kernel features (Probe tells
// whether they are usable).
const Available = true

// ModeFor is the mode sandboxes of this process use: Dedicated as root,
// UserNamespace otherwise.
func ModeFor() Mode {
	if os.Geteuid() == 0 {
		return Dedicated
	}
	return UserNamespace
}

// Probe checks that this process can create sandboxes: it starts a helper in
// new namespaces that mounts a tmpfs on rootDir and a /proc. The error says
// what is missing (e.g. user namespaces disabled).
func Probe(rootDir string) (Mode, error) {
	mode := ModeFor()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{initArg, probeArg, rootDir}
	cmd.Env = []string{}
	cmd.SysProcAttr = sysProcAttr(mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return mode, fmt.Errorf("sandbox probe: %s", msg)
		}
		return mode, fmt.Errorf("sandbox probe: %w", err)
	}
	return mode, nil
}

// sysProcAttr puts the helper into new PID, mount and IPC namespaces (and a
// user namespace when the runner is not root), in a process group of its own
// and killed with the runner.
func sysProcAttr(mode Mode) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC,
	}
	if mode == UserNamespace {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	return a
}

// Process is a sandbox being started. Prepare, set Cmd's Stdout and
// Stderr, Start, put the PID into cgroups, then Release.
type Process struct {
	Cmd     *exec.Cmd
	spec    []byte
	specW   *os.File
	statusR *os.File
	closers []*os.File // the child's ends, closed after Start
}

// Prepare returns the helper's command for spec in mode.
func Prepare(spec *Spec, mode Mode) (*Process, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox spec: %w", err)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox pipe: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		specR.Close()
		specW.Close()
		return nil, fmt.Errorf("sandbox pipe: %w", err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{initArg}
	cmd.Env = []string{}
	cmd.ExtraFiles = []*os.File{specR, statusW} // fds 3 and 4
	cmd.SysProcAttr = sysProcAttr(mode)
	return &Process{Cmd: cmd, spec: b, specW: specW, statusR: statusR, closers: []*os.File{specR, statusW}}, nil
}

// Start starts the helper and sends it the spec: it builds the sandbox
// while the caller puts its PID into cgroups, then waits for Release
// before it executes the runtime.
func (p *Process) Start() error {
	err := p.Cmd.Start()
	for _, f := range p.closers {
		f.Close()
	}
	if err != nil {
		p.specW.Close()
		p.statusR.Close()
		return fmt.Errorf("sandbox: start helper: %w", err)
	}
	// One line of JSON (json.Marshal escapes newlines); the pipe holds it
	// whole, so this does not wait for the helper.
	if _, err := p.specW.Write(append(p.spec, '\n')); err != nil {
		p.specW.Close()
		p.statusR.Close()
		return fmt.Errorf("sandbox: send spec: %w", err)
	}
	return nil
}

// Release lets the helper execute the runtime and waits until it has, or
// has failed (the error then says what failed; the helper exits).
func (p *Process) Release() error {
	_, werr := p.specW.Write([]byte{'!'})
	p.specW.Close()
	msg, rerr := io.ReadAll(p.statusR) // EOF at the runtime's exec (close-on-exec)
	p.statusR.Close()
	switch {
	case len(msg) > 0:
		return fmt.Errorf("sandbox: %s", msg)
	case werr != nil:
		return fmt.Errorf("sandbox: release: %w", werr)
	case rerr != nil:
		return fmt.Errorf("sandbox: read status: %w", rerr)
	}
	return nil
}

// initChild runs in the helper: it reads the spec, builds the sandbox and
// executes the runtime. It returns only on failure.
func initChild() error {
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	in := bufio.NewReader(os.NewFile(3, "spec"))
	line, err := in.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	var spec Spec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if err := buildRoot(&spec); err != nil {
		return err
	}
	if err := dropPrivileges(&spec); err != nil {
		return err
	}
	if b, err := in.ReadByte(); err != nil || b != '!' {
		return fmt.Errorf("not released: %v", err)
	}
	argv := append([]string{spec.Path}, spec.Args...)
	if err := syscall.Exec(spec.Path, argv, spec.Env); err != nil {
		return fmt.Errorf("exec %s: %w", spec.Path, err)
	}
	return nil
}

// probeChild checks the mounts a sandbox needs.
func probeChild(root string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := syscall.Mount("tmpfs", root, "tmpfs", syscall.MS_NOSUID, "size=64k,mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	if err := os.Mkdir(filepath.Join(root, "proc"), 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("proc", filepath.Join(root, "proc"), "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	return nil
}

// systemDirs are served read-only (or recreated as the same symlinks) in
// every sandbox: what interpreters and their shared libraries need.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// devices are bound from the host's /dev.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// buildRoot makes the sandbox's root in a tmpfs on spec.RootDir and pivots
// into it.
func buildRoot(spec *Spec) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := spec.RootDir
	if err := syscall.Mount("tmpfs", root, "tmpfs", syscall.MS_NOSUID, "size=1m,mode=0755"); err != nil {
		return fmt.Errorf("mount root tmpfs on %s: %w", root, err)
	}
	for _, d := range systemDirs {
		st, err := os.Lstat(d)
		switch {
		case err != nil:
			continue
		case st.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(d)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, filepath.Join(root, d)); err != nil {
				return err
			}
		case st.IsDir():
			if err := bind(d, filepath.Join(root, d), true, true); err != nil {
				return err
			}
		}
	}
	if err := userEntries(spec, root); err != nil {
		return err
	}
	if err := bind(spec.TaskDir, filepath.Join(root, TaskRoot), true, true); err != nil {
		return err
	}
	if spec.OptDir != "" {
		if err := bind(spec.OptDir, filepath.Join(root, OptRoot), true, true); err != nil {
			return err
		}
	} else if err := os.MkdirAll(filepath.Join(root, OptRoot), 0o755); err != nil {
		return err
	}
	// /tmp before the runtime's files: those under the host's /tmp (a
	// cache directory there) must land inside it, not under it.
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", tmp, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV,
		fmt.Sprintf("size=%dm,mode=1777", spec.TmpMB)); err != nil {
		return fmt.Errorf("mount /tmp: %w", err)
	}
	for _, p := range spec.ReadOnly {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("runtime file: %w", err)
		}
		if err := bind(p, filepath.Join(root, p), st.IsDir(), true); err != nil {
			return err
		}
	}
	for _, b := range spec.Writable {
		if err := bind(b.Host, filepath.Join(root, b.Path), true, false); err != nil {
			return err
		}
	}
	dev := filepath.Join(root, "dev")
	if err := os.Mkdir(dev, 0o755); err != nil {
		return err
	}
	for _, d := range devices {
		if _, err := os.Stat("/dev/" + d); err != nil {
			continue
		}
		if err := bind("/dev/"+d, filepath.Join(dev, d), false, false); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	proc := filepath.Join(root, "proc")
	if err := os.Mkdir(proc, 0o555); err != nil {
		return err
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching
	// it leaves only the new root.
	if err := syscall.Chdir(root); err != nil {
		return err
	}
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return err
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY|syscall.MS_NOSUID, ""); err != nil {
		return fmt.Errorf("remount root read-only: %w", err)
	}
	if err := syscall.Chdir(spec.Dir); err != nil {
		return fmt.Errorf("working directory %s: %w", spec.Dir, err)
	}
	return nil
}

// userEntries gives the sandbox's dedicated user a name and a home, as
// Lambda's sbx_user1051 has: the host's /etc/passwd and /etc/group with one
// more line each, bound over the read-only /etc. Code that asks for the
// user's home (Python's Path.home(), Node's os.homedir()) then works as on
// Lambda, where the home directory exists in name only.
func userEntries(spec *Spec, root string) error {
	if spec.UID == 0 {
		return nil // a user namespace: the runner's own user
	}
	for _, f := range []struct{ name, line string }{
		{"passwd", fmt.Sprintf("sbx_user1051:x:%d:%d::/home/sbx_user1051:/sbin/nologin\n", spec.UID, spec.GID)},
		{"group", fmt.Sprintf("sbx_user1051:x:%d:\n", spec.GID)},
	} {
		host, err := os.ReadFile("/etc/" + f.name)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		if len(host) > 0 && host[len(host)-1] != '\n' {
			host = append(host, '\n')
		}
		src := filepath.Join(root, ".etc-"+f.name)
		if err := os.WriteFile(src, append(host, f.line...), 0o644); err != nil {
			return err
		}
		if err := bind(src, filepath.Join(root, "etc", f.name), false, true); err != nil {
			return err
		}
	}
	return nil
}

// bind mounts src on dst (created as a directory or an empty file), then
// remounts it nosuid and, with ro, read-only, keeping the flags the kernel
// locks in a user namespace.
func bind(src, dst string, dir, ro bool) error {
	if dir {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
	} else if _, err := os.Stat(dst); err != nil { // an existing file is a mount point as it is
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dst, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", dst, err)
	}
	flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_NOSUID)
	const stNoatime, stNodiratime, stRelatime = 1024, 2048, 4096
	f := st.Flags
	if ro || f&syscall.MS_RDONLY != 0 {
		flags |= syscall.MS_RDONLY
	}
	if f&syscall.MS_NODEV != 0 {
		flags |= syscall.MS_NODEV
	}
	if f&syscall.MS_NOEXEC != 0 {
		flags |= syscall.MS_NOEXEC
	}
	if f&stNoatime != 0 {
		flags |= syscall.MS_NOATIME
	}
	if f&stNodiratime != 0 {
		flags |= syscall.MS_NODIRATIME
	}
	if f&(stNoatime|stRelatime) == 0 {
		flags |= syscall.MS_STRICTATIME
	}
	if err := syscall.Mount("", dst, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s: %w", dst, err)
	}
	return nil
}

// prctl options and capability constants not in package syscall.
const (
	prSetNoNewPrivs       = 38
	prCapAmbient          = 47
	prCapAmbientClearAll  = 4
	rlimitNPROC           = 6
	linuxCapabilityV3     = 0x20080522
	lastCapabilityToProbe = 63
)

// dropPrivileges clears the bounding and ambient capability sets, sets
// no_new_privs and the process cap, switches to the sandbox's user (as
// root) and drops every capability left.
func dropPrivileges(spec *Spec) error {
	dedicated := os.Geteuid() == 0 && spec.UID > 0
	if dedicated && spec.Pids > 0 {
		lim := syscall.Rlimit{Cur: uint64(spec.Pids), Max: uint64(spec.Pids)}
		if err := syscall.Setrlimit(rlimitNPROC, &lim); err != nil {
			return fmt.Errorf("process limit: %w", err)
		}
	}
	for c := 0; c <= lastCapabilityToProbe; c++ {
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_CAPBSET_DROP, uintptr(c), 0); e != 0 {
			if e == syscall.EINVAL {
				break // past the kernel's last capability
			}
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, e)
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prCapAmbient, prCapAmbientClearAll, 0, 0, 0, 0); e != 0 && e != syscall.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", e)
	}
	if dedicated {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setresgid(spec.GID, spec.GID, spec.GID); err != nil {
			return fmt.Errorf("setresgid %d: %w", spec.GID, err)
		}
		if err := syscall.Setresuid(spec.UID, spec.UID, spec.UID); err != nil {
			return fmt.Errorf("setresuid %d: %w", spec.UID, err)
		}
	}
	hdr := struct {
		version uint32
		pid     int32
	}{linuxCapabilityV3, 0}
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("no_new_privs: %w", e)
	}
	// A change of credentials clears the parent-death signal.
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0); e != 0 {
		return fmt.Errorf("parent-death signal: %w", e)
	}
	return nil
}
