package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cleanups is a stack of undo functions, run last-in first-out by run, on
// the normal path and on error or interrupt alike.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) push(f func()) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	for {
		c.mu.Lock()
		if len(c.fns) == 0 {
			c.mu.Unlock()
			return
		}
		f := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		c.mu.Unlock()
		f()
	}
}

// tail keeps the last n bytes written to it.
type tail struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = t.buf[len(t.buf)-t.n:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// proc is a process the harness started; stop ends it by PID.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *tail
	lines  chan string // stdout lines, closed at EOF
	exited chan struct{}
	once   sync.Once
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the process, waits up to 10 s, then SIGKILLs it.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// start starts name with args in its own process group, registers its stop
// on cl, and returns at once.
func start(cl *cleanups, dir, name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, stderr: &tail{n: 4096}, lines: make(chan string, 64), exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody listens any more; drop
			}
		}
		_, _ = io.Copy(io.Discard, out)
		close(p.lines)
		_ = cmd.Wait()
		close(p.exited)
	}()
	cl.push(p.stop)
	return p, nil
}

// waitLine waits for a stdout line for which match returns true.
func (p *proc) waitLine(ctx context.Context, d time.Duration, match func(string) bool) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("%s exited before it was ready: %s", p.name, truncate(p.stderr.String(), 500))
			}
			if match(l) {
				return l, nil
			}
		case <-timer.C:
			return "", fmt.Errorf("%s: not ready after %s: %s", p.name, d, truncate(p.stderr.String(), 500))
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// waitListening waits for "listening URL" on stdout and returns the URL.
func (p *proc) waitListening(ctx context.Context) (string, error) {
	l, err := p.waitLine(ctx, 15*time.Second, func(s string) bool { return strings.HasPrefix(s, "listening ") })
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(l, "listening "), nil
}

// waitTCP waits until addr accepts a connection or the process exits.
func (p *proc) waitTCP(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %s", p.name, truncate(p.stderr.String(), 500))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not accepting after %s: %w", p.name, addr, d, err)
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// errUnavailable marks a scenario that cannot run yet; its message says
// what it needs.
type errUnavailable struct{ need string }

func (e errUnavailable) Error() string { return "not available yet: needs " + e.need }

func isUnavailable(err error) bool {
	var u errUnavailable
	return errors.As(err, &u)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
