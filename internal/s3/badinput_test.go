package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/portico-dev/portico/internal/sigv4"
)

// signed builds a request signed with the admin key; payloadHash "" means
// the SHA-256 of body.
func signed(t testing.TB, method, url string, body []byte, payloadHash string, hdr map[string]string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, url, bytes.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if payloadHash == "" {
		s := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(s[:])
	}
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret},
		r, payloadHash, "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func serve(h *harness, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, Config{MaxObjectSize: 1 << 20})
	if w := serve(h, signed(t, "PUT", "http://127.0.0.1/bad-in", nil, "", nil)); w.Code != 200 {
		t.Fatalf("create bucket: %d %s", w.Code, w.Body)
	}
	body := []byte("hello world")
	goodMD5 := md5.Sum(body)
	tests := []struct {
		name     string
		req      func() *http.Request
		status   int
		wantCode string
	}{
		{"bucket name too short", func() *http.Request { return signed(t, "PUT", "http://127.0.0.1/ab", nil, "", nil) }, 400, "InvalidBucketName"},
		{"bucket name upper case", func() *http.Request { return signed(t, "PUT", "http://127.0.0.1/Bucket", nil, "", nil) }, 400, "InvalidBucketName"},
		{"bucket name ip", func() *http.Request { return signed(t, "PUT", "http://127.0.0.1/192.168.1.1", nil, "", nil) }, 400, "InvalidBucketName"},
		{"bucket name dots", func() *http.Request { return signed(t, "PUT", "http://127.0.0.1/a..b", nil, "", nil) }, 400, "InvalidBucketName"},
		{"bucket name escaping", func() *http.Request { return signed(t, "GET", "http://127.0.0.1/../x", nil, "", nil) }, 400, "InvalidBucketName"},
		{"no such bucket", func() *http.Request { return signed(t, "GET", "http://127.0.0.1/nope-bucket/k", nil, "", nil) }, 404, "NoSuchBucket"},
		{"key too long", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/"+strings.Repeat("k", 1025), body, "", nil)
		}, 400, "KeyTooLongError"},
		{"good content-md5", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k", body, "", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(goodMD5[:])})
		}, 200, ""},
		{"wrong content-md5", func() *http.Request {
			other := md5.Sum([]byte("other"))
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k", body, "", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(other[:])})
		}, 400, "BadDigest"},
		{"malformed content-md5", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k", body, "", map[string]string{"Content-MD5": "not-base64!"})
		}, 400, "InvalidDigest"},
		{"wrong checksum", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k", body, "", map[string]string{"x-amz-checksum-crc32": "AAAAAA=="})
		}, 400, "BadDigest"},
		{"payload hash mismatch", func() *http.Request {
			s := sha256.Sum256([]byte("something else"))
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k", body, hex.EncodeToString(s[:]), nil)
		}, 400, "XAmzContentSHA256Mismatch"},
		{"too large", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/big", make([]byte, 1<<20+1), "UNSIGNED-PAYLOAD", nil)
		}, 400, "EntityTooLarge"},
		{"truncated upload", func() *http.Request {
			r := signed(t, "PUT", "http://127.0.0.1/bad-in/trunc", body, "UNSIGNED-PAYLOAD", nil)
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:4]), errReader{io.ErrUnexpectedEOF}))
			return r
		}, 400, "IncompleteBody"},
		{"unsigned request", func() *http.Request { return httptest.NewRequest("GET", "http://127.0.0.1/", nil) }, 403, "AccessDenied"},
		{"skewed clock", func() *http.Request {
			r := httptest.NewRequest("GET", "http://127.0.0.1/", nil)
			v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}, r,
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "s3", "us-east-1", time.Now().Add(-time.Hour))
			return r
		}, 403, "RequestTimeTooSkewed"},
		{"copy to itself", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k", nil, "", map[string]string{"x-amz-copy-source": "/bad-in/k"})
		}, 400, "InvalidRequest"},
		{"no such upload", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k?partNumber=1&uploadId=00000000000000000000000000000000", body, "", nil)
		}, 404, "NoSuchUpload"},
		{"bad part number", func() *http.Request {
			return signed(t, "PUT", "http://127.0.0.1/bad-in/k?partNumber=10001&uploadId=00000000000000000000000000000000", body, "", nil)
		}, 400, "InvalidArgument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(h, tc.req())
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.wantCode) {
				t.Errorf("got %d %s, want %d %s", w.Code, w.Body, tc.status, tc.wantCode)
			}
		})
	}
	// Nothing half-written is visible: no staging files left, trunc/big absent.
	assertNoStaging(t, h.dir)
	for _, k := range []string{"trunc", "big"} {
		if w := serve(h, signed(t, "HEAD", "http://127.0.0.1/bad-in/"+k, nil, "", nil)); w.Code != 404 {
			t.Errorf("%s after failed upload: %d", k, w.Code)
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func assertNoStaging(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "tmp" {
			t.Errorf("staging file left behind: %s", p)
		}
		return nil
	})
}

