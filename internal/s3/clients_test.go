package s3

import (
	"context"
	"crypto/md5"
	"fmt"
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

// needTool returns the path of a client the test runs, skipping the test
// when it is missing, or failing it under CI=true (CI installs every one).
func needTool(t *testing.T, name string, check ...string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil && len(check) > 0 {
		err = exec.Command(p, check...).Run()
	}
	if err != nil {
		testtool.Missing(t, name, fmt.Sprintf("%v not available: %v", check, err))
	}
	return p
}

// runTool runs a client with the tool environment and fails the test
// unless it prints "ok".
func runTool(t *testing.T, h *harness, dir string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = toolEnv(h, dir)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// boto3CompatScript exercises what issue 17 found broken, as boto3 sends
// it: UploadPartCopy and the managed copy, default (SigV2) presigned URLs,
// multipart checksums, sub-resources.
const boto3CompatScript = `
import hashlib, os, urllib.request, urllib.error, base64, zlib
import boto3
from botocore.exceptions import ClientError
s3 = boto3.client("s3")
s3.create_bucket(Bucket="compat")
big = os.urandom(12 * 1024 * 1024 + 5)
s3.put_object(Bucket="compat", Key="big", Body=big)

# UploadPartCopy with ranges, then completion: the bytes of the ranges.
up = s3.create_multipart_upload(Bucket="compat", Key="big2")
half = 6 * 1024 * 1024
parts = []
for n, rng in ((1, "bytes=0-%d" % (half - 1)), (2, "bytes=%d-%d" % (half, len(big) - 1))):
    r = s3.upload_part_copy(Bucket="compat", Key="big2", UploadId=up["UploadId"], PartNumber=n,
                            CopySource={"Bucket": "compat", "Key": "big"}, CopySourceRange=rng)
    parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
s3.complete_multipart_upload(Bucket="compat", Key="big2", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
got = s3.get_object(Bucket="compat", Key="big2")["Body"].read()
assert got == big, "upload_part_copy: %d bytes, want %d" % (len(got), len(big))

# The managed copy (UploadPartCopy above the multipart threshold).
s3.copy({"Bucket": "compat", "Key": "big"}, "compat", "big3")
assert s3.get_object(Bucket="compat", Key="big3")["Body"].read() == big, "managed copy"

# Default presigned URLs are SigV2 (AWSAccessKeyId, Signature, Expires).
s3.put_object(Bucket="compat", Key="small.txt", Body=b"presigned hello")
url = s3.generate_presigned_url("get_object", Params={"Bucket": "compat", "Key": "small.txt"}, ExpiresIn=300)
assert "AWSAccessKeyId=" in url and "Signature=" in url, url
assert urllib.request.urlopen(url).read() == b"presigned hello"
put = s3.generate_presigned_url("put_object", Params={"Bucket": "compat", "Key": "via-presign.txt"}, ExpiresIn=300)
# (urllib would send a Content-Type the URL was not signed with; S3 refuses that too)
urllib.request.urlopen(urllib.request.Request(put, data=b"put by url", method="PUT", headers={"Content-Type": ""}))
assert s3.get_object(Bucket="compat", Key="via-presign.txt")["Body"].read() == b"put by url"

def refused(u, code):
    try:
        urllib.request.urlopen(u)
        raise SystemExit("not refused: " + u)
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        assert e.code == 403 and "<Code>%s</Code>" % code in body, (e.code, body)

expired = s3.generate_presigned_url("get_object", Params={"Bucket": "compat", "Key": "small.txt"}, ExpiresIn=-60)
refused(expired, "AccessDenied")
sig = url.split("Signature=")[1].split("&")[0]
refused(url.replace(sig, "AAAA" + sig[4:]), "SignatureDoesNotMatch")
other = url.replace("small.txt", "via-presign.txt")
refused(other, "SignatureDoesNotMatch")

# Multipart checksums: composite SHA256 of the part checksums, "-N".
up = s3.create_multipart_upload(Bucket="compat", Key="summed", ChecksumAlgorithm="SHA256")
chunks = [big[:5 * 1024 * 1024], big[5 * 1024 * 1024:]]
parts, raw = [], b""
for n, c in enumerate(chunks, 1):
    r = s3.upload_part(Bucket="compat", Key="summed", UploadId=up["UploadId"], PartNumber=n, Body=c, ChecksumAlgorithm="SHA256")
    parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    raw += hashlib.sha256(c).digest()
done = s3.complete_multipart_upload(Bucket="compat", Key="summed", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
want = base64.b64encode(hashlib.sha256(raw).digest()).decode() + "-2"
assert done["ChecksumSHA256"] == want and done["ChecksumType"] == "COMPOSITE", done
head = s3.head_object(Bucket="compat", Key="summed", ChecksumMode="ENABLED")
assert head["ChecksumSHA256"] == want and head["ChecksumType"] == "COMPOSITE", head

# upload_file sends boto3's default checksums; the object keeps one.
path = os.path.join(os.getcwd(), "file.bin")
open(path, "wb").write(big)
s3.upload_file(path, "compat", "uploaded")
head = s3.head_object(Bucket="compat", Key="uploaded", ChecksumMode="ENABLED")
assert head.get("ChecksumType") in ("COMPOSITE", "FULL_OBJECT"), head
assert any(k.startswith("Checksum") and k != "ChecksumType" for k in head), head
s3.download_file("compat", "uploaded", path + ".back")
assert open(path + ".back", "rb").read() == big

# Sub-resources: implemented, or NotImplemented; never another operation.
for call in (lambda: s3.put_bucket_website(Bucket="compat", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}),
             lambda: s3.get_bucket_policy(Bucket="compat"),
             lambda: s3.get_bucket_lifecycle_configuration(Bucket="compat"),
             lambda: s3.get_object_retention(Bucket="compat", Key="big")):
    try:
        call()
        raise SystemExit("sub-resource accepted")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NotImplemented", e.response
s3.put_bucket_cors(Bucket="compat", CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"]}]})
assert s3.get_bucket_cors(Bucket="compat")["CORSRules"][0]["AllowedMethods"] == ["PUT"]
s3.put_object_tagging(Bucket="compat", Key="big", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
assert s3.get_object_tagging(Bucket="compat", Key="big")["TagSet"] == [{"Key": "k", "Value": "v"}]
assert s3.get_bucket_versioning(Bucket="compat").get("Status") is None
assert s3.get_bucket_acl(Bucket="compat")["Grants"][0]["Permission"] == "FULL_CONTROL"
print("ok")
`

func TestBoto3Compat(t *testing.T) {
	py := needTool(t, "python3", "-c", "import boto3")
	h := newHarness(t, Config{})
	dir := t.TempDir()
	script := filepath.Join(dir, "compat.py")
	os.WriteFile(script, []byte(boto3CompatScript), 0o644)
	runTool(t, h, dir, 120*time.Second, py, script)
}

func TestAWSCLICompat(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI dozens of times: long tier, skipped under -short")
	}
	awsBin := needTool(t, "aws", "--version")
	h := newHarness(t, Config{})
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsBin, append(args, "--endpoint-url", h.http.URL)...)
		cmd.Env = toolEnv(h, dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// 64 MiB as in the issue; 16 MiB with -short (still above the CLI's
	// 8 MiB multipart threshold, so still UploadPartCopy).
	size := 64 << 20
	if testing.Short() {
		size = 16 << 20
	}
	big := randomBytes(size)
	src := filepath.Join(dir, "big.bin")
	os.WriteFile(src, big, 0o644)
	must("s3", "mb", "s3://cli-compat")
	must("s3", "cp", src, "s3://cli-compat/big")
	// Server-side copy: the CLI uses UploadPartCopy.
	must("s3", "cp", "s3://cli-compat/big", "s3://cli-compat/big2")
	back := filepath.Join(dir, "back.bin")
	must("s3", "cp", "s3://cli-compat/big2", back)
	if got, _ := os.ReadFile(back); md5.Sum(got) != md5.Sum(big) {
		t.Fatalf("server-side copy: %d bytes back, want the %d sent", len(got), len(big))
	}

	// aws s3 presign makes a SigV2 URL by default.
	must("s3", "cp", filepath.Join(dir, "big.bin"), "s3://cli-compat/dir/model weights.bin")
	u := strings.TrimSpace(must("s3", "presign", "s3://cli-compat/dir/model weights.bin", "--expires-in", "300"))
	if !strings.Contains(u, "AWSAccessKeyId=") {
		t.Fatalf("presign made %s", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || md5.Sum(got) != md5.Sum(big) {
		t.Fatalf("presigned GET: %d, %d bytes", resp.StatusCode, len(got))
	}
	forged := strings.Replace(u, "Expires=", "Expires=1", 1)
	if resp, err := http.Get(forged); err != nil || resp.StatusCode != 403 {
		t.Fatalf("forged URL: %v %v", resp, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "<Code>SignatureDoesNotMatch</Code>") {
			t.Errorf("forged URL: %s", b)
		}
	}

	// Sub-resources through s3api.
	out, err := run("s3api", "put-bucket-website", "--bucket", "cli-compat", "--website-configuration", `{"IndexDocument":{"Suffix":"index.html"}}`)
	if err == nil || !strings.Contains(out, "NotImplemented") {
		t.Errorf("put-bucket-website: %v %s", err, out)
	}
	must("s3api", "put-bucket-cors", "--bucket", "cli-compat", "--cors-configuration", `{"CORSRules":[{"AllowedMethods":["GET"],"AllowedOrigins":["*"]}]}`)
	if out := must("s3api", "get-bucket-cors", "--bucket", "cli-compat"); !strings.Contains(out, `"GET"`) {
		t.Errorf("get-bucket-cors: %s", out)
	}
	if out, err := run("s3api", "get-bucket-policy", "--bucket", "cli-compat"); err == nil || !strings.Contains(out, "NotImplemented") {
		t.Errorf("get-bucket-policy: %v %s", err, out)
	}
	if out := must("s3api", "head-object", "--bucket", "cli-compat", "--key", "big", "--checksum-mode", "ENABLED"); !strings.Contains(out, "ChecksumType") {
		t.Errorf("head-object --checksum-mode ENABLED: %s", out)
	}
}

func TestJSSDK(t *testing.T) {
	node := needTool(t, "node", "--version")
	dir, err := filepath.Abs(filepath.Join("testdata", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "client-s3")); err != nil {
		testtool.Missing(t, "@aws-sdk/client-s3", fmt.Sprintf("not installed (cd internal/s3/testdata/js && npm install): %v", err))
	}
	h := newHarness(t, Config{})
	runTool(t, h, dir, 120*time.Second, node, filepath.Join(dir, "compat.mjs"))
}
