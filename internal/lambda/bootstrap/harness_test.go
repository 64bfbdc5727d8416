package bootstrap_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
	"github.com/portico-dev/portico/internal/testtool"
)

// cacheDir is shared by the package's tests so interpreters compile the
// standard library's bytecode and Go builds run once.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bootstrap-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	apiPrefix  = "/2018-06-01/runtime"
	testARN    = "arn:aws:lambda:us-east-1:123456789012:function:hello"
	waitLonger = 2 * time.Minute // a hang guard: the waits end at the event (a cold start on a loaded machine takes long)
)

// invocation is one event the fake Runtime API hands out on /next.
type invocation struct {
	ID     string
	Body   []byte
	Header http.Header // extra /next headers; Content-Type defaults to application/json
}

// posted is what a runtime POSTed for an invocation (or init).
type posted struct {
	Kind             string // "response", "error" or "init-error"
	RequestID        string
	Header           http.Header
	Body             []byte
	Reads            [][]byte // the body as the server's successive reads saw it
	Trailer          http.Header
	TransferEncoding []string
}

// fakeAPI is our own side of the Runtime API: it hands out invocations on
// /next and records every POST.
type fakeAPI struct {
	srv   *httptest.Server
	next  chan invocation
	posts chan posted
	conns atomic.Int32
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	a := &fakeAPI{next: make(chan invocation), posts: make(chan posted, 64)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", a.serveNext)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		a.record(w, r, "response", r.PathValue("id"))
	})
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		a.record(w, r, "error", r.PathValue("id"))
	})
	mux.HandleFunc("POST "+apiPrefix+"/init/error", func(w http.ResponseWriter, r *http.Request) {
		a.record(w, r, "init-error", "")
	})
	a.srv = httptest.NewUnstartedServer(mux)
	a.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.conns.Add(1)
		}
	}
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAPI) addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

func (a *fakeAPI) serveNext(w http.ResponseWriter, r *http.Request) {
	var inv invocation
	select {
	case inv = <-a.next:
	case <-r.Context().Done():
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", testARN)
	h.Set("Content-Type", "application/json")
	for k, v := range inv.Header {
		h[k] = v
	}
	w.WriteHeader(http.StatusOK)
	w.Write(inv.Body)
}

func (a *fakeAPI) record(w http.ResponseWriter, r *http.Request, kind, id string) {
	p := posted{Kind: kind, RequestID: id, Header: r.Header.Clone(), TransferEncoding: r.TransferEncoding}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			p.Reads = append(p.Reads, bytes.Clone(buf[:n]))
			p.Body = append(p.Body, buf[:n]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	p.Trailer = r.Trailer.Clone()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
	a.posts <- p
}

// invoke hands inv to the runtime and returns what it posted.
func (a *fakeAPI) invoke(t testing.TB, inv invocation) posted {
	t.Helper()
	select {
	case a.next <- inv:
	case <-time.After(waitLonger):
		t.Fatalf("runtime did not ask for invocation %s", inv.ID)
	}
	return a.wait(t)
}

// wait returns the next POST.
func (a *fakeAPI) wait(t testing.TB) posted {
	t.Helper()
	select {
	case p := <-a.posts:
		return p
	case <-time.After(waitLonger):
		t.Fatal("runtime posted nothing")
	}
	return posted{}
}

// syncBuffer is a bytes.Buffer safe for a process writer and test readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sandbox is one running runtime process.
type sandbox struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error // the process's exit, valid after done
}

// lambdaEnv is the environment the runner gives a sandbox.
func lambdaEnv(api string, fn bootstrap.Function, c *bootstrap.Command) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "_HANDLER=") || strings.HasPrefix(kv, "LAMBDA_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_LAMBDA_RUNTIME_API="+api,
		"_HANDLER="+fn.Handler,
		"LAMBDA_TASK_ROOT="+c.Dir,
		"AWS_LAMBDA_FUNCTION_NAME="+fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=2026/01/02/[$LATEST]0123456789abcdef0123456789abcdef",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"TZ=:UTC",
	)
	return append(env, c.Env...)
}

// startSandbox resolves fn and starts its runtime against api. The process
// is killed and reaped when the test ends.
func startSandbox(t testing.TB, api *fakeAPI, fn bootstrap.Function) *sandbox {
	t.Helper()
	c, err := bootstrap.NewResolver(cacheDir).Command(context.Background(), fn)
	if err != nil {
		t.Fatalf("Command: %v", err)
	}
	s := &sandbox{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(c.Path, c.Args...)
	s.cmd.Dir = c.Dir
	s.cmd.Env = lambdaEnv(api.addr(), fn, c)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c.Path, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("runtime stdout:\n%s\nruntime stderr:\n%s", s.stdout, s.stderr)
		}
	})
	return s
}

// exitCode waits for the process to exit and returns its exit code.
func (s *sandbox) exitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(waitLonger):
		t.Fatal("runtime did not exit")
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		t.Fatalf("wait: %v", s.err)
	}
	return 0
}

func need(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			testtool.Missing(t, p, "not on PATH")
		}
	}
}

func testdata(t testing.TB, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeJSON(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return m
}

// readsAsStrings renders the server's body reads for comparisons.
func readsAsStrings(reads [][]byte) []string {
	out := make([]string, len(reads))
	for i, r := range reads {
		out[i] = string(r)
	}
	return out
}

// eventually reports whether cond becomes true within a few seconds (output
// of a process reaches its buffer a little after the process wrote it).
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// matchesEventually waits for the process output to match re.
func matchesEventually(out *syncBuffer, re string) bool {
	rx := regexp.MustCompile(re)
	return eventually(func() bool { return rx.MatchString(out.String()) })
}
