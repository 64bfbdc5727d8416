package main

// End-to-end tests of S3 event notifications and asynchronous invocation
// (issue 17) with the real binary and real Python functions: an upload
// through aws-sdk-go-v2 invokes a function with S3's exact record, filters
// select keys, a failing function is retried and its record goes to
// OnFailure, a succeeding one's to OnSuccess, bad configurations are
// refused, and an accepted event survives SIGKILL and a restart.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/testtool"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// adminCredentials are the credentials these tests sign with: the
// instance's admin credentials.
func adminCredentials(t *testing.T, in *instance) aws.CredentialsProvider {
	a := in.admin(t)
	return credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, "")
}

func s3Client(t *testing.T, in *instance) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(in.aws), UsePathStyle: true,
		Credentials: adminCredentials(t, in), RetryMaxAttempts: 1})
}

func lambdaClient(t *testing.T, in *instance) *awslambda.Client {
	return awslambda.New(awslambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(in.aws),
		Credentials: adminCredentials(t, in), RetryMaxAttempts: 1})
}

// recorderPy appends each event to $OUT/$NAME.jsonl, then fails when the
// event mentions "fail", sleeps when it mentions "sleep".
const recorderPy = `import json, os, time

def main(event, context):
    text = json.dumps(event, separators=(",", ":"))
    with open(os.path.join(os.environ["OUT"], os.environ["NAME"] + ".jsonl"), "a") as f:
        f.write(text + "\n")
    if "sleep" in text:
        time.sleep(30)
    if "fail" in text:
        raise RuntimeError("cannot process " + os.environ["NAME"])
    return {"processed": True}
`

// pipelineSpec: ingest is notified of PDFs under in/ of bucket docs; its
// records go to done (success) or failed.
const pipelineSpec = `functions:
  ingest:
    runtime: python3.11
    handler: handler.main
    code: ./fn
    environment: {OUT: "@OUT@", NAME: ingest}
    reservedConcurrency: @RC@
    eventInvokeConfig:
      maximumRetryAttempts: 1
      destinationConfig:
        onSuccess: {destination: done}
        onFailure: {destination: failed}
    permissions:
      - principal: s3.amazonaws.com
        sourceArn: arn:aws:s3:::docs
  done: {runtime: python3.11, handler: handler.main, code: ./fn, environment: {OUT: "@OUT@", NAME: done}}
  failed: {runtime: python3.11, handler: handler.main, code: ./fn, environment: {OUT: "@OUT@", NAME: failed}}
buckets:
  docs:
    notifications:
      - id: pdfs
        function: ingest
        events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
        filterPrefix: in/
        filterSuffix: .pdf
`

// pipeline writes the spec and the function into a temp dir; rc is
// ingest's reserved concurrency.
func pipeline(t *testing.T, rc string) (specFile, out string) {
	t.Helper()
	dir := t.TempDir()
	out = filepath.Join(dir, "out")
	for _, d := range []string{out, filepath.Join(dir, "fn")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "fn", "handler.py"), recorderPy)
	specFile = filepath.Join(dir, "portico.yaml")
	writeFile(t, specFile, strings.NewReplacer("@OUT@", out, "@RC@", rc).Replace(pipelineSpec))
	return specFile, out
}

// recorded returns the events function name received, oldest first.
func recorded(out, name string) []string {
	b, _ := os.ReadFile(filepath.Join(out, name+".jsonl"))
	var l []string
	for _, s := range strings.Split(string(b), "\n") {
		if s != "" {
			l = append(l, s)
		}
	}
	return l
}

func waitRecorded(t *testing.T, out, name string, n int) []string {
	t.Helper()
	waitFor(t, 60*time.Second, func() bool { return len(recorded(out, name)) >= n })
	return recorded(out, name)
}

var volatileJSON = regexp.MustCompile(`"(eventTime|x-amz-request-id|x-amz-id-2|sequencer|principalId|requestId|timestamp)":"[^"]*"`)

var stackTrace = regexp.MustCompile(`"stackTrace":\[(?:"(?:[^"\\]|\\.)*",?)*\]`)

// golden compares JSON with testdata/notify/NAME, volatile values blanked.
func golden(t *testing.T, got, name string) {
	t.Helper()
	norm := volatileJSON.ReplaceAllString(got, `"$1":"…"`)
	norm = stackTrace.ReplaceAllString(norm, `"stackTrace":["…"]`)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(norm), "", "  "); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", "notify", name)
	if *updateGolden {
		os.MkdirAll(filepath.Dir(path), 0o755)
		writeFile(t, path, pretty.String())
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pretty.String() != string(want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", name, pretty.String(), want)
	}
}

