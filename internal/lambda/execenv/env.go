package execenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/lambda/runtimeapi"
	sbx "github.com/portico-dev/portico/internal/lambda/sandbox"
)

// maxLogLine is the longest line kept as one log event; longer output is
// split.
const maxLogLine = 256 * 1024

// Env is one execution environment: a long-lived runtime process, its own
// Runtime API listener, the capture of its output, and its limits. It
// serves one invocation at a time; its owner (a pool) decides when.
// Its methods are safe for concurrent use.
type Env struct {
	host  *Host
	api   *runtimeapi.Server // also serves ln (runtimeapi.Server.Serve)
	ln    net.Listener       // a peerListener when isolated
	cmd   *exec.Cmd
	proc  *sbx.Process // the isolated sandbox being started; nil without isolation
	peer  peerID       // who may connect to api
	out   *os.File     // read end of the runtime's stdout+stderr pipe
	log   func(line []byte)
	mem   *memGroup
	pids  *pidsGroup  // nil without isolation
	timer *time.Timer // reused for every invocation's deadline

	startedAt time.Time

	statMu sync.Mutex
	stat   *os.File // the runtime's /proc/PID/status, opened by Dying

	exited   chan struct{} // closed once the process has been reaped
	exitErr  error         // cmd.Wait's error, valid after exited
	oomKill  bool          // the OOM killer struck, valid after exited
	exitPeak int           // peak memory in MiB at exit, valid after exited
	killed   atomic.Bool   // the owner killed it (timeout, cancel, drain)
	outDone  chan struct{} // closed when the output reader stops
	readerUp atomic.Int32  // 1 while the reader waits in Read with nothing pending
}

// Spec is what one execution environment runs.
type Spec struct {
	Function string   // the function's name (its cache directories)
	Command  *Command // how to start the runtime, in host paths
	CodeDir  string   // the function's code directory
	OptDir   string   // its layers, "" for none
	TmpMB    int      // the private /tmp's size
	MemoryMB int      // the memory limit
	// AddressSpace allows the rlimit memory mode (RLIMIT_AS) for this
	// runtime; false for runtimes that reserve far more than they use
	// (Node.js).
	AddressSpace bool
	// Env is the runtime's environment, given the Runtime API's address
	// (host:port) and where the runtime sees its code and layers.
	Env func(runtimeAPI string, v View) []string
	// Log receives each line the runtime writes to stdout or stderr, from
	// one goroutine, in order.
	Log func(line []byte)
}

// Start starts a runtime process as spec says. Errors are start failures
// (to report as Runtime.InvalidEntrypoint).
func (h *Host) Start(spec Spec) (*Env, error) {
	cmdSpec := spec.Command
	uid, err := h.iso.takeUID()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.iso.releaseUID(uid)
		return nil, fmt.Errorf("runtime api listener: %w", err)
	}
	api := runtimeapi.New(h.now)
	sb := &Env{
		host:    h,
		api:     api,
		ln:      ln,
		log:     spec.Log,
		exited:  make(chan struct{}),
		outDone: make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
	}
	sb.peer.uid = uid
	sb.timer.Stop()
	env := spec.Env(ln.Addr().String(), h.View(spec.CodeDir, spec.OptDir))
	var cmd *exec.Cmd
	if h.iso.on() {
		spec, err := h.sandboxSpec(&spec, env, uid)
		if err == nil {
			sb.proc, err = sbx.Prepare(spec, h.iso.mode)
		}
		if err != nil {
			ln.Close()
			h.iso.releaseUID(uid)
			return nil, err
		}
		cmd = sb.proc.Cmd
		sb.ln = &peerListener{Listener: ln, id: &sb.peer}
	} else {
		cmd = exec.Command(cmdSpec.Path, cmdSpec.Args...)
		cmd.Dir = cmdSpec.Dir
		if cmd.Dir == "" {
			cmd.Dir = spec.CodeDir
		}
		cmd.Env = env
		cmd.SysProcAttr = plainProcAttr()
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		ln.Close()
		h.iso.releaseUID(uid)
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = wr, wr
	sb.cmd, sb.out = cmd, rd

	h.wg.Add(1)
	go func() { defer h.wg.Done(); api.Serve(sb.ln) }()

	sb.startedAt = h.now()
	if sb.proc != nil {
		err = sb.proc.Start()
	} else {
		err = cmd.Start()
	}
	if err != nil {
		wr.Close()
		rd.Close()
		sb.api.Shutdown()
		h.iso.releaseUID(uid)
		return nil, err
	}
	wr.Close()
	sb.peer.pid.Store(int64(cmd.Process.Pid))
	sb.mem = h.mem.attach(cmd.Process.Pid, spec.MemoryMB, spec.AddressSpace)
	if h.pidsLim != nil {
		sb.pids = h.pidsLim.attach(cmd.Process.Pid, h.iso.pids, sb.mem)
	}

	h.wg.Add(2)
	go func() { defer h.wg.Done(); sb.readOutput() }()
	go func() { defer h.wg.Done(); sb.wait() }()
	if sb.proc != nil {
		// The helper built the sandbox meanwhile and waited for the
		// cgroups; now it executes the runtime.
		if err := sb.proc.Release(); err != nil {
			sb.Kill()
			return nil, err
		}
	}
	return sb, nil
}

