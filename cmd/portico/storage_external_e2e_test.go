package main

// The external store (spec `storage:`) against a real S3 server built from
// the registries: versitygw with its posix backend. The storage example's
// functions read and write through it exactly as they do through Portico's
// own store (TestStorageExample): both tests share functionsReadWrite.

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// versitygwVersion is the versitygw .ci/run installs (go install
// github.com/versity/versitygw/cmd/versitygw@v1.8.0).
const versitygwVersion = "v1.8.0"

// s3Server is an S3 server the test started.
type s3Server struct {
	endpoint, accessKey, secretKey string
	root                           string // the posix backend's directory
}

// startVersitygw runs versitygw's posix gateway on a free loopback port
// and waits until it accepts connections. It is killed when the test ends.
// Without versitygw on PATH the test is skipped, or fails under CI=true.
func startVersitygw(t *testing.T) *s3Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("versitygw is required under CI=true (.ci/run: go install github.com/versity/versitygw/cmd/versitygw@%s): %v", versitygwVersion, err)
		}
		t.Skipf("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@%s)", versitygwVersion)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := &s3Server{endpoint: "http://" + addr, accessKey: "VERSITYTESTACCESS", secretKey: "versity-test-secret-key", root: t.TempDir()}
	cmd := exec.Command(bin, "--port", addr, "--access", srv.accessKey, "--secret", srv.secretKey, "--region", "us-east-1", "--quiet",
		"posix", srv.root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return srv
		}
		select {
		case err := <-exited:
			t.Fatalf("versitygw exited: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw not listening on %s after 30s\n%s", addr, stderr.String())
		}
	}
}

func (srv *s3Server) client() *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.accessKey, srv.secretKey, "")})
}

// functionsReadWrite checks the storage example's Go (aws-sdk-go-v2) and
// Python (boto3) functions writing and reading objects, and each reading
// the other's: the part of the storage tests every backend runs.
func functionsReadWrite(t *testing.T, ep string) {
	t.Run("go", func(t *testing.T) {
		if code, body := send(t, "PUT", ep+"/go/notes/from-go.txt", "written by aws-sdk-go-v2"); code != 200 || !strings.Contains(body, `"etag"`) {
			t.Fatalf("PUT: %d %s", code, body)
		}
		if code, body := send(t, "GET", ep+"/go/notes/from-go.txt", ""); code != 200 || body != "written by aws-sdk-go-v2" {
			t.Errorf("GET: %d %q", code, body)
		}
		code, body := send(t, "GET", ep+"/go/notes/missing.txt", "")
		if code != 404 || !strings.Contains(body, "NoSuchKey") {
			t.Errorf("GET of a missing key: %d %s", code, body)
		}
	})
	t.Run("python", func(t *testing.T) {
		if !boto3Available() {
			if os.Getenv("CI") == "true" {
				t.Fatal("boto3 is required under CI=true")
			}
			t.Skip("boto3 is not importable by python3")
		}
		if code, body := send(t, "PUT", ep+"/py/notes/from-python.txt", "written by boto3"); code != 200 || !strings.Contains(body, `"etag"`) {
			t.Fatalf("PUT: %d %s", code, body)
		}
		if code, body := send(t, "GET", ep+"/py/notes/from-python.txt", ""); code != 200 || body != "written by boto3" {
			t.Errorf("GET: %d %q", code, body)
		}
		if code, body := send(t, "GET", ep+"/go/notes/from-python.txt", ""); code != 200 || body != "written by boto3" {
			t.Errorf("Go reading Python's object: %d %q", code, body)
		}
		if code, body := send(t, "GET", ep+"/py/notes/from-go.txt", ""); code != 200 || body != "written by aws-sdk-go-v2" {
			t.Errorf("Python reading Go's object: %d %q", code, body)
		}
	})
}

// TestStorageExternal runs the storage example with `storage:` pointing at
// versitygw: the functions get its endpoint and keys, their objects land
// in versitygw (and not in Portico's store), and what is put there by
// another client is read by the functions.
func TestStorageExternal(t *testing.T) {
	srv := startVersitygw(t)
	ctx := context.Background()
	c := srv.client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("documents")}); err != nil {
		t.Fatalf("create bucket on versitygw: %v", err)
	}
	dir := copyExampleDir(t, "storage")
	spec := filepath.Join(dir, "portico.yaml")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	ext := "\nstorage:\n  endpoint: " + srv.endpoint + "\n  region: us-east-1\n  accessKeyId: " + srv.accessKey +
		"\n  secretAccessKey: " + srv.secretKey + "\n  forcePathStyle: true\n"
	if err := os.WriteFile(spec, append(b, ext...), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, spec)
	ep := strings.TrimSuffix(in.endpoints["documentsApi $default"], "/")
	if ep == "" {
		t.Fatalf("no endpoint for documentsApi $default in %v", in.endpoints)
	}
	functionsReadWrite(t, ep)

	t.Run("objects are in versitygw", func(t *testing.T) {
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("documents"), Key: aws.String("notes/from-go.txt")})
		if err != nil {
			t.Fatalf("versitygw GetObject: %v", err)
		}
		body, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if string(body) != "written by aws-sdk-go-v2" {
			t.Errorf("versitygw holds %q", body)
		}
		// On disk in the posix backend's layout (bucket/key), not under
		// Portico's data directory.
		if _, err := os.Stat(filepath.Join(srv.root, "documents", "notes", "from-go.txt")); err != nil {
			t.Errorf("not in versitygw's directory: %v", err)
		}
		out, err := exec.Command(binary, "s3", "ls", "--endpoint", in.aws).CombinedOutput()
		if err != nil || strings.Contains(string(out), "documents") {
			t.Errorf("Portico's own store holds the bucket: %v %s", err, out)
		}
	})
	t.Run("written elsewhere, read by a function", func(t *testing.T) {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("documents"), Key: aws.String("elsewhere/a.txt"),
			Body: strings.NewReader("put straight into versitygw")}); err != nil {
			t.Fatal(err)
		}
		if code, body := send(t, "GET", ep+"/go/elsewhere/a.txt", ""); code != 200 || body != "put straight into versitygw" {
			t.Errorf("GET: %d %q", code, body)
		}
	})
}
