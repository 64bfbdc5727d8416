package main

// End-to-end tests of storage (issue 5) with the real binary: functions
// reading and writing S3 objects through their roles with unmodified SDK
// code (boto3, aws-sdk-go-v2), refusals where the role says no, the seed
// loading its model from its bucket, `portico s3` and the AWS CLI against
// the store, and data surviving a restart.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// copyExampleDir copies an example into a temp dir and returns the dir.
func copyExampleDir(t *testing.T, name string) string { return filepath.Dir(copyExample(t, name)) }

// send sends one request and returns the status and body.
func send(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain")
	}
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// s3Error is what the example's functions answer when S3 refuses.
type s3Error struct {
	Error    string `json:"error"`
	Function string `json:"function"`
}

// TestStorageExample runs examples/storage: the Go (aws-sdk-go-v2) and
// Python (boto3) functions write and read objects through their role, the
// read-only one is refused, `portico s3` and the AWS CLI see the objects,
// and the objects survive a restart.
func TestStorageExample(t *testing.T) {
	dir := copyExampleDir(t, "storage")
	spec := filepath.Join(dir, "portico.yaml")
	in := upWithin(t, installWait, spec) // a first start installs boto3
	ep := strings.TrimSuffix(in.endpoints["documentsApi $default"], "/")
	if ep == "" {
		t.Fatalf("no endpoint for documentsApi $default in %v", in.endpoints)
	}

	functionsReadWrite(t, ep)

	t.Run("read-only role", func(t *testing.T) {
		code, body := send(t, "PUT", ep+"/readonly/notes/denied.txt", "must not be stored")
		var e s3Error
		_ = json.Unmarshal([]byte(body), &e)
		if code != 403 || e.Error != "AccessDenied" || e.Function != "readOnlyDocuments" {
			t.Errorf("PUT with a read-only role: %d %s", code, body)
		}
		if code, body := send(t, "GET", ep+"/readonly/notes/from-go.txt", ""); code != 200 || body != "written by aws-sdk-go-v2" {
			t.Errorf("GET with a read-only role: %d %q", code, body)
		}
		if code, body := send(t, "GET", ep+"/go/notes/denied.txt", ""); code != 404 {
			t.Errorf("the refused object exists: %d %s", code, body)
		}
	})

	t.Run("portico s3", func(t *testing.T) {
		s3cmd := func(args ...string) string {
			t.Helper()
			out, err := in.cli(append([]string{"s3"}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("portico s3 %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		if out := s3cmd("ls"); !strings.Contains(out, "documents") {
			t.Errorf("ls: %s", out)
		}
		if out := s3cmd("ls", "documents/notes/"); !strings.Contains(out, "from-go.txt") {
			t.Errorf("ls documents/notes/: %s", out)
		}
		local := filepath.Join(t.TempDir(), "upload.txt")
		if err := os.WriteFile(local, []byte("uploaded by portico s3 cp"), 0o644); err != nil {
			t.Fatal(err)
		}
		s3cmd("cp", local, "s3://documents/cli/")
		if code, body := send(t, "GET", ep+"/go/cli/upload.txt", ""); code != 200 || body != "uploaded by portico s3 cp" {
			t.Errorf("the function reading the CLI's object: %d %q", code, body)
		}
		if out := s3cmd("cp", "s3://documents/notes/from-go.txt", "-"); out != "written by aws-sdk-go-v2" {
			t.Errorf("cp to stdout: %q", out)
		}
		s3cmd("rm", "s3://documents/cli/upload.txt")
		if code, body := send(t, "GET", ep+"/go/cli/upload.txt", ""); code != 404 {
			t.Errorf("after rm: %d %s", code, body)
		}
		// Bad input: a key-less rm is refused with a clear error.
		out, err := in.cli("s3", "rm", "s3://documents").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "s3://BUCKET/KEY") {
			t.Errorf("rm without a key: %v %s", err, out)
		}
	})

	t.Run("aws cli", func(t *testing.T) {
		awsBin, err := exec.LookPath("aws")
		if err != nil {
			testtool.Missing(t, "aws", "the AWS CLI is not installed")
		}
		tmp := t.TempDir()
		env := []string{
			"AWS_ACCESS_KEY_ID=" + in.admin(t).AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + in.admin(t).SecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + filepath.Join(tmp, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(tmp, "none"),
		}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				env = append(env, kv)
			}
		}
		aws := func(args ...string) string {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, awsBin, append(args, "--endpoint-url", in.aws)...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("aws %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		src := filepath.Join(tmp, "report.txt")
		if err := os.WriteFile(src, []byte("uploaded by aws s3 cp"), 0o644); err != nil {
			t.Fatal(err)
		}
		aws("s3", "cp", src, "s3://documents/aws/report.txt")
		if code, body := send(t, "GET", ep+"/go/aws/report.txt", ""); code != 200 || body != "uploaded by aws s3 cp" {
			t.Errorf("the function reading the AWS CLI's object: %d %q", code, body)
		}
		back := filepath.Join(tmp, "back.txt")
		aws("s3", "cp", "s3://documents/notes/from-go.txt", back)
		if b, _ := os.ReadFile(back); string(b) != "written by aws-sdk-go-v2" {
			t.Errorf("aws s3 cp download: %q", b)
		}
		if out := aws("s3", "ls", "s3://documents/aws/"); !strings.Contains(out, "report.txt") {
			t.Errorf("aws s3 ls: %s", out)
		}
		// The CLI's default presigned URL (SigV2) reaches S3 on the AWS
		// endpoint, not the Lambda API.
		u := strings.TrimSpace(aws("s3", "presign", "s3://documents/aws/report.txt"))
		if code, body := send(t, "GET", u, ""); code != 200 || body != "uploaded by aws s3 cp" {
			t.Errorf("GET %s: %d %q", u, code, body)
		}
	})

	// Data survives a restart: a new instance on the same spec (and so the
	// same data directory) serves the object through the function.
	in.stop(t)
	in2 := upWithin(t, installWait, spec) // Go builds on a loaded machine
	ep2 := strings.TrimSuffix(in2.endpoints["documentsApi $default"], "/")
	if code, body := send(t, "GET", ep2+"/go/notes/from-go.txt", ""); code != 200 || body != "written by aws-sdk-go-v2" {
		t.Errorf("GET after restart: %d %q", code, body)
	}
}

// TestSeedModelFromBucket runs the seed with its boto3 import failing, so
// that the handler reads the model from the bucket with its
// standard-library SigV4 client, signed with the function's own
// credentials (session token included), and checks the model is in the
// bucket, not beside the code.
func TestSeedModelFromBucket(t *testing.T) {
	dir := copySeed(t)
	if _, err := os.Stat(filepath.Join(dir, "app", "model.json")); err == nil {
		t.Fatal("the seed's code directory still holds model.json")
	}
	stub := "raise ImportError('boto3 hidden by the test')\n"
	if err := os.WriteFile(filepath.Join(dir, "app", "boto3.py"), []byte(stub), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, filepath.Join(dir, "portico.yaml"))
	code, body := send(t, "GET", in.endpoints["aiServicesHttpApi v1"]+"/?text=the+answers+were+fast+and+accurate", "")
	if code != 200 || !strings.Contains(body, `"label": "positive"`) {
		t.Errorf("GET /v1/: %d %s", code, body)
	}
	out, err := in.cli("s3", "ls", "models").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("model.json")) {
		t.Errorf("portico s3 ls models: %v %s", err, out)
	}
}