func TestS3NotificationsInvokeFunctions(t *testing.T) {
	specFile, out := pipeline(t, "2")
	// The recorder functions write the test's files: no sandbox.
	in := up(t, specFile, "--async-retry-delay", "50ms", "--isolation=none")
	ctx := context.Background()
	c := s3Client(t, in)
	putObject := func(key, body string) {
		t.Helper()
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}

	// Keys the filters leave out, then one they select: ingest sees only
	// the last.
	putObject("in/notes.txt", "not a pdf")
	putObject("out/report.pdf", "not under in/")
	putObject("in/Q3 report (final).pdf", "%PDF-1.7 quarterly")
	got := waitRecorded(t, out, "ingest", 1)
	golden(t, got[0], "put.json")
	golden(t, waitRecorded(t, out, "done", 1)[0], "on-success.json")

	// A failing event: one attempt, one retry, then the OnFailure record.
	putObject("in/fail.pdf", "this one fails")
	golden(t, waitRecorded(t, out, "failed", 1)[0], "on-failure.json")
	if n := len(recorded(out, "ingest")); n != 3 {
		t.Errorf("ingest got %d events, want 3 (the report, the failing one twice):\n%s", n, strings.Join(recorded(out, "ingest"), "\n"))
	}

	// Deleting a selected key.
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("docs"), Key: aws.String("in/Q3 report (final).pdf")}); err != nil {
		t.Fatal(err)
	}
	got = waitRecorded(t, out, "ingest", 4)
	if !strings.Contains(got[3], `"eventName":"ObjectRemoved:Delete"`) || !strings.Contains(got[3], `"key":"in/Q3+report+%28final%29.pdf"`) {
		t.Errorf("delete event: %s", got[3])
	}

	// The configuration as the S3 API shows it, and configurations S3
	// refuses.
	nc, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("docs")})
	if err != nil || len(nc.LambdaFunctionConfigurations) != 1 || aws.ToString(nc.LambdaFunctionConfigurations[0].Id) != "pdfs" {
		t.Fatalf("GetBucketNotificationConfiguration = %+v, %v", nc, err)
	}
	for _, tt := range []struct{ name, arn, event, msg string }{
		{"function without permission", lambda.FunctionARN("us-east-1", "000000000000", "done"), "s3:ObjectCreated:*", "Unable to validate the following destination configurations"},
		{"unknown function", lambda.FunctionARN("us-east-1", "000000000000", "nope"), "s3:ObjectCreated:*", "Unable to validate the following destination configurations"},
		{"unsupported event", lambda.FunctionARN("us-east-1", "000000000000", "ingest"), "s3:ObjectRestore:Completed", "not supported"},
	} {
		_, err := c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("docs"),
			NotificationConfiguration: &types.NotificationConfiguration{LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
				LambdaFunctionArn: aws.String(tt.arn), Events: []types.Event{types.Event(tt.event)}}}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidArgument" || !strings.Contains(ae.ErrorMessage(), tt.msg) {
			t.Errorf("%s: %v, want 400 InvalidArgument %q", tt.name, err, tt.msg)
		}
	}

	// The spec's event invoke config through the Lambda API.
	lc := lambdaClient(t, in)
	cfg, err := lc.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("ingest")})
	if err != nil || aws.ToInt32(cfg.MaximumRetryAttempts) != 1 ||
		aws.ToString(cfg.DestinationConfig.OnFailure.Destination) != lambda.FunctionARN("us-east-1", "000000000000", "failed") {
		t.Errorf("GetFunctionEventInvokeConfig = %+v, %v", cfg, err)
	}
}

// TestAsyncEventsSurviveSIGKILL: events accepted with 202 (an Event invoke
// and an S3 notification) while ingest may not run (reserved concurrency
// 0) are on disk: portico is killed with SIGKILL, restarted on the same
// data directory with ingest allowed to run, and delivers them.
func TestAsyncEventsSurviveSIGKILL(t *testing.T) { eventsSurvive(t, syscall.SIGKILL) }

// TestAsyncEventsSurviveSIGTERM: the same with a graceful stop.
func TestAsyncEventsSurviveSIGTERM(t *testing.T) { eventsSurvive(t, syscall.SIGTERM) }

