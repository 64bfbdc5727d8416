package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/awsauth"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/testtool"
)

// TestStartSeed starts the seed example's system in this process, as
// `portico up examples/seed` would, calls its API and its AWS endpoint
// (unsigned: refused; signed with the admin credentials: answered), stops
// it, and checks that nothing is left listening or running.
func TestStartSeed(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "needed for the seed's function")
	}
	before := runtime.NumGoroutine()
	logs := &syncWriter{w: &strings.Builder{}}
	defer func() {
		if t.Failed() {
			t.Logf("system log:\n%s", logs)
		}
	}()
	s, err := Start(context.Background(), Options{
		File:           filepath.Join("..", "..", "examples", "seed", "portico.yaml"),
		DataDir:        t.TempDir(),
		Listen:         "127.0.0.1:0",
		AWSListen:      "127.0.0.1:0",
		MaxConcurrency: 2,
	}, logs)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop(time.Second)
		}
	}()
	gateway, aws := s.GatewayAddr().String(), strings.TrimPrefix(s.AWSURL, "http://")
	var endpoint string
	for _, line := range Endpoints(s.Spec, s.GatewayAddr()) {
		if f := strings.Fields(line); len(f) == 4 && f[1] == "aiServicesHttpApi" && f[2] == "v1" {
			endpoint = f[3]
		}
	}
	if endpoint == "" {
		t.Fatalf("no endpoint for aiServicesHttpApi v1 in %v", Endpoints(s.Spec, s.GatewayAddr()))
	}

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	signed := &http.Client{Transport: &awsauth.Signer{AccessKeyID: s.Admin.AccessKeyID, SecretAccessKey: s.Admin.SecretAccessKey, Region: Region, Base: transport}, Timeout: time.Minute}
	tests := []struct {
		name       string
		client     *http.Client
		url        string
		wantStatus int
		wantBody   string
	}{
		{"the API calls the function", client, endpoint + "?text=the+answers+were+fast+and+accurate", 200, `"label": "positive"`},
		{"no route", client, "http://" + gateway + "/nope", 404, `{"message":"Not Found"}`},
		{"unsigned AWS call", client, s.AWSURL + "/2015-03-31/functions", 403, "Missing Authentication Token"},
		{"signed AWS call", signed, s.AWSURL + "/2015-03-31/functions", 200, `"FunctionName":"aiServiceFunction"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.client.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("GET %s: %d %s, want %d with %s", tt.url, resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if got := s.Spec.Functions["aiServiceFunction"]; got == nil || got.Runtime != "python3.8" {
		t.Errorf("spec function = %+v", got)
	}
	select {
	case err := <-s.Err():
		t.Errorf("a listener failed: %v", err)
	default:
	}

	s.Stop(10 * time.Second)
	stopped = true
	transport.CloseIdleConnections()
	for _, addr := range []string{gateway, aws} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Stop", addr)
		}
	}
	// Goroutines end shortly after Stop returns (connection handlers see
	// their connections closed): wait for the count to come back, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Stop, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestStartRefusesBadSpec: a spec with errors starts nothing and says
// where the errors are.
func TestStartRefusesBadSpec(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(file, []byte("functions:\n  f:\n    runtime: cobol\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	_, err := Start(context.Background(), Options{File: file, Listen: "127.0.0.1:0", AWSListen: "127.0.0.1:0"}, io.Discard)
	var list spec.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), "portico.yaml:3:") {
		t.Fatalf("err = %v, want a spec error at portico.yaml:3", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".portico")); err == nil {
		t.Errorf("a refused spec created its state directory")
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after a refused start, %d before", n, before)
	}
}

// syncWriter serializes writes from the system's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}
