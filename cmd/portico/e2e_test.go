package main

// End-to-end tests: the real binary, started as a user starts it, on
// 127.0.0.1:0, called with real HTTP clients (net/http and curl).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

var binary string // the portico binary built once for all tests

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() { // the binary's end-to-end tests are the long tier
		skip, err := endToEndTests()
		if err == nil {
			err = flag.Set("test.skip", skip)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "list end-to-end tests:", err)
			os.Exit(1)
		}
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "portico-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "portico")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build portico: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is a running `portico up`.
type instance struct {
	cmd       *exec.Cmd
	gateway   string
	tls       string // the gateway's HTTPS listener (--tls-listen)
	aws       string
	console   string
	dataDir   string            // its state directory (admin credentials)
	endpoints map[string]string // "api stage" -> URL
	stderr    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// up starts `portico up` on free ports with extra flags and waits until it
// is ready. It is stopped (and checked to exit cleanly) when the test ends.
func up(t *testing.T, specFile string, flags ...string) *instance {
	t.Helper()
	return upWithin(t, coldStartWait, specFile, flags...)
}

// coldStartWait bounds the wait for "ready" (or for portico to exit, which
// ends the wait at once). It is a guard against a hang, not a guess of the
// machine's speed: a first start on cold caches builds Go functions, which
// takes minutes on a loaded 2-core machine (.ci/run pre-builds them).
const coldStartWait = 10 * time.Minute

// upWithin is up, waiting at most wait for it to be ready (a first start
// that installs a function's dependencies takes longer).
func upWithin(t testing.TB, wait time.Duration, specFile string, flags ...string) *instance {
	t.Helper()
	args := append([]string{"up", "-f", specFile, "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, flags...)
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	inst := &instance{cmd: cmd, endpoints: map[string]string{}, stderr: &syncBuffer{}, dataDir: dataDirFor(specFile, "")}
	for i, f := range flags {
		if f == "--data-dir" && i+1 < len(flags) {
			inst.dataDir = flags[i+1]
		}
	}
	cmd.Stderr = inst.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.stop(t) })

	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "gateway":
				inst.gateway = f[1]
			case len(f) == 2 && f[0] == "gateway-tls":
				inst.tls = f[1]
			case len(f) == 2 && f[0] == "aws":
				inst.aws = f[1]
			case len(f) == 2 && f[0] == "console":
				inst.console = f[1]
			case len(f) == 4 && f[0] == "endpoint":
				inst.endpoints[f[1]+" "+f[2]] = f[3]
			case len(f) == 1 && f[0] == "ready":
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("portico exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Wait()
			t.Fatalf("%v\nstderr:\n%s", err, inst.stderr.String())
		}
	case <-time.After(wait):
		t.Fatalf("portico not ready after %s\nstderr:\n%s", wait, inst.stderr.String())
	}
	return inst
}