func eventsSurvive(t *testing.T, sig syscall.Signal) {
	specFile, out := pipeline(t, "0")
	in := up(t, specFile, "--isolation=none") // the recorder writes the test's files
	ctx := context.Background()
	res, err := lambdaClient(t, in).Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("ingest"),
		InvocationType: ltypes.InvocationTypeEvent, Payload: []byte(`{"job":"survive"}`)})
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("Event invoke: %+v, %v", res, err)
	}
	if _, err := s3Client(t, in).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("in/kept.pdf"),
		Body: strings.NewReader("%PDF")}); err != nil {
		t.Fatal(err)
	}
	kids := children(in.cmd.Process.Pid)
	if err := in.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Wait(); sig == syscall.SIGTERM && err != nil {
		t.Errorf("portico after SIGTERM: %v\n%s", err, in.stderr.String())
	}
	for _, pid := range kids {
		_ = syscall.Kill(pid, syscall.SIGKILL) // its sandboxes, orphaned
	}
	if n := len(recorded(out, "ingest")); n != 0 {
		t.Fatalf("ingest ran before the restart (%d events)", n)
	}

	data, _ := os.ReadFile(specFile)
	writeFile(t, specFile, strings.Replace(string(data), "reservedConcurrency: 0", "reservedConcurrency: 1", 1))
	up(t, specFile, "--isolation=none")
	got := waitRecorded(t, out, "ingest", 2)
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, `{"job":"survive"}`) || !strings.Contains(joined, `"key":"in/kept.pdf"`) {
		t.Errorf("delivered after the restart:\n%s", joined)
	}
	waitRecorded(t, out, "done", 2)
}

// TestPipelineExampleWithAWSCLI runs examples/pipeline with the AWS CLI:
// `aws s3 cp` triggers ingest and its OnSuccess record reaches index;
// put-bucket-notification-configuration (once answered 409 as if it were
// CreateBucket) and get-bucket-notification-configuration work.
func TestPipelineExampleWithAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		testtool.Missing(t, "aws", "the AWS CLI is not installed")
	}
	in := up(t, copyExample(t, "pipeline"))
	tmp := t.TempDir()
	creds, _ := adminCredentials(t, in).Retrieve(context.Background())
	env := []string{"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(tmp, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(tmp, "none")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	awsCLI := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append(args, "--endpoint-url", in.aws)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	note := filepath.Join(tmp, "note.txt")
	writeFile(t, note, "hello pipelines")
	if out, err := awsCLI("s3", "cp", note, "s3://documents/incoming/note.txt"); err != nil {
		t.Fatalf("aws s3 cp: %v\n%s", err, out)
	}
	client := in.client(t) // Portico's own endpoints are the admin's
	logs := func(fn string) string {
		resp, err := client.Get(in.aws + "/_portico/functions/" + fn + "/logs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(logs("index"), "Success after 1 attempt(s)") })
	if l := logs("ingest"); !strings.Contains(l, "ObjectCreated:Put s3://documents/incoming/note.txt") {
		t.Errorf("ingest's log:\n%s", l)
	}

	out, err := awsCLI("s3api", "get-bucket-notification-configuration", "--bucket", "documents")
	if err != nil || !strings.Contains(out, `"incoming-text"`) || !strings.Contains(out, "function:ingest") {
		t.Fatalf("get-bucket-notification-configuration: %v\n%s", err, out)
	}
	cfg := `{"LambdaFunctionConfigurations":[{"Id":"all","LambdaFunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:ingest","Events":["s3:ObjectCreated:*"]}]}`
	if out, err := awsCLI("s3api", "put-bucket-notification-configuration", "--bucket", "documents", "--notification-configuration", cfg); err != nil {
		t.Fatalf("put-bucket-notification-configuration: %v\n%s", err, out)
	}
	bad := strings.Replace(cfg, "function:ingest", "function:index", 1)
	if out, err := awsCLI("s3api", "put-bucket-notification-configuration", "--bucket", "documents", "--notification-configuration", bad); err == nil ||
		!strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "Unable to validate the following destination configurations") {
		t.Errorf("a destination without permission: %v\n%s", err, out)
	}
	if out, _ := awsCLI("s3api", "get-bucket-notification-configuration", "--bucket", "documents"); !strings.Contains(out, `"all"`) {
		t.Errorf("after put: %s", out)
	}
}