// API is the environment's Runtime API server: invocations go through it.
func (sb *Env) API() *runtimeapi.Server { return sb.api }

// StartedAt is when the runtime process was started.
func (sb *Env) StartedAt() time.Time { return sb.startedAt }

// PID is the runtime process's ID.
func (sb *Env) PID() int { return sb.cmd.Process.Pid }

// Timer is a stopped timer for its owner's invocation deadlines, reused
// so that an invocation allocates none; one invocation at a time uses it.
func (sb *Env) Timer() *time.Timer { return sb.timer }

// Exited is closed once the runtime process has been reaped.
func (sb *Env) Exited() <-chan struct{} { return sb.exited }

// OutputDone is closed once all of the runtime's output has been read (and
// given to Spec.Log).
func (sb *Env) OutputDone() <-chan struct{} { return sb.outDone }

// OOMKilled reports whether the kernel's OOM killer ended the runtime;
// valid once Exited is closed.
func (sb *Env) OOMKilled() bool { return sb.oomKill }

// wait reaps the process, then tears down everything else of the sandbox.
func (sb *Env) wait() {
	sb.exitErr = sb.cmd.Wait()
	// Read the accounting before the group goes away.
	sb.oomKill = sb.mem.oomKilled()
	sb.exitPeak = sb.mem.peakMB()
	close(sb.exited)
	sb.api.Close()
	// Anything left in the process group or cgroup goes too.
	syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
	sb.mem.killAll()
	select {
	case <-sb.outDone:
	case <-time.After(200 * time.Millisecond):
		sb.out.Close() // a straggler holds the pipe open; stop reading
		<-sb.outDone
	}
	sb.api.Shutdown()
	sb.mem.remove()
	sb.pids.remove()
	sb.host.iso.releaseUID(sb.peer.uid)
	sb.statMu.Lock()
	if sb.stat != nil {
		sb.stat.Close()
		sb.stat = nil
	}
	sb.statMu.Unlock()
}

// Dead reports whether the process has exited.
func (sb *Env) Dead() bool {
	select {
	case <-sb.exited:
		return true
	default:
		return false
	}
}