// stop sends SIGINT, as Ctrl-C does, and waits for a clean exit.
func (in *instance) stop(t testing.TB) {
	if in.cmd.ProcessState != nil {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- in.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("portico exited with %v\nstderr:\n%s", err, in.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		<-done
		t.Errorf("portico did not stop within 30s of SIGINT")
	}
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// copySeed copies examples/seed into a temp dir so a test may edit it,
// and returns the directory.
func copySeed(t *testing.T) string { return filepath.Dir(copyExample(t, "seed")) }

func TestSeedExample(t *testing.T) {
	in := up(t, filepath.Join("..", "..", "examples", "seed", "portico.yaml"))
	ep := in.endpoints["aiServicesHttpApi v1"]
	if ep == "" {
		t.Fatalf("no endpoint for aiServicesHttpApi v1 in %v", in.endpoints)
	}

	resp, body := get(t, ep+"/?text=the+answers+were+fast+and+accurate")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/: %d %s", resp.StatusCode, body)
	}
	var got struct {
		Label      string  `json:"label"`
		Confidence float64 `json:"confidence"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if got.Label != "positive" || got.Confidence < 0.5 {
		t.Errorf("classified as %+v, want positive", got)
	}
	if id := resp.Header.Get("apigw-requestid"); len(id) != 16 {
		t.Errorf("apigw-requestid %q, want 16 characters", id)
	}
	if ct := resp.Header.Get("content-type"); ct != "application/json" {
		t.Errorf("content-type %q", ct)
	}

	// The stage without a trailing slash is the same route; the function's
	// own 400 comes through unchanged.
	resp, body = get(t, ep)
	if resp.StatusCode != 400 || !strings.Contains(body, "give a text") {
		t.Errorf("GET /v1: %d %s", resp.StatusCode, body)
	}

	for _, path := range []string{"/v1/nope", "/v2/", "/", "/v1/x/y"} {
		resp, body := get(t, in.gateway+path)
		if resp.StatusCode != 404 || body != `{"message":"Not Found"}` {
			t.Errorf("GET %s: %d %s, want 404 Not Found", path, resp.StatusCode, body)
		}
		if resp.Header.Get("apigw-requestid") == "" {
			t.Errorf("GET %s: no apigw-requestid", path)
		}
	}
	// Ctrl-C drains and stops every function process.
	kids := children(in.cmd.Process.Pid)
	if len(kids) == 0 {
		t.Errorf("no function process runs under portico")
	}
	defer func() {
		in.stop(t)
		for _, pid := range kids {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(st), ") Z ") {
					t.Errorf("function process %d still runs after portico stopped", pid)
				}
			}
		}
	}()

	resp, body = func() (*http.Response, string) {
		r, err := http.Post(ep+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}()
	if resp.StatusCode != 404 {
		t.Errorf("POST /v1/ on a GET route: %d %s, want 404", resp.StatusCode, body)
	}
}

func TestSeedWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		testtool.Missing(t, "curl", "not installed")
	}
	in := up(t, filepath.Join("..", "..", "examples", "seed", "portico.yaml"))
	out, err := exec.Command(curl, "-sS", "-i", in.endpoints["aiServicesHttpApi v1"]+"/?text=terrible+and+slow").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.HasPrefix(s, "HTTP/1.1 200") || !strings.Contains(s, `"label": "negative"`) || !strings.Contains(strings.ToLower(s), "apigw-requestid:") {
		t.Errorf("curl output:\n%s", s)
	}
}

func TestInvokeCommand(t *testing.T) {
	spec := filepath.Join("..", "..", "examples", "seed", "portico.yaml")
	event := `{"queryStringParameters":{"text":"great and fast"}}`
	cmd := exec.Command(binary, "invoke", "-f", spec, "aiServiceFunction", "--payload", event)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("portico invoke: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"statusCode": 200`) || !strings.Contains(stdout.String(), "positive") {
		t.Errorf("stdout: %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), `"StatusCode": 200`) {
		t.Errorf("stderr: %s", stderr.String())
	}

	// Against a running instance, through the Invoke API, with the log tail.
	in := up(t, spec)
	cmd = in.cli("invoke", "aiServiceFunction", "--payload", event, "--log-type", "Tail")
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("portico invoke --endpoint: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"START RequestId:", "classified 3 words as positive", "REPORT RequestId:"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log tail lacks %q:\n%s", want, stderr.String())
		}
	}

	// Bad input: an unknown function is an error, not a crash.
	cmd = exec.Command(binary, "invoke", "-f", spec, "nope")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "nope") {
		t.Errorf("invoke of an unknown function: %v %s", err, out)
	}
}

