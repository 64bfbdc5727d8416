package lambda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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

// sandbox is one execution environment: a long-lived runtime process, its
// own Runtime API listener, and the capture of its output. It serves one
// invocation at a time; the pool owns it between invocations.
type sandbox struct {
	pool  *pool
	api   *runtimeapi.Server // also serves ln (runtimeapi.Server.Serve)
	ln    net.Listener       // a peerListener when isolated
	cmd   *exec.Cmd
	proc  *sbx.Process // the isolated sandbox being started; nil without isolation
	stat  *os.File     // the runtime's /proc/PID/status, opened by dying; guarded by pool.mu
	peer  peerID       // who may connect to api
	out   *os.File     // read end of the runtime's stdout+stderr pipe
	mem   *memGroup
	pids  *pidsGroup  // nil without isolation
	timer *time.Timer // reused for every invocation's deadline

	startedAt time.Time
	state     SandboxState // for the Observer; see pool.sandboxChanged
	served    bool         // has taken an invocation (only the invoking goroutine touches it)
	lastUsed  time.Time    // guarded by pool.mu

	exited   chan struct{} // closed once the process has been reaped
	exitErr  error         // cmd.Wait's error, valid after exited
	oomKill  bool          // the OOM killer struck, valid after exited
	exitPeak int           // peak memory in MiB at exit, valid after exited
	killed   atomic.Bool   // the runner killed it (timeout, cancel, drain)
	outDone  chan struct{} // closed when the output reader stops
	readerUp atomic.Int32  // 1 while the reader waits in Read with nothing pending

	logMu sync.Mutex
	tail  *tailBuf // the current invocation's log tail, nil when not wanted
}

