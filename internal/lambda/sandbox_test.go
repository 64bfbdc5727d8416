package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/testtool"
)

func TestEnvironment(t *testing.T) {
	t.Setenv("PORTICO_LEAK_CANARY", "leaked")
	for _, iso := range []string{IsolationAuto, IsolationNone} {
		t.Run("isolation="+iso, func(t *testing.T) { testEnvironment(t, iso) })
	}
}

func testEnvironment(t *testing.T, isolation string) {
	f := fn(t, "envfn", "goecho")
	f.Environment = map[string]string{"GREETING": "hi", "PATH": "/custom/bin"}
	r := newRunner(t, Config{AWSEndpoint: "http://127.0.0.1:4566", Region: "eu-west-1", Isolation: isolation}, f)
	taskRoot := f.CodeDir
	if on, _ := r.IsolationStatus(); on {
		taskRoot = "/var/task"
	}
	res := invoke(t, r, "envfn", `{"env":true}`)
	var env map[string]string
	if err := json.Unmarshal(res.Payload, &env); err != nil {
		t.Fatalf("%s: %v", res.Payload, err)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"_HANDLER":                        "bootstrap",
		"LAMBDA_TASK_ROOT":                taskRoot,
		"LAMBDA_RUNTIME_DIR":              taskRoot,
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/custom/bin",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:4566",
		"GREETING":                        "hi",
	}
	// Without Config.Credentials each runner makes up random credentials:
	// temporary-looking, and never the old published constant.
	if id := env["AWS_ACCESS_KEY_ID"]; !strings.HasPrefix(id, "ASIA") || len(id) != 20 || env["AWS_SECRET_ACCESS_KEY"] == "" || env["AWS_SESSION_TOKEN"] == "" {
		t.Errorf("credentials %q/%q/%q: want random ASIA... temporary credentials", id, env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(env["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", env["AWS_LAMBDA_RUNTIME_API"])
	}
	if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	// Exactly these variables, plus what the Go runtime library sets itself
	// (_X_AMZN_TRACE_ID per invocation): nothing of the runner's own.
	var extra []string
	for k := range env {
		if _, ok := want[k]; !ok && k != "AWS_LAMBDA_RUNTIME_API" && k != "AWS_LAMBDA_LOG_STREAM_NAME" && k != "_X_AMZN_TRACE_ID" &&
			k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY" && k != "AWS_SESSION_TOKEN" {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("unexpected variables (leaked from the runner?): %v", extra)
	}
	if _, ok := env["AWS_EXECUTION_ENV"]; ok {
		t.Error("AWS_EXECUTION_ENV set for a provided runtime")
	}
}

func TestDeployValidation(t *testing.T) {
	good := fn(t, "good", "goecho")
	r := newRunner(t, Config{}, good)
	notExec := t.TempDir()
	os.WriteFile(filepath.Join(notExec, "file"), nil, 0o644)
	tests := []struct {
		name   string
		mutate func(f *Function)
		want   string
	}{
		{"reserved env", func(f *Function) { f.Environment = map[string]string{"AWS_REGION": "x"} }, "reserved environment variable names AWS_REGION"},
		{"underscore env", func(f *Function) { f.Environment = map[string]string{"_SECRET": "x"} }, `invalid environment variable names "_SECRET"`},
		{"missing code dir", func(f *Function) { f.CodeDir = filepath.Join(t.TempDir(), "gone") }, "code directory"},
		{"code dir is a file", func(f *Function) { f.CodeDir = filepath.Join(notExec, "file") }, "not a directory"},
		{"bad name", func(f *Function) { f.Name = "no spaces" }, "name \"no spaces\""},
		{"memory", func(f *Function) { f.MemoryMB = 64 }, "memory 64 MB"},
		{"timeout", func(f *Function) { f.Timeout = time.Hour }, "timeout 1h0m0s"},
		{"no runtime", func(f *Function) { f.Runtime = "" }, "runtime: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := fn(t, "bad", "goecho")
			tt.mutate(&bad)
			err := r.Deploy(context.Background(), []Function{good, bad})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Deploy err = %v, want %q", err, tt.want)
			}
			if r.lookup("good") == nil || r.lookup("bad") != nil {
				t.Error("a failed Deploy changed the function set")
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		if err := r.Deploy(context.Background(), []Function{good, good}); err == nil || !strings.Contains(err.Error(), "defined twice") {
			t.Errorf("err = %v", err)
		}
	})
}

// errorBody decodes an error payload.
func errorBody(t *testing.T, res *invocation.Result) (typ, msg string) {
	t.Helper()
	var e struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %s: %v", res.Payload, err)
	}
	if res.FunctionError != "Unhandled" {
		t.Errorf("FunctionError = %q, want Unhandled", res.FunctionError)
	}
	return e.ErrorType, e.ErrorMessage
}

func TestFunctionFailures(t *testing.T) {
	noExec := t.TempDir()
	// Executable at deploy time (a non-executable bootstrap fails the
	// deploy, see TestDeployResolvesRuntime), then made unusable, as if a
	// file were replaced under a running system.
	os.WriteFile(filepath.Join(noExec, "bootstrap"), []byte("#!/bin/sh\n"), 0o755)
	never := fn(t, "never", "rogue")
	never.Environment = map[string]string{"ROGUE_MODE": "never"}
	never.Timeout = time.Second
	initexit := fn(t, "initexit", "rogue")
	initexit.Environment = map[string]string{"ROGUE_MODE": "initexit"}
	initerr := fn(t, "initerror", "rogue")
	initerr.Environment = map[string]string{"ROGUE_MODE": "initerror"}
	garbage := fn(t, "garbage", "rogue")
	garbage.Environment = map[string]string{"ROGUE_MODE": "garbage"}
	twice := fn(t, "twice", "rogue")
	twice.Environment = map[string]string{"ROGUE_MODE": "twice"}
	streamerr := fn(t, "streamerr", "rogue")
	streamerr.Environment = map[string]string{"ROGUE_MODE": "streamerr"}
	slow := fn(t, "slow", "goslow")
	slow.Timeout = time.Second
	r := newRunner(t, Config{},
		fn(t, "crash", "gocrash"), fn(t, "panic", "gopanic"), fn(t, "echo", "goecho"), slow, never, initexit, initerr, garbage, twice, streamerr,
		Function{Name: "noexec", Runtime: "provided.al2023", Handler: "x", CodeDir: noExec, ReservedConcurrency: -1})
	os.Chmod(filepath.Join(noExec, "bootstrap"), 0o644)

	tests := []struct {
		name, fn, payload string
		wantType          string
		wantMsg           string // regexp
		wantLog           string // in the log tail
	}{
		{"handler error", "crash", `{"fail":"bad thing"}`, "errorString", `^bad thing$`, ""},
		{"exit status", "crash", `{"exit":3}`, "Runtime.ExitError", `^RequestId: \S+ Error: Runtime exited with error: exit status 3$`, "exiting with 3"},
		{"exit 0", "crash", `{"exit":0}`, "Runtime.ExitError", `^RequestId: \S+ Error: Runtime exited without providing a reason$`, ""},
		{"panic", "panic", `{}`, "string", `boom`, ""},
		{"timeout", "slow", `{"ms":5000}`, "Sandbox.Timedout", `^RequestId: \S+ Error: Task timed out after 1\.\d\d seconds$`, " Task timed out after 1."},
		{"never responds", "never", `{}`, "Sandbox.Timedout", `Task timed out after 1\.\d\d seconds`, "Status: timeout"},
		{"dies during init", "initexit", `{}`, "Runtime.ExitError", `Runtime exited with error: exit status 3$`, "dying during init"},
		{"init error", "initerror", `{}`, "Runtime.ImportModuleError", `^cannot start$`, ""},
		{"garbage", "garbage", `{}`, "Runtime.ExitError", `exit status 4$`, "unknown id got 400"},
		{"not executable", "noexec", `{}`, "Runtime.InvalidEntrypoint", `permission denied`, ""},
		{"stream error trailers", "streamerr", `{}`, "Function.StreamBroke", `^stream broke$`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := invoke(t, r, tt.fn, tt.payload)
			typ, msg := errorBody(t, res)
			if typ != tt.wantType || !regexp.MustCompile(tt.wantMsg).MatchString(msg) {
				t.Errorf("error = %s / %q, want %s / %s", typ, msg, tt.wantType, tt.wantMsg)
			}
			if !strings.Contains(string(res.LogTail), tt.wantLog) {
				t.Errorf("log tail lacks %q:\n%s", tt.wantLog, res.LogTail)
			}
			if _, total := r.lookup(tt.fn).counts(); total > 1 {
				t.Errorf("pool holds %d sandboxes", total)
			}
		})
	}
	t.Run("recovers after crash", func(t *testing.T) {
		invoke(t, r, "crash", `{"exit":2}`)
		if res := invoke(t, r, "crash", `{}`); string(res.Payload) != `"ok"` {
			t.Errorf("after crash: %s", res.Payload)
		}
		invoke(t, r, "panic", `{}`)
		res := invoke(t, r, "panic", `{}`) // a fresh sandbox, not a dead one
		if typ, _ := errorBody(t, res); typ != "string" {
			t.Errorf("second panic: %s", res.Payload)
		}
	})
	t.Run("second response is rejected", func(t *testing.T) {
		res := invoke(t, r, "twice", `{}`)
		if string(res.Payload) != `"first"` {
			t.Errorf("payload %s", res.Payload)
		}
		invoke(t, r, "twice", `{}`) // its log line from the first arrives by now
		if logs, _ := r.Logs("twice"); !strings.Contains(string(logs), "second response got 403") {
			t.Errorf("logs:\n%s", logs)
		}
	})
	t.Run("timeout kills the process and re-inits", func(t *testing.T) {
		invoke(t, r, "slow", `{"ms":1}`)
		before := r.lookup("slow").Idle()[0].PID()
		res := invoke(t, r, "slow", `{"ms":3000}`)
		if typ, _ := errorBody(t, res); typ != "Sandbox.Timedout" {
			t.Fatalf("got %s", res.Payload)
		}
		res = invoke(t, r, "slow", `{"ms":10}`)
		if string(res.Payload) != `{"slept":10}` || !strings.Contains(string(res.LogTail), "Init Duration") {
			t.Errorf("after timeout: %s\n%s", res.Payload, res.LogTail)
		}
		waitFor(t, func() bool { return !processAlive(before) })
	})
}

func TestInitTimeout(t *testing.T) {
	f := fn(t, "slowinit", "rogue")
	f.Environment = map[string]string{"ROGUE_MODE": "slowinit"}
	f.Timeout = time.Second
	r := newRunner(t, Config{InitTimeout: 100 * time.Millisecond}, f)
	res := invoke(t, r, "slowinit", `{}`)
	typ, msg := errorBody(t, res)
	if typ != "Sandbox.Timedout" || !regexp.MustCompile(`Task timed out after 1\.\d\d seconds$`).MatchString(msg) {
		t.Errorf("got %s / %s", typ, msg)
	}
	if _, total := r.lookup("slowinit").counts(); total != 0 {
		t.Errorf("pool keeps %d sandboxes after an init timeout", total)
	}
}

func TestOversizedResponse(t *testing.T) {
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	res := invoke(t, r, "echo", `{"big":7000000}`)
	typ, msg := errorBody(t, res)
	if typ != "Function.ResponseSizeTooLarge" || msg != "Response payload size exceeded maximum allowed payload size (6291556 bytes)." {
		t.Errorf("got %s / %s", typ, msg)
	}
	if res := invoke(t, r, "echo", `{"big":6000000}`); len(res.Payload) != 6000002 {
		t.Errorf("6 MB response: %d bytes, %s", len(res.Payload), res.FunctionError)
	}
}

func TestContextCancel(t *testing.T) {
	r := newRunner(t, Config{}, fn(t, "slow", "goslow"))
	invoke(t, r, "slow", `{"ms":1}`)
	pid := r.pids()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := r.Invoke(ctx, &invocation.Request{FunctionName: "slow", Payload: []byte(`{"ms":3000}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	waitFor(t, func() bool { return !processAlive(pid) })
	if res := invoke(t, r, "slow", `{"ms":1}`); string(res.Payload) != `{"slept":1}` {
		t.Errorf("after cancel: %s", res.Payload)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	testtool.Eventually(t, "the condition", cond)
}

func TestConcurrency(t *testing.T) {
	slow := fn(t, "slow", "goslow")
	slow.ReservedConcurrency = 8
	r := newRunner(t, Config{}, slow)
	// Warm up eight sandboxes, then hold all eight busy at once (which
	// shows they run in parallel) and invoke a ninth time.
	run := func(ms int) {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "slow", Payload: []byte(`{"ms":` + strconv.Itoa(ms) + `}`)})
				if err != nil || res.FunctionError != "" {
					t.Errorf("invoke: %v %v", err, res)
				}
			}()
		}
		wg.Wait()
	}
	run(300)
	done := make(chan struct{})
	go func() { defer close(done); run(2000) }()
	waitFor(t, func() bool { idle, total := r.lookup("slow").counts(); return total == 8 && idle == 0 })
	_, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "slow", Payload: []byte(`{"ms":1}`)})
	var se *invocation.ServiceError
	if !errors.As(err, &se) || se.Status != 429 || se.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Errorf("9th invoke: %v, want 429 ReservedFunctionConcurrentInvocationLimitExceeded", err)
	}
	// Refused at once: while the eight still held every slot, not after
	// waiting for one.
	select {
	case <-done:
		t.Error("the 9th invoke returned only after the eight finished: it waited for a slot")
	default:
	}
	<-done
}

func TestGlobalConcurrencyCap(t *testing.T) {
	r := newRunner(t, Config{MaxConcurrency: 1}, fn(t, "slow", "goslow"), fn(t, "echo", "goecho"))
	invoke(t, r, "echo", `{}`) // echo holds the only slot, idle
	// slow needs the slot: echo's idle sandbox is evicted.
	if res := invoke(t, r, "slow", `{"ms":1}`); res.FunctionError != "" {
		t.Fatalf("slow: %s", res.Payload)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		invoke(t, r, "slow", `{"ms":500}`)
	}()
	waitFor(t, func() bool { idle, total := r.lookup("slow").counts(); return total == 1 && idle == 0 })
	_, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "echo", Payload: []byte(`{}`)})
	var se *invocation.ServiceError
	if !errors.As(err, &se) || se.Status != 429 || se.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Errorf("err = %v, want 429 ConcurrentInvocationLimitExceeded", err)
	}
	<-done
}

func TestReservedConcurrencyZero(t *testing.T) {
	f := fn(t, "off", "goecho")
	f.ReservedConcurrency = 0
	r := newRunner(t, Config{}, f)
	_, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "off"})
	var se *invocation.ServiceError
	if !errors.As(err, &se) || se.Status != 429 {
		t.Errorf("err = %v, want 429", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	r := newRunner(t, Config{IdleTimeout: 100 * time.Millisecond}, fn(t, "echo", "goecho"))
	invoke(t, r, "echo", `{}`)
	pid := r.pids()[0]
	waitFor(t, func() bool { _, total := r.lookup("echo").counts(); return total == 0 })
	waitFor(t, func() bool { return !processAlive(pid) })
}

func TestRedeploy(t *testing.T) {
	echo := fn(t, "echo", "goecho")
	slow := fn(t, "slow", "goslow")
	r := newRunner(t, Config{}, echo, slow)
	invoke(t, r, "echo", `{}`)
	echoPid := r.pids()[0]
	invoke(t, r, "slow", `{"ms":1}`)

	// An invocation in flight on slow survives slow's redeploy.
	done := make(chan *invocation.Result)
	go func() { done <- invoke(t, r, "slow", `{"ms":400}`) }()
	waitFor(t, func() bool { idle, _ := r.lookup("slow").counts(); return idle == 0 })
	slow2 := slow
	slow2.Revision = "2"
	if err := r.Deploy(context.Background(), []Function{echo, slow2}); err != nil {
		t.Fatal(err)
	}
	if res := <-done; string(res.Payload) != `{"slept":400}` {
		t.Errorf("in-flight invocation during redeploy: %s", res.Payload)
	}
	invoke(t, r, "echo", `{}`)
	if pid := r.lookup("echo").Idle()[0].PID(); pid != echoPid {
		t.Error("unchanged function lost its warm sandbox")
	}
	if res := invoke(t, r, "slow", `{"ms":1}`); !strings.Contains(string(res.LogTail), "Init Duration") {
		t.Error("changed function kept its old sandbox")
	}
	// Removing a function stops its sandboxes.
	if err := r.Deploy(context.Background(), []Function{slow2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !processAlive(echoPid) })
	if _, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "echo"}); err == nil {
		t.Error("removed function still invocable")
	}
}

func TestMemoryLimit(t *testing.T) {
	r := newRunner(t, Config{}, fn(t, "mem", "gomem"))
	res := invoke(t, r, "mem", `{"mb":20}`)
	if res.FunctionError != "" {
		t.Fatalf("20 MB: %s", res.Payload)
	}
	m := regexp.MustCompile(`Max Memory Used: (\d+) MB`).FindSubmatch(res.LogTail)
	if m == nil || string(m[1]) == "0" {
		t.Errorf("no Max Memory Used in:\n%s", res.LogTail)
	}
	if r.MemoryLimitMode() != MemoryCgroup1 && r.MemoryLimitMode() != MemoryCgroup2 {
		t.Skipf("memory mode %s: no OOM kill to test", r.MemoryLimitMode())
	}
	res = invoke(t, r, "mem", `{"mb":400}`)
	if typ, msg := errorBody(t, res); typ != "Runtime.OutOfMemory" || !strings.HasSuffix(msg, "Runtime exited with error: signal: killed") {
		t.Errorf("got %s / %s", typ, msg)
	}
	if res := invoke(t, r, "mem", `{"mb":1}`); res.FunctionError != "" {
		t.Errorf("after OOM: %s", res.Payload)
	}
}

func TestCloseLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	r, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	r.Deploy(context.Background(), []Function{fn(t, "echo", "goecho"), fn(t, "slow", "goslow"), fn(t, "crash", "gocrash")})
	invoke(t, r, "echo", `{}`)
	invoke(t, r, "crash", `{"exit":1}`)
	go r.Invoke(context.Background(), &invocation.Request{FunctionName: "slow", Payload: []byte(`{"ms":5000}`)})
	waitFor(t, func() bool { _, total := r.lookup("slow").counts(); return total == 1 })
	time.Sleep(100 * time.Millisecond)
	pids := r.pids()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("process %d alive after Close", pid)
		}
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before+2 })
	if _, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "echo"}); err == nil {
		t.Error("Invoke after Close succeeded")
	}
}

// TestDeployResolvesRuntime checks that a function whose runtime cannot
// start fails the deploy with a clear error, and that the failed deploy
// changes nothing.
func TestDeployResolvesRuntime(t *testing.T) {
	noExec := t.TempDir()
	os.WriteFile(filepath.Join(noExec, "bootstrap"), []byte("#!/bin/sh\n"), 0o644)
	missing := t.TempDir()
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	tests := []struct {
		name string
		fn   Function
		want string
	}{
		{"bootstrap not executable", Function{Name: "noexec", Runtime: "provided.al2023", CodeDir: noExec, ReservedConcurrency: -1}, "chmod +x"},
		{"no bootstrap", Function{Name: "nobootstrap", Runtime: "provided.al2023", CodeDir: missing, ReservedConcurrency: -1}, "bootstrap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Deploy(context.Background(), []Function{fn(t, "echo", "goecho"), tt.fn})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.fn.Name) {
				t.Fatalf("Deploy = %v, want an error naming %s and %q", err, tt.fn.Name, tt.want)
			}
			if _, err := r.Invoke(context.Background(), &invocation.Request{FunctionName: "echo", Payload: []byte(`{}`)}); err != nil {
				t.Errorf("after a failed deploy the old function set must keep serving: %v", err)
			}
		})
	}
}
