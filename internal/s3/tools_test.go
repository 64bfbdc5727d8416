package s3

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// toolEnv is the environment for boto3 and the AWS CLI: admin credentials,
// the test server as endpoint, no config files of the user.
func toolEnv(h *harness, dir string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + adminID, "AWS_SECRET_ACCESS_KEY=" + adminSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_ENDPOINT_URL=" + h.http.URL,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

const boto3Script = `
import boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="boto")
s3.put_object(Bucket="boto", Key="dir/hello.txt", Body=b"hello from boto3", Metadata={"who": "boto"})
obj = s3.get_object(Bucket="boto", Key="dir/hello.txt")
assert obj["Body"].read() == b"hello from boto3", "body"
assert obj["Metadata"]["who"] == "boto", obj["Metadata"]
s3.upload_file(__file__, "boto", "script.py")
keys = [o["Key"] for o in s3.list_objects_v2(Bucket="boto")["Contents"]]
assert keys == ["dir/hello.txt", "script.py"], keys
try:
    s3.get_object(Bucket="boto", Key="missing")
    raise SystemExit("missing key found")
except s3.exceptions.NoSuchKey:
    pass
print("ok")
`

func TestBoto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	if exec.Command(py, "-c", "import boto3").Run() != nil {
		testtool.Missing(t, "boto3", "not importable")
	}
	h := newHarness(t, Config{})
	dir := t.TempDir()
	script := filepath.Join(dir, "t.py")
	os.WriteFile(script, []byte(boto3Script), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, script)
	cmd.Env = toolEnv(h, dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}

func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI: long tier, skipped under -short")
	}
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		testtool.Missing(t, "aws", "the AWS CLI is not installed")
	}
	h := newHarness(t, Config{})
	dir := t.TempDir()
	src := filepath.Join(dir, "model.bin")
	os.WriteFile(src, []byte(strings.Repeat("weights ", 1000)), 0o644)
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append(args, "--endpoint-url", h.http.URL)...)
		cmd.Env = toolEnv(h, dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("s3", "mb", "s3://cli-bucket")
	run("s3", "cp", src, "s3://cli-bucket/models/model.bin")
	if out := run("s3", "ls", "s3://cli-bucket/models/"); !strings.Contains(out, "model.bin") {
		t.Errorf("ls: %s", out)
	}
	back := filepath.Join(dir, "back.bin")
	run("s3", "cp", "s3://cli-bucket/models/model.bin", back)
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(back)
	if string(a) != string(b) {
		t.Error("round trip through the AWS CLI changed the file")
	}
	run("s3", "rm", "s3://cli-bucket/models/model.bin")
}