// chunkedBody encodes data as aws-chunked with chunk signatures chained
// from seed, plus an optional signed trailer.
func chunkedBody(id *sigv4.Identity, data []byte, chunk int, trailer string, corrupt bool) []byte {
	var b bytes.Buffer
	prev := id.Signature
	for off := 0; ; off += chunk {
		off = min(off, len(data))
		part := data[off:min(off+chunk, len(data))]
		s := sha256.Sum256(part)
		sig := chunkSignature(id, prev, hex.EncodeToString(s[:]))
		if corrupt && off > 0 {
			sig = strings.Repeat("0", 64)
		}
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(part), sig)
		prev = sig
		if len(part) == 0 {
			break
		}
		b.Write(part)
		b.WriteString("\r\n")
	}
	if trailer != "" {
		b.WriteString(trailer + "\r\n")
		b.WriteString("x-amz-trailer-signature:" + id.TrailerSignature(prev, []byte(trailer+"\n")) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestSignedChunkedUpload(t *testing.T) {
	h := newHarness(t, Config{})
	serve(h, signed(t, "PUT", "http://127.0.0.1/chunky", nil, "", nil))
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	crc := base64.StdEncoding.EncodeToString(crcBytes(crc32IEEE(data)))
	tests := []struct {
		name     string
		mode     string
		trailer  string
		corrupt  bool
		wantCode int
	}{
		{"signed chunks", sigv4.StreamingPayload, "", false, 200},
		{"signed chunks with signed trailer", sigv4.StreamingPayloadTrailer, "x-amz-checksum-crc32:" + crc, false, 200},
		{"bad chunk signature", sigv4.StreamingPayload, "", true, 403},
		{"wrong trailer checksum", sigv4.StreamingPayloadTrailer, "x-amz-checksum-crc32:AAAAAA==", false, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": fmt.Sprint(len(data))}
			if tc.trailer != "" {
				hdr["x-amz-trailer"] = "x-amz-checksum-crc32"
			}
			r := signed(t, "PUT", "http://127.0.0.1/chunky/obj-"+strings.ReplaceAll(tc.name, " ", "-"), nil, tc.mode, hdr)
			id, err := h.srv.verifier.Verify(r, nil, "s3")
			if err != nil {
				t.Fatal(err)
			}
			body := chunkedBody(id, data, 64<<10, tc.trailer, tc.corrupt)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			w := serve(h, r)
			if w.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantCode, w.Body)
			}
			if w.Code == 200 && w.Header().Get("ETag") != `"`+md5hex(data)+`"` {
				t.Errorf("etag %s", w.Header().Get("ETag"))
			}
		})
	}
	assertNoStaging(t, h.dir)
}

func TestKeysStayInsideDataDir(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	c := h.admin(true)
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("esc")})
	for _, k := range []string{"../../../../escape", "/abs", "a/../../b", "..", ".", "%2e%2e/x"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("esc"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	filepath.WalkDir(h.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "escape") {
			t.Errorf("a key became a path: %s", p)
		}
		return nil
	})
	parent := filepath.Dir(h.dir)
	if _, err := os.Stat(filepath.Join(parent, "escape")); err == nil {
		t.Error("object written outside the data directory")
	}
	lo, _ := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("esc")})
	if len(lo.Contents) != 6 {
		t.Errorf("listed %d objects, want 6", len(lo.Contents))
	}
}

// fullDisk is a tempFile that fails with ENOSPC after limit bytes.
type fullDisk struct {
	*os.File
	left int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.File.Write(p[:f.left])
		f.left = 0
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.left -= len(p)
	return f.File.Write(p)
}

