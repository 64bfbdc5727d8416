package bootstrap_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
	"github.com/portico-dev/portico/internal/testtool"
)

// findRIE returns the path of aws-lambda-rie (PATH, then $(go env GOPATH)/bin).
func findRIE(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "aws-lambda-rie")
			if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	testtool.Missing(t, "aws-lambda-rie", "not found on PATH or in $(go env GOPATH)/bin; install it with go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest")
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRIE runs the Python and Node bootstraps under the AWS Runtime
// Interface Emulator, a Runtime API server we did not write, and invokes
// them through its HTTP endpoint.
func TestRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-checks the runtimes against the Runtime Interface Emulator: long tier, skipped under -short")
	}
	rie := findRIE(t)
	tests := []struct {
		name    string
		program string
		fn      bootstrap.Function
		want    []string // substrings of the invoke response
		wantLog string   // regexp the runtime's output (forwarded by RIE) must match
	}{
		{
			name: "python", program: "python3",
			fn:      pythonFn(t, "handler.main"),
			want:    []string{`"event": {"name": "rie"}`, `"function_name": "hello"`, `"invoked_function_arn": "arn:aws:lambda:us-east-1:012345678912:function:hello"`, `"memory_limit_in_mb": "256"`},
			wantLog: `(?m)^\[INFO\]\t\S+Z\t[0-9a-f-]{36}\thello rie$`,
		},
		{
			name: "node", program: "node",
			fn:      nodeFn(t, "index.handler"),
			want:    []string{`"event":{"name":"rie"}`, `"functionName":"hello"`, `"invokedFunctionArn":"arn:aws:lambda:us-east-1:012345678912:function:hello"`},
			wantLog: `(?m)^\S+Z\t[0-9a-f-]{36}\tINFO\thello rie$`,
		},
		{
			name: "python function error", program: "python3",
			fn:   pythonFn(t, "handler.fail"),
			want: []string{`"errorMessage": "boom"`, `"errorType": "ValueError"`},
		},
		{
			name: "node init error", program: "node",
			fn:   nodeFn(t, "index.missing"),
			want: []string{`"errorType":"Runtime.HandlerNotFound"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			need(t, tt.program)
			c, err := bootstrap.NewResolver(cacheDir).Command(context.Background(), tt.fn)
			if err != nil {
				t.Fatal(err)
			}
			emuAddr, apiAddr := freeAddr(t), freeAddr(t)
			// RIE takes the last argument as the handler (and sets _HANDLER
			// from it); our scripts ignore their arguments.
			args := append([]string{"--runtime-interface-emulator-address", emuAddr, "--runtime-api-address", apiAddr, c.Path}, c.Args...)
			args = append(args, tt.fn.Handler)
			cmd := exec.Command(rie, args...)
			cmd.Dir = c.Dir
			env := lambdaEnv(apiAddr, tt.fn, c)
			cmd.Env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT=10")
			var out syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// RIE resets its sandbox (killing the runtime) and exits on
				// SIGTERM; the group kill reaps anything left.
				cmd.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
					<-done
				}
				if t.Failed() {
					t.Logf("RIE output:\n%s", out.String())
				}
			})

			url := "http://" + emuAddr + "/2015-03-31/functions/function/invocations"
			for i := range 2 { // the second invocation is warm (or re-inits after an init error)
				body := rieInvoke(t, url, `{"name":"rie"}`)
				for _, w := range tt.want {
					if !strings.Contains(body, w) {
						t.Errorf("invocation %d: response %s lacks %s", i, body, w)
					}
				}
			}
			if tt.wantLog != "" && !regexp.MustCompile(tt.wantLog).MatchString(out.String()) {
				t.Errorf("runtime output does not match %s:\n%s", tt.wantLog, out.String())
			}
		})
	}
}

// rieInvoke posts an event to RIE, retrying while it starts listening.
func rieInvoke(t *testing.T, url, event string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(event)))
		if err == nil {
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("invoke RIE: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