// startSandbox starts a runtime process for p's function; withTail starts
// the first invocation's log tail before the process writes anything.
// Errors are start failures to report as Runtime.InvalidEntrypoint.
func (p *pool) startSandbox(ctx context.Context, cmdSpec *Command, withTail bool) (*sandbox, error) {
	r := p.r
	uid, err := r.iso.takeUID()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.iso.releaseUID(uid)
		return nil, fmt.Errorf("runtime api listener: %w", err)
	}
	api := runtimeapi.New(r.now)
	sb := &sandbox{
		pool:    p,
		api:     api,
		ln:      ln,
		exited:  make(chan struct{}),
		outDone: make(chan struct{}),
		timer:   time.NewTimer(time.Hour),
	}
	sb.peer.uid = uid
	sb.timer.Stop()
	if withTail {
		sb.tail = &tailBuf{}
	}
	env := r.sandboxEnv(&p.fn, cmdSpec, ln.Addr().String(), r.viewOf(&p.fn))
	var cmd *exec.Cmd
	if r.iso.on() {
		spec, err := r.sandboxSpec(&p.fn, cmdSpec, env, uid)
		if err == nil {
			sb.proc, err = sbx.Prepare(spec, r.iso.mode)
		}
		if err != nil {
			ln.Close()
			r.iso.releaseUID(uid)
			return nil, err
		}
		cmd = sb.proc.Cmd
		sb.ln = &peerListener{Listener: ln, id: &sb.peer}
	} else {
		cmd = exec.Command(cmdSpec.Path, cmdSpec.Args...)
		cmd.Dir = cmdSpec.Dir
		if cmd.Dir == "" {
			cmd.Dir = p.fn.CodeDir
		}
		cmd.Env = env
		cmd.SysProcAttr = plainProcAttr()
	}
	rd, wr, err := os.Pipe()
	if err != nil {
		ln.Close()
		r.iso.releaseUID(uid)
		return nil, fmt.Errorf("output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = wr, wr
	sb.cmd, sb.out = cmd, rd

	r.wg.Add(1)
	go func() { defer r.wg.Done(); api.Serve(sb.ln) }()

	sb.startedAt = r.now()
	if sb.proc != nil {
		err = sb.proc.Start()
	} else {
		err = cmd.Start()
	}
	if err != nil {
		wr.Close()
		rd.Close()
		sb.api.Shutdown()
		r.iso.releaseUID(uid)
		return nil, err
	}
	wr.Close()
	sb.peer.pid.Store(int64(cmd.Process.Pid))
	sb.mem = r.mem.attach(cmd.Process.Pid, p.fn.MemoryMB, !strings.HasPrefix(p.fn.Runtime, "nodejs"))
	if r.pidsLim != nil {
		sb.pids = r.pidsLim.attach(cmd.Process.Pid, r.iso.pids, sb.mem)
	}

	r.wg.Add(2)
	go func() { defer r.wg.Done(); sb.readOutput() }()
	go func() { defer r.wg.Done(); sb.wait() }()
	if sb.proc != nil {
		// The helper built the sandbox meanwhile and waited for the
		// cgroups; now it executes the runtime.
		if err := sb.proc.Release(); err != nil {
			sb.kill()
			return nil, err
		}
	}
	return sb, nil
}

// wait reaps the process, then tears down everything else of the sandbox.
func (sb *sandbox) wait() {
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
	sb.pool.r.iso.releaseUID(sb.peer.uid)
	sb.pool.mu.Lock()
	if sb.stat != nil {
		sb.stat.Close()
		sb.stat = nil
	}
	sb.pool.mu.Unlock()
}

// dead reports whether the process has exited.
func (sb *sandbox) dead() bool {
	select {
	case <-sb.exited:
		return true
	default:
		return false
	}
}

// dying reports whether the runtime, not yet reaped, is exiting or has
// been sent SIGKILL (by anyone): a warm sandbox killed a moment before an
// invocation must not be handed it (its process can no longer run, and the
// invocation would fail with Runtime.ExitError). It reads /proc/PID/status
// (kept open, so a reused PID cannot fool it): the state (zombie, dead) and
// the pending signals, the process-wide set (ShdPnd) keeping a SIGKILL
// sent to the process until its last thread is gone. The caller holds
// pool.mu.
func (sb *sandbox) dying() bool {
	if runtime.GOOS != "linux" {
		return false
	}
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

// kill SIGKILLs the runtime's whole process group (and cgroup). Teardown
// continues in wait.
func (sb *sandbox) kill() {
	sb.killed.Store(true)
	syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL)
	sb.mem.killAll()
}

// readOutput captures the runtime's stdout and stderr line by line into the
// function's log (and the current invocation's tail).
func (sb *sandbox) readOutput() {
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
					sb.logLine(partial)
					partial = partial[:0]
				}
				break
			}
			line := data[:i]
			if len(partial) > 0 {
				partial = append(partial, line...)
				line = partial
			}
			sb.logLine(bytes.TrimSuffix(line, []byte("\r")))
			partial = partial[:0]
			data = data[i+1:]
		}
		if err != nil {
			if len(partial) > 0 {
				sb.logLine(partial)
			}
			return
		}
	}
}

// logLine writes one line to the function's log and the invocation tail.
func (sb *sandbox) logLine(line []byte) {
	sb.pool.logs.write(line)
	sb.logMu.Lock()
	if sb.tail != nil {
		sb.tail.writeLine(line)
	}
	sb.logMu.Unlock()
}

// platformLine writes a line of the platform's own (START, END, REPORT...).
func (sb *sandbox) platformLine(s string) { sb.logLine([]byte(s)) }

// drainOutput waits (briefly) until output the runtime wrote before
// answering has been read, so that it lands before END in the log.
func (sb *sandbox) drainOutput() {
	deadline := time.Now().Add(20 * time.Millisecond)
	for {
		if sb.outputIdle() || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// outputIdle: the pipe holds no unread bytes and the reader is parked.
func (sb *sandbox) outputIdle() bool {
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

// peakMB is the sandbox's peak memory use in MiB.
func (sb *sandbox) peakMB() int {
	if sb.dead() {
		return sb.exitPeak
	}
	return sb.mem.peakMB()
}

// exitDescription is how Lambda words the exit: "exit status 3",
// "signal: killed"; "" for a clean exit 0.
func (sb *sandbox) exitDescription() string {
	var ee *exec.ExitError
	if errors.As(sb.exitErr, &ee) {
		return ee.ProcessState.String()
	}
	if sb.exitErr != nil {
		return sb.exitErr.Error()
	}
	return ""
}
