// Package s3test starts a real S3 server for tests: versitygw (its posix
// backend) on a loopback port, so Portico's store and its external-store
// mode can be checked against an independent S3 implementation.
package s3test

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// VersitygwVersion is the versitygw .ci/run installs.
const VersitygwVersion = "v1.8.0"

// Server is a running S3 server.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT; path-style addressing.
	Endpoint string
	// AccessKey and SecretKey are its root credentials; region us-east-1.
	AccessKey, SecretKey string
	// Root is the posix backend's directory (bucket/key as files).
	Root string
}

// StartVersitygw runs versitygw on a free loopback port and waits until it
// accepts connections; it is killed when the test ends. Without versitygw
// on PATH the test is skipped, or fails when CI=true.
func StartVersitygw(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		testtool.Missing(t, "versitygw", fmt.Sprintf("not installed (go install github.com/versity/versitygw/cmd/versitygw@%s)", VersitygwVersion))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := &Server{Endpoint: "http://" + addr, AccessKey: "VERSITYTESTACCESS", SecretKey: "versity-test-secret-key", Root: t.TempDir()}
	cmd := exec.Command(bin, "--port", addr, "--access", srv.AccessKey, "--secret", srv.SecretKey, "--region", "us-east-1", "--quiet",
		"posix", srv.Root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return srv
		}
		select {
		case err := <-exited:
			t.Fatalf("versitygw exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw not listening on %s after 30s\n%s", addr, out.String())
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