func TestFullDisk(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.admin(true)
	ctx := context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("full")})
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("full"), Key: aws.String("k"), Body: strings.NewReader("old")})
	h.srv.store.createTemp = func(dir string) (tempFile, error) {
		f, err := os.CreateTemp(dir, "w-*")
		return &fullDisk{File: f, left: 1000}, err
	}
	w := serve(h, signed(t, "PUT", "http://127.0.0.1/full/k", bytes.Repeat([]byte("x"), 5000), "", nil))
	if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), "InsufficientStorage") {
		t.Fatalf("full disk: %d %s", w.Code, w.Body)
	}
	assertNoStaging(t, h.dir)
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("full"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "old" {
		t.Errorf("after a failed write the object is %q, want the old one", got)
	}
}

func TestConcurrentWriters(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.admin(true)
	ctx := context.Background()
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("race")})
	bodies := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		b := bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
		bodies[md5hex(b)] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("race"), Key: aws.String("k"), Body: bytes.NewReader(b)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("race"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bodies[md5hex(got)] || aws.ToString(out.ETag) != `"`+md5hex(got)+`"` {
		t.Errorf("torn object: %d bytes, etag %s", len(got), aws.ToString(out.ETag))
	}
}

func TestRestartAndEnsureBuckets(t *testing.T) {
	dir := t.TempDir()
	contents := t.TempDir()
	os.MkdirAll(filepath.Join(contents, "models"), 0o755)
	os.WriteFile(filepath.Join(contents, "models", "model.json"), []byte(`{"w":1}`), 0o644)
	h := newHarness(t, Config{DataDir: dir})
	ctx := context.Background()
	want := []Bucket{{Name: "seed", Contents: contents}, {Name: "empty-one"}}
	if err := h.srv.EnsureBuckets(ctx, want); err != nil {
		t.Fatal(err)
	}
	c := h.admin(true)
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("seed"), Key: aws.String("models/model.json"), Body: strings.NewReader("changed")})
	if err := h.srv.EnsureBuckets(ctx, []Bucket{{Name: "Bad_Name"}}); err == nil {
		t.Error("EnsureBuckets accepted an invalid name")
	}
	// Restart on the same directory: data survives and contents do not overwrite.
	h2 := newHarness(t, Config{DataDir: dir})
	if err := h2.srv.EnsureBuckets(ctx, want); err != nil {
		t.Fatal(err)
	}
	out, err := h2.admin(true).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("seed"), Key: aws.String("models/model.json")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != "changed" {
		t.Errorf("after restart: %q", got)
	}
	lb, _ := h2.admin(true).ListBuckets(ctx, &s3.ListBucketsInput{})
	if len(lb.Buckets) != 2 {
		t.Errorf("buckets after restart: %d", len(lb.Buckets))
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		size          int64
		off, n        int64
		partial, fail bool
	}{
		{"first bytes", "bytes=0-9", 100, 0, 10, true, false},
		{"open end", "bytes=90-", 100, 90, 10, true, false},
		{"suffix", "bytes=-5", 100, 95, 5, true, false},
		{"end past size", "bytes=95-200", 100, 95, 5, true, false},
		{"start past size", "bytes=100-", 100, 0, 0, false, true},
		{"multiple ranges ignored", "bytes=0-1,5-6", 100, 0, 100, false, false},
		{"garbage ignored", "items=0-1", 100, 0, 100, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			off, n, partial, err := parseRange(tc.in, tc.size)
			if (err != nil) != tc.fail || off != tc.off || n != tc.n || partial != tc.partial {
				t.Errorf("got %d %d %v %v", off, n, partial, err)
			}
		})
	}
}

func FuzzChunkedReader(f *testing.F) {
	id := &sigv4.Identity{Signature: strings.Repeat("a", 64), Scope: "20240101/us-east-1/s3/aws4_request", SigningKey: []byte("k"), SignedAt: time.Unix(0, 0)}
	f.Add(chunkedBody(id, []byte("hello"), 2, "", false), true)
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		cr := newChunkedReader(bytes.NewReader(body), id, signed, true)
		io.Copy(io.Discard, io.LimitReader(cr, 1<<20))
	})
}