// TestRuntimes runs one unmodified function per runtime (Python, Node.js,
// Go with aws-lambda-go built from source) behind routes, through the
// Invoke API and through `portico invoke`.
func TestRuntimes(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testtool.Missing(t, "node", "not installed")
	}
	spec := filepath.Join("..", "..", "examples", "functions", "portico.yaml")
	in := up(t, spec)
	ep := in.endpoints["hello $default"]
	for _, rt := range []struct{ path, fn, runtime string }{
		{"/python", "pyHello", "python"},
		{"/node", "nodeHello", "node"},
		{"/go", "goHello", "go"},
	} {
		t.Run(rt.runtime, func(t *testing.T) {
			resp, body := get(t, strings.TrimSuffix(ep, "/")+rt.path+"?name=e2e")
			if resp.StatusCode != 200 || !strings.Contains(body, `"greeting":"hello, e2e"`) && !strings.Contains(body, `"greeting": "hello, e2e"`) {
				t.Errorf("GET %s: %d %s", rt.path, resp.StatusCode, body)
			}
			if !strings.Contains(body, rt.fn) {
				t.Errorf("GET %s: context function name missing: %s", rt.path, body)
			}
			resp, err := in.client(t).Post(in.aws+"/2015-03-31/functions/"+rt.fn+"/invocations", "application/json", strings.NewReader(`{"name":"api"}`))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), rt.runtime) || resp.Header.Get("X-Amz-Executed-Version") != "$LATEST" {
				t.Errorf("Invoke API: %d %s %v", resp.StatusCode, b, resp.Header)
			}
			out, err := exec.Command(binary, "invoke", "-f", spec, rt.fn).CombinedOutput()
			if err != nil || !strings.Contains(string(out), `\"runtime\"`) {
				t.Errorf("portico invoke %s: %v\n%s", rt.fn, err, out)
			}
		})
	}
}

