package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda/invokeapi"
	"github.com/portico-dev/portico/internal/testtool"
)

// The runner is what the Invoke API serves.
var _ invokeapi.Runner = (*Runner)(nil)

// apiServer serves r.Handler on loopback and returns an SDK client for it.
func apiServer(t testing.TB, r *Runner) (*httptest.Server, *awslambda.Client) {
	t.Helper()
	ts := httptest.NewServer(invokeapi.New(r))
	t.Cleanup(ts.Close)
	c := awslambda.New(awslambda.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(ts.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
	return ts, c
}

func TestInvokeAPIWithSDK(t *testing.T) {
	slow := fn(t, "slow", "goslow")
	slow.ReservedConcurrency = 1
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"), fn(t, "crash", "gocrash"), slow)
	ts, c := apiServer(t, r)
	ctx := context.Background()

	t.Run("RequestResponse with Tail", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":1}`), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 200 || string(out.Payload) != `{"a":1}` || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
			t.Errorf("out = %d %s %v %v", out.StatusCode, out.Payload, out.FunctionError, out.ExecutedVersion)
		}
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if !strings.Contains(string(tail), "echo handler called") || !strings.Contains(string(tail), "REPORT RequestId: ") {
			t.Errorf("log result:\n%s", tail)
		}
	})
	t.Run("by ARN and qualifier", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:echo"),
			Qualifier: aws.String("$LATEST"), Payload: []byte(`2`)})
		if err != nil || string(out.Payload) != "2" {
			t.Errorf("%v %s", err, out.Payload)
		}
	})
	t.Run("function error", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("crash"), Payload: []byte(`{"fail":"nope"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"nope"`) {
			t.Errorf("out = %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})
	t.Run("DryRun", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != 204 {
			t.Errorf("%v %v", err, out)
		}
	})
	t.Run("Event", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"event":"async-marker"}`)})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("%v %v", err, out)
		}
		id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		if !ok || len(id) != 36 {
			t.Fatalf("request id %q", id)
		}
		waitFor(t, func() bool { l, _ := r.Logs("echo"); return bytes.Contains(l, []byte("END RequestId: "+id)) })
	})

	errorCases := []struct {
		name   string
		in     *awslambda.InvokeInput
		target any
		status int
		check  func(t *testing.T, err error)
	}{
		{name: "unknown function", in: &awslambda.InvokeInput{FunctionName: aws.String("nope")}, target: new(*types.ResourceNotFoundException), status: 404,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope") {
					t.Errorf("message: %v", err)
				}
			}},
		{name: "not JSON", in: &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{nope`)}, target: new(*types.InvalidRequestContentException), status: 400},
		{name: "too large", in: &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`"` + strings.Repeat("x", invocation.MaxSyncPayload) + `"`)},
			target: new(*types.RequestTooLargeException), status: 413},
		{name: "too large async", in: &awslambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent,
			Payload: []byte(`"` + strings.Repeat("x", invocation.MaxAsyncPayload) + `"`)}, target: new(*types.RequestTooLargeException), status: 413},
		{name: "bad client context", in: &awslambda.InvokeInput{FunctionName: aws.String("echo"), ClientContext: aws.String("%%%")},
			target: new(*types.InvalidParameterValueException), status: 400},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Invoke(ctx, tt.in)
			if err == nil || !errors.As(err, tt.target) {
				t.Fatalf("err = %v, want %T", err, tt.target)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != tt.status {
				t.Errorf("status %d, want %d", re.HTTPStatusCode(), tt.status)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}

	t.Run("throttled", func(t *testing.T) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"ms":600}`)})
		}()
		waitFor(t, func() bool { idle, total := r.lookup("slow").counts(); return total == 1 && idle == 0 })
		_, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("slow"), Payload: []byte(`{"ms":1}`)})
		var tm *types.TooManyRequestsException
		if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded ||
			aws.ToString(tm.RetryAfterSeconds) != "1" {
			t.Errorf("err = %v (%+v)", err, tm)
		}
		<-done
	})

	t.Run("raw headers", func(t *testing.T) {
		tests := []struct {
			name       string
			hdr        map[string]string
			body       string
			wantStatus int
			wantType   string
		}{
			{"bad invocation type", map[string]string{"X-Amz-Invocation-Type": "Sometime"}, `{}`, 400, "InvalidParameterValueException"},
			{"bad log type", map[string]string{"X-Amz-Log-Type": "All"}, `{}`, 400, "InvalidParameterValueException"},
			{"empty body is {}", nil, ``, 200, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", ts.URL+"/2015-03-31/functions/echo/invocations", strings.NewReader(tt.body))
				for k, v := range tt.hdr {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var body struct{ Type, Message string }
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus || resp.Header.Get("x-amzn-ErrorType") != tt.wantType {
					t.Errorf("%d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), tt.wantStatus, tt.wantType)
				}
				if tt.wantType != "" && (body.Type != "User" || body.Message == "") {
					t.Errorf("error body %+v", body)
				}
				if tt.wantType == "" && resp.Header.Get("X-Amzn-Requestid") == "" {
					t.Error("no x-amzn-RequestId")
				}
			})
		}
	})
}

func TestEventRetries(t *testing.T) {
	r := newRunner(t, Config{AsyncRetryDelays: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}}, fn(t, "crash", "gocrash"))
	id, err := r.InvokeAsync(&invocation.Request{FunctionName: "crash", Payload: []byte(`{"fail":"again"}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { l, _ := r.Logs("crash"); return bytes.Count(l, []byte("REPORT RequestId: "+id)) == 3 })
	time.Sleep(50 * time.Millisecond)
	if l, _ := r.Logs("crash"); bytes.Count(l, []byte("REPORT RequestId: "+id)) != 3 {
		t.Errorf("want 1 attempt + 2 retries:\n%s", l)
	}
}