// Dying reports whether the runtime, not yet reaped, is exiting or has
// been sent SIGKILL (by anyone): a warm sandbox killed a moment before an
// invocation must not be handed it (its process can no longer run, and the
// invocation would fail with Runtime.ExitError). It reads /proc/PID/status
// (kept open, so a reused PID cannot fool it): the state (zombie, dead) and
// the pending signals, the process-wide set (ShdPnd) keeping a SIGKILL
// sent to the process until its last thread is gone. Off Linux it is
// always false.
func (sb *Env) Dying() bool {
	if runtime.GOOS != "linux" {
		return false
	}
	sb.statMu.Lock()
	defer sb.statMu.Unlock()
	if sb.stat == nil {
		f, err := os.Open("/proc/" + strconv.Itoa(sb.cmd.Process.Pid) + "/status")
		if err != nil {
			return true // already reaped
		}
		sb.stat = f
	}
	var buf [4096]byte
	n, err := sb.stat.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return true // the process is gone (ESRCH)
	}
	b := buf[:n]
	if st := statusField(b, "State:"); len(st) > 0 && (st[0] == 'Z' || st[0] == 'X') {
		return true
	}
	const sigkill = 1 << (syscall.SIGKILL - 1)
	return parseHex(statusField(b, "ShdPnd:"))&sigkill != 0 || parseHex(statusField(b, "SigPnd:"))&sigkill != 0
}

// statusField is the value of a "Name:\tvalue" line of /proc/PID/status,
// nil when absent.
func statusField(b []byte, name string) []byte {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return nil
	}
	v := b[i+len(name):]
	if j := bytes.IndexByte(v, '\n'); j >= 0 {
		v = v[:j]
	}
	return bytes.TrimSpace(v)
}

// parseHex parses hexadecimal digits without allocating; 0 on anything
// else.
func parseHex(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | uint64(c-'a'+10)
		default:
			return 0
		}
	}
	return n
}

// Kill SIGKILLs the runtime's whole process group (and cgroup). Teardown
// continues on its own; Exited closes when it is done.
func (sb *Env) Kill() {
	sb.killed.Store(true)
	syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
	sb.mem.killAll()
}

// readOutput captures the runtime's stdout and stderr line by line into
// Spec.Log.
func (sb *Env) readOutput() {
	defer close(sb.outDone)
	defer sb.out.Close()
	buf := make([]byte, 32*1024)
	var partial []byte
	for {
		sb.readerUp.Store(1)
		n, err := sb.out.Read(buf)
		sb.readerUp.Store(0)
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				partial = append(partial, data...)
				if len(partial) >= maxLogLine {
					sb.log(partial)
					partial = partial[:0]
				}
				break
			}
			line := data[:i]
			if len(partial) > 0 {
				partial = append(partial, line...)
				line = partial
			}
			sb.log(bytes.TrimSuffix(line, []byte("\r")))
			partial = partial[:0]
			data = data[i+1:]
		}
		if err != nil {
			if len(partial) > 0 {
				sb.log(partial)
			}
			return
		}
	}
}

// DrainOutput waits (briefly) until output the runtime wrote before
// answering has been read, so that it lands before END in the log.
func (sb *Env) DrainOutput() {
	deadline := time.Now().Add(20 * time.Millisecond)
	for {
		if sb.outputIdle() || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// outputIdle: the pipe holds no unread bytes and the reader is parked.
func (sb *Env) outputIdle() bool {
	select {
	case <-sb.outDone:
		return true
	default:
	}
	if sb.readerUp.Load() != 1 {
		return false
	}
	pending, ok := unreadBytes(sb.out)
	if !ok {
		return true
	}
	return pending == 0 && sb.readerUp.Load() == 1
}

// PeakMB is the environment's peak memory use in MiB.
func (sb *Env) PeakMB() int {
	if sb.Dead() {
		return sb.exitPeak
	}
	return sb.mem.peakMB()
}

// ExitDescription is how Lambda words the exit: "exit status 3",
// "signal: killed"; "" for a clean exit 0. Valid once Exited is closed.
func (sb *Env) ExitDescription() string {
	var ee *exec.ExitError
	if errors.As(sb.exitErr, &ee) {
		return ee.ProcessState.String()
	}
	if sb.exitErr != nil {
		return sb.exitErr.Error()
	}
	return ""
}

// RuntimeAPI is the address (host:port) of the environment's Runtime API.
func (sb *Env) RuntimeAPI() string { return sb.ln.Addr().String() }