func TestLogsCommand(t *testing.T) {
	in := up(t, filepath.Join("..", "..", "examples", "seed", "portico.yaml"))
	get(t, in.endpoints["aiServicesHttpApi v1"]+"/?text=hello+there")
	out, err := in.cli("logs", "aiServiceFunction").CombinedOutput()
	if err != nil {
		t.Fatalf("portico logs: %v\n%s", err, out)
	}
	for _, want := range []string{"START RequestId:", "END RequestId:", "REPORT RequestId:", "Init Duration:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestValidateCommand(t *testing.T) {
	out, err := exec.Command(binary, "validate", "-f", filepath.Join("..", "..", "examples", "seed", "portico.yaml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("validate seed: %v %s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "portico.yaml")
	if err := os.WriteFile(bad, []byte("functions:\n  f:\n    runtime: cobol\n    timeout: forever\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(binary, "validate", "-f", bad).CombinedOutput()
	if err == nil {
		t.Fatalf("validate accepted a bad spec: %s", out)
	}
	for _, want := range []string{bad + ":3:", bad + ":4:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}

	// A policy Condition: supported operators and keys pass, others are
	// refused at the policy's position (up would refuse them too).
	policy := func(cond string) string {
		return "roles:\n  r:\n    policies:\n      - {Version: \"2012-10-17\", Statement: {Effect: Allow, Action: \"s3:*\", Resource: \"*\", Condition: " + cond + "}}\n"
	}
	for _, tt := range []struct{ cond, want string }{
		{"{StringLike: {s3:prefix: home/*}, Bool: {aws:SecureTransport: true}}", "ok"},
		{"{StringLike: {aws:username: bob}}", ":4:116: policies[0]: policy: statement 0: Condition StringLike: key \"aws:username\" is not one Portico supplies"},
	} {
		if err := os.WriteFile(bad, []byte(policy(tt.cond)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err = exec.Command(binary, "validate", "-f", bad).CombinedOutput()
		if (err == nil) != (tt.want == "ok") || !strings.Contains(string(out), tt.want) {
			t.Errorf("validate %s: %v\n%s\nwant %s", tt.cond, err, out, tt.want)
		}
	}
}

// TestRedeployUnderLoad edits the spec while requests flow: a good edit is
// picked up, a broken edit is reported and the running configuration keeps
// serving, and no request fails either way.
func TestRedeployUnderLoad(t *testing.T) {
	dir := copySeed(t)
	specFile := filepath.Join(dir, "portico.yaml")
	in := up(t, specFile)
	ep := in.endpoints["aiServicesHttpApi v1"]

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2000 && ctx.Err() == nil; n++ {
				resp, err := http.Get(ep + "/?text=good")
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
				}
			}
		}()
	}

	orig, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	// A good edit: a second route, served once the watcher redeploys.
	edited := strings.Replace(string(orig), `"GET /": {integration: lambdaIntegration}`,
		"\"GET /\": {integration: lambdaIntegration}\n      \"GET /classify\": {integration: lambdaIntegration}", 1)
	writeFile(t, specFile, edited)
	waitFor(t, redeployWait, func() bool {
		resp, _ := get(t, ep+"/classify?text=x")
		return resp.StatusCode == 200
	})
	// A broken edit: reported, and the last good configuration keeps serving.
	writeFile(t, specFile, edited+"\n  bogus: [\n")
	waitFor(t, redeployWait, func() bool { return strings.Contains(in.stderr.String(), "spec not applied") })
	if resp, body := get(t, ep+"/classify?text=x"); resp.StatusCode != 200 {
		t.Errorf("after a broken edit: %d %s", resp.StatusCode, body)
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during redeploys (first: %v)", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Error("no request succeeded")
	}
}

// TestManualStageDeploy checks that a stage without autoDeploy keeps its
// routes until `portico deploy STAGE`.
func TestManualStageDeploy(t *testing.T) {
	dir := copySeed(t)
	specFile := filepath.Join(dir, "portico.yaml")
	orig, _ := os.ReadFile(specFile)
	withProd := strings.Replace(string(orig), "v1: {autoDeploy: true}", "v1: {autoDeploy: true}\n      prod: {stageVariables: {tier: paid}}", 1)
	writeFile(t, specFile, withProd)
	in := up(t, specFile)

	edited := strings.Replace(withProd, `"GET /": {integration: lambdaIntegration}`,
		"\"GET /\": {integration: lambdaIntegration}\n      \"GET /classify\": {integration: lambdaIntegration}", 1)
	writeFile(t, specFile, edited)
	waitFor(t, redeployWait, func() bool {
		resp, _ := get(t, in.endpoints["aiServicesHttpApi v1"]+"/classify?text=x")
		return resp.StatusCode == 200
	})
	if resp, _ := get(t, in.endpoints["aiServicesHttpApi prod"]+"/classify?text=x"); resp.StatusCode != 404 {
		t.Fatalf("prod changed without a deployment: %d", resp.StatusCode)
	}
	out, err := in.cli("deploy", "prod").CombinedOutput()
	if err != nil {
		t.Fatalf("portico deploy prod: %v\n%s", err, out)
	}
	if resp, body := get(t, in.endpoints["aiServicesHttpApi prod"]+"/classify?text=x"); resp.StatusCode != 200 {
		t.Errorf("prod after deploy: %d %s", resp.StatusCode, body)
	}
	out, err = in.cli("deploy", "nope").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "nope") {
		t.Errorf("deploy to an unknown stage: %v %s", err, out)
	}
}

// children lists the pids whose parent is pid.
func children(pid int) []int {
	var kids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var child int
		if _, err := fmt.Sscanf(e.Name(), "%d", &child); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := string(st[bytes.LastIndexByte(st, ')')+2:])
		var state string
		var ppid int
		if _, err := fmt.Sscanf(rest, "%s %d", &state, &ppid); err == nil && ppid == pid {
			kids = append(kids, child)
		}
	}
	return kids
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	// Write then rename, as editors do, so the watcher never sees half a file.
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// redeployWait bounds the wait for a redeploy to show. Tests go on as soon
// as it shows; the bound only guards a hang, so it allows for the rebuild
// of a changed Go function on a loaded machine.
const redeployWait = 5 * time.Minute

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPulumiPrograms serves the seed written as a Pulumi program, in YAML
// and in Go against pulumi-aws (built and run against Portico's resource
// monitor): `portico up DIR` answers GET /v1/ as the spec does and prints
// the program's outputs.
func TestPulumiPrograms(t *testing.T) {
	for _, example := range []string{"seed-pulumi-yaml", "seed-pulumi"} {
		t.Run(example, func(t *testing.T) {
			// The programs use the seed's code and model: copy both, side by side.
			root := t.TempDir()
			copyExampleTo(t, "seed", filepath.Join(root, "seed"))
			dir := filepath.Join(root, example)
			copyExampleTo(t, example, dir)
			stdout, stderr, endpoints := upProgram(t, dir)
			ep := endpoints["v1"]
			if ep == "" || !strings.Contains(stdout.String(), "Outputs:\n    api_endpoint: \"http://127.0.0.1:") {
				t.Fatalf("output:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			if resp, body := get(t, ep+"/?text=fast+and+accurate"); resp.StatusCode != 200 || !strings.Contains(body, "positive") {
				t.Errorf("GET /v1/: %d %s\nstderr:\n%s", resp.StatusCode, body, stderr.String())
			}
		})
	}
}

// TestPulumiGoProgramRedeploys edits a running Pulumi Go program: a
// config change is rebuilt, rerun and served; a program that no longer
// compiles is reported and the previous configuration keeps serving.
func TestPulumiGoProgramRedeploys(t *testing.T) {
	// The program is one of pulumirun's test programs; copy their module.
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(filepath.Join("..", "..", "internal", "pulumirun", "testdata", "programs"))); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "good")
	_, stderr, endpoints := upProgram(t, dir)
	checkReload(t, dir, stderr, endpoints, "main.go", "\nvar broken int = \"x\"\n", func(int) string { return "go build failed" })
}

// upProgram runs `portico up DIR` on a Pulumi program until the test
// ends and returns its output and its endpoints by stage name.
func upProgram(t *testing.T, dir string, flags ...string) (stdout, stderr *syncBuffer, endpoints map[string]string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"up", dir, "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", ""}, flags...)...)
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	})
	// A Go program is built first: the Pulumi SDKs take minutes with a cold
	// build cache (.ci/run warms it).
	waitFor(t, programWait, func() bool { return strings.Contains(stdout.String(), "ready") || cmd.ProcessState != nil })
	endpoints = map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "endpoint" {
			endpoints[f[2]] = f[3]
		}
	}
	if len(endpoints) == 0 {
		t.Fatalf("no endpoints; output:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	return stdout, stderr, endpoints
}

// programWait bounds building and running a Pulumi Go program.
const programWait = 5 * time.Minute

// TestExportPulumi writes the Pulumi Go program for the seed spec.
func TestExportPulumi(t *testing.T) {
	out := filepath.Join(t.TempDir(), "seed-aws")
	b, err := exec.Command(binary, "export", "pulumi", "-f", filepath.Join("..", "..", "examples", "seed", "portico.yaml"), "-o", out).CombinedOutput()
	if err != nil {
		t.Fatalf("portico export pulumi: %v\n%s", err, b)
	}
	main, err := os.ReadFile(filepath.Join(out, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lambda.NewFunction(", "lambda.NewPermission(", "apigatewayv2.NewRoute(", "apigatewayv2.NewStage(", `ctx.Export("api_endpoint"`} {
		if !strings.Contains(string(main), want) {
			t.Errorf("main.go lacks %s", want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "Pulumi.yaml")); err != nil {
		t.Error(err)
	}
	if b, err := exec.Command(binary, "export", "pulumi", "-f", "nope.yaml", "-o", out).CombinedOutput(); err == nil {
		t.Errorf("export of a missing spec succeeded: %s", b)
	}
}

// TestValidateExamples: every example's spec validates (validate runs the
// compile up runs, so this is also every example's system compiling).
func TestValidateExamples(t *testing.T) {
	specs, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "portico.yaml"))
	if err != nil || len(specs) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range specs {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			if out, err := exec.Command(binary, "validate", "-f", file).CombinedOutput(); err != nil {
				t.Errorf("portico validate -f %s: %v\n%s", file, err, out)
			}
		})
	}
}
