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
	peer  peerID       // who may connect to api
	out   *os.File     // read end of the runtime's stdout+stderr pipe
	mem   *memGroup
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

	r.wg.Add(2)
	go func() { defer r.wg.Done(); sb.readOutput() }()
	go func() { defer r.wg.Done(); sb.wait() }()
	if sb.proc != nil {
		// The helper waited for the cgroups; now it builds the sandbox
		// and executes the runtime.
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
	sb.pool.r.iso.releaseUID(sb.peer.uid)
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
// invocation would fail with Runtime.ExitError). One read of
// /proc/PID/stat: the state (Z, X), the PF_EXITING flag (set once the
// SIGKILL was taken, while the exit runs) and the pending signals.
func (sb *sandbox) dying() bool {
	if runtime.GOOS != "linux" {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(sb.cmd.Process.Pid) + "/stat")
	if err != nil {
		return true // already reaped
	}
	// pid (comm) state ppid ... field 31 is the pending signal mask.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 29 {
		return false
	}
	if f[0] == "Z" || f[0] == "X" || f[0] == "x" {
		return true
	}
	const pfExiting = 0x4
	if flags, _ := strconv.ParseUint(f[6], 10, 64); flags&pfExiting != 0 {
		return true
	}
	pending, _ := strconv.ParseUint(f[28], 10, 64)
	return pending&(1<<(syscall.SIGKILL-1)) != 0
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
