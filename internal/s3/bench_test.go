package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var benchSizes = []struct {
	name string
	n    int
}{{"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// benchRequest is a request to the loopback server signed with
// UNSIGNED-PAYLOAD, so the client spends no time hashing.
func benchRequest(b *testing.B, h *harness, method, path string, body []byte) *http.Request {
	r, _ := http.NewRequest(method, h.http.URL+path, bytes.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}, r,
		"UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
	return r
}

func do(b *testing.B, r *http.Request) {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s %s: %d", r.Method, r.URL.Path, resp.StatusCode)
	}
}

// BenchmarkPutObject is PutObject over loopback HTTP (MD5, temp file,
// fsync, rename, directory fsync); compare with BenchmarkDirectWrite.
func BenchmarkPutObject(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			h := newHarness(b, Config{})
			do(b, benchRequest(b, h, "PUT", "/bench", nil))
			body := make([]byte, sz.n)
			rand.Read(body)
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				do(b, benchRequest(b, h, "PUT", fmt.Sprintf("/bench/k%d", i%4), body))
			}
		})
	}
}

// BenchmarkDirectWrite writes the same bytes to the same disk as durably
// (write, fsync, rename, directory fsync), without HTTP or hashing.
func BenchmarkDirectWrite(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			dir := b.TempDir()
			body := make([]byte, sz.n)
			rand.Read(body)
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, _ := os.CreateTemp(dir, "w-*")
				f.Write(body)
				f.Sync()
				f.Close()
				os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("k%d", i%4)))
				syncDir(dir)
			}
		})
	}
}

func BenchmarkGetObject(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			h := newHarness(b, Config{})
			do(b, benchRequest(b, h, "PUT", "/bench", nil))
			body := make([]byte, sz.n)
			rand.Read(body)
			do(b, benchRequest(b, h, "PUT", "/bench/k", body))
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				do(b, benchRequest(b, h, "GET", "/bench/k", nil))
			}
		})
	}
}

// BenchmarkDirectRead reads the same bytes from a file on the same disk.
func BenchmarkDirectRead(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "k")
			body := make([]byte, sz.n)
			rand.Read(body)
			os.WriteFile(p, body, 0o644)
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, _ := os.Open(p)
				io.Copy(io.Discard, f)
				f.Close()
			}
		})
	}
}

// BenchmarkListObjectsV2 lists one page of 1 000 keys (with a delimiter)
// from a bucket of 100 000 objects, over loopback HTTP. The index is
// filled in memory (what listing reads); files are not created.
func BenchmarkListObjectsV2(b *testing.B) {
	h := newHarness(b, Config{})
	do(b, benchRequest(b, h, "PUT", "/many", nil))
	bk, _ := h.srv.store.bucket("many")
	now := time.Now()
	bk.mu.Lock()
	for i := 0; i < 100000; i++ {
		bk.objs[fmt.Sprintf("dir%03d/file%06d", i%100, i)] = entry{size: 1, etag: `"x"`, modified: now}
	}
	bk.keys = bk.keys[:0]
	for k := range bk.objs {
		bk.keys = append(bk.keys, k)
	}
	bk.mu.Unlock()
	bk.mu.Lock()
	sortStrings(bk.keys)
	bk.mu.Unlock()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		do(b, benchRequest(b, h, "GET", fmt.Sprintf("/many?list-type=2&prefix=dir%03d/&start-after=dir%03d/file%06d", i%100, i%100, i%1000), nil))
	}
}

func sortStrings(s []string) { slices.Sort(s) }
