// Package redistest starts a throwaway redis-server for tests: loopback only,
// on a free port, with no persistence and a temporary directory. Tests skip
// when the redis-server binary (Debian package redis-server) is not
// installed. Every server is stopped by PID and reaped when the test ends.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/redisconn"
	"github.com/portico-dev/portico/internal/testtool"
)

// Server is a running redis-server owned by one test.
type Server struct {
	Addr string // 127.0.0.1:PORT
	URL  string // redis://127.0.0.1:PORT/0
	cmd  *exec.Cmd
	done chan struct{}
}

// Client dials the server with redisconn, as the process does (each call
// per-call bound timeout), and closes the client when t ends.
func (s *Server) Client(t testing.TB, timeout time.Duration) *redisconn.Client {
	t.Helper()
	c, err := redisconn.Dial(t.Context(), s.URL, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Start starts a redis-server for t and stops it when t ends. It skips t
// when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testtool.Missing(t, "redis-server", "not installed (Debian/Ubuntu: apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &Server{
		Addr: "127.0.0.1:" + strconv.Itoa(port),
		cmd:  cmd,
		done: make(chan struct{}),
	}
	s.URL = "redis://" + s.Addr + "/0"
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Kill)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := s.ping(); err == nil {
			return s
		} else if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not ready: %v", s.Addr, err)
		}
		select {
		case <-s.done:
			t.Fatalf("redis-server on %s exited at start", s.Addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// Kill stops the server (SIGKILL, after resuming it if paused) and waits
// for it to exit. It is safe to call more than once.
func (s *Server) Kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Pause stops the server process (SIGSTOP) so that it accepts connections
// but never answers: a Redis that is slow rather than gone.
func (s *Server) Pause() { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }
