package main

// The external store (spec `storage:`) against a real S3 server built from
// the registries: versitygw with its posix backend. The storage example's
// functions read and write through it exactly as they do through Portico's
// own store (TestStorageExample): both tests share functionsReadWrite.

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portico-dev/portico/internal/s3/s3test"
)

func versityClient(srv *s3test.Server) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, "")})
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
		// boto3 comes from the function's requirements.txt, installed by
		// Portico.
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
	srv := s3test.StartVersitygw(t)
	ctx := context.Background()
	c := versityClient(srv)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("documents")}); err != nil {
		t.Fatalf("create bucket on versitygw: %v", err)
	}
	dir := copyExampleDir(t, "storage")
	spec := filepath.Join(dir, "portico.yaml")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	ext := "\nstorage:\n  endpoint: " + srv.Endpoint + "\n  region: us-east-1\n  accessKeyId: " + srv.AccessKey +
		"\n  secretAccessKey: " + srv.SecretKey + "\n  forcePathStyle: true\n"
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
		if _, err := os.Stat(filepath.Join(srv.Root, "documents", "notes", "from-go.txt")); err != nil {
			t.Errorf("not in versitygw's directory: %v", err)
		}
		out, err := exec.Command(binary, "s3", "ls", "--endpoint", in.aws, "--data-dir", in.dataDir).CombinedOutput()
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