func TestCloseWaitsForEvents(t *testing.T) {
	r, err := New(Config{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	r.Deploy(context.Background(), []Function{fn(t, "slow", "goslow")})
	if _, err := r.InvokeAsync(&invocation.Request{FunctionName: "slow", Payload: []byte(`{"ms":300}`)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l, _ := r.Logs("slow"); !bytes.Contains(l, []byte("REPORT RequestId")) || bytes.Contains(l, []byte("Status:")) {
		t.Errorf("queued event did not complete before Close returned:\n%s", l)
	}
}

func TestLogsEndpointAndFollow(t *testing.T) {
	r := newRunner(t, Config{LogDir: t.TempDir()}, fn(t, "echo", "goecho"))
	ts, _ := apiServer(t, r)
	invoke(t, r, "echo", `{}`)

	var buf bytes.Buffer
	if err := FollowLogs(context.Background(), ts.URL, "echo", false, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "echo handler called\n") {
		t.Errorf("logs:\n%s", buf.String())
	}
	if err := FollowLogs(context.Background(), ts.URL, "nope", false, &buf); err == nil || !strings.Contains(err.Error(), "Function not found") {
		t.Errorf("unknown function: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	pr := &lockedBuffer{}
	done := make(chan error)
	go func() { done <- FollowLogs(ctx, ts.URL, "echo", true, pr) }()
	waitFor(t, func() bool { return strings.Contains(pr.String(), "echo handler called") })
	res := invoke(t, r, "echo", `{}`)
	waitFor(t, func() bool { return strings.Contains(pr.String(), "END RequestId: "+res.RequestID) })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("FollowLogs after cancel: %v", err)
	}
	file, err := os.ReadFile(filepath.Join(r.cfg.LogDir, "echo.log"))
	if err != nil || !bytes.Contains(file, []byte("END RequestId: "+res.RequestID)) {
		t.Errorf("log file: %v\n%s", err, file)
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

func TestInvokeAPIWithAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		testtool.Missing(t, "aws", "the AWS CLI is not on PATH")
	}
	r := newRunner(t, Config{}, fn(t, "echo", "goecho"))
	ts, _ := apiServer(t, r)
	out := filepath.Join(t.TempDir(), "out.json")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsPath, "lambda", "invoke", "--endpoint-url", ts.URL, "--function-name", "echo",
		"--payload", `{"from":"cli"}`, "--log-type", "Tail", out)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1")
	stdout, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("aws: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var meta struct {
		StatusCode      int
		ExecutedVersion string
		LogResult       string
	}
	if err := json.Unmarshal(stdout, &meta); err != nil {
		t.Fatalf("%s: %v", stdout, err)
	}
	body, _ := os.ReadFile(out)
	tail, _ := base64.StdEncoding.DecodeString(meta.LogResult)
	if meta.StatusCode != 200 || meta.ExecutedVersion != "$LATEST" || string(body) != `{"from":"cli"}` || !strings.Contains(string(tail), "END RequestId") {
		t.Errorf("aws lambda invoke: %s, body %s, tail %s", stdout, body, tail)
	}
}
