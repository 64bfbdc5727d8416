package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/sigv4"
)

const (
	adminID     = "AKIAADMIN00000000000"
	adminSecret = "admin-secret"
	readerID    = "ASIAREADER0000000000"
	readerSec   = "reader-secret"
	readerTok   = "reader-token"
)

// harness is a Server behind a loopback httptest server.
type harness struct {
	srv  *Server
	http *httptest.Server
	dir  string
}

func newHarness(t testing.TB, cfg Config, tls ...bool) *harness {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	kr := &Keyring{}
	readOnly, err := iam.ParsePolicy(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/secret/*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Set([]Principal{
		{Name: "admin", Credentials: sigv4.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}, Admin: true},
		{Name: "function/reader", Credentials: sigv4.Credentials{AccessKeyID: readerID, SecretAccessKey: readerSec, SessionToken: readerTok}, Policies: []*iam.Policy{readOnly}},
	}); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Deps{Principals: kr})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s)
	if len(tls) > 0 && tls[0] {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return &harness{srv: s, http: ts, dir: cfg.DataDir}
}

// client returns an SDK client; virtual-hosted clients address
// BUCKET.s3.localhost:PORT, dialled to the test server.
func (h *harness) client(id, secret, token string, pathStyle bool) *s3.Client {
	addr := h.http.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	scheme := "http"
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	if h.http.TLS != nil {
		scheme = "https"
		tr.TLSClientConfig = h.http.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		tr.TLSClientConfig.ServerName = "example.com"
	}
	endpoint := scheme + "://127.0.0.1:" + port
	if !pathStyle {
		endpoint = scheme + "://s3.localhost:" + port
	}
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: pathStyle,
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, token),
		HTTPClient:   &http.Client{Transport: tr},
	})
}

func staticCreds(id, secret, token string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(id, secret, token)
}

func (h *harness) admin(pathStyle bool) *s3.Client {
	return h.client(adminID, adminSecret, "", pathStyle)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func TestSDKRoundTrip(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	for _, style := range []struct {
		name string
		path bool
	}{{"path-style", true}, {"virtual-hosted", false}} {
		t.Run(style.name, func(t *testing.T) {
			c := h.admin(style.path)
			bucket := "rt-" + map[bool]string{true: "path", false: "vhost"}[style.path]
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); apiCode(err) != "BucketAlreadyOwnedByYou" {
				t.Fatalf("second create: %v", err)
			}
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
				t.Fatal(err)
			}
			body := bytes.Repeat([]byte("portico "), 4096)
			keys := []string{"a/b", "a/b/c", "../../etc/passwd", "x//y", "ünï/cödé ✓", strings.Repeat("k", 1024), "sp ace+plus%pct"}
			for _, k := range keys {
				out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(k), Body: bytes.NewReader(append(body, k...)),
					ContentType: aws.String("text/plain"), Metadata: map[string]string{"model": "v1"}})
				if err != nil {
					t.Fatalf("put %.40q: %v", k, err)
				}
				if got, want := aws.ToString(out.ETag), `"`+md5hex(append(body, k...))+`"`; got != want {
					t.Errorf("etag %s, want %s", got, want)
				}
			}
			for _, k := range keys {
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(k)})
				if err != nil {
					t.Fatalf("get %.40q: %v", k, err)
				}
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if !bytes.Equal(got, append(body, k...)) {
					t.Errorf("get %.40q: wrong body (%d bytes)", k, len(got))
				}
				if out.Metadata["model"] != "v1" || aws.ToString(out.ContentType) != "text/plain" {
					t.Errorf("get %.40q: metadata %v, content type %s", k, out.Metadata, aws.ToString(out.ContentType))
				}
			}
			lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
			if err != nil || len(lo.Contents) != len(keys) {
				t.Fatalf("list: %v, %d objects", err, len(lo.Contents))
			}
			// Ranges.
			for _, tc := range []struct{ rng, want string }{
				{"bytes=0-7", "portico "}, {"bytes=8-", string(body[8:]) + "a/b"}, {"bytes=-3", "a/b"},
			} {
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b"), Range: aws.String(tc.rng)})
				if err != nil {
					t.Fatalf("range %s: %v", tc.rng, err)
				}
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if string(got) != tc.want {
					t.Errorf("range %s: got %d bytes", tc.rng, len(got))
				}
			}
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b"), Range: aws.String("bytes=999999-")})
			if apiCode(err) != "InvalidRange" {
				t.Errorf("unsatisfiable range: %v", err)
			}
			// Copy, delete, delete objects, bucket not empty.
			if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("copy"), CopySource: aws.String(bucket + "/" + "ünï/cödé ✓")}); err != nil {
				t.Fatalf("copy: %v", err)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); apiCode(err) != "BucketNotEmpty" {
				t.Errorf("delete non-empty bucket: %v", err)
			}
			var ids []types.ObjectIdentifier
			for _, k := range append(keys, "copy") {
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
			do, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{Objects: ids}})
			if err != nil || len(do.Deleted) != len(ids) {
				t.Fatalf("delete objects: %v", err)
			}
			if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b")}); apiCode(err) != "NoSuchKey" {
				t.Errorf("get deleted: %v", err)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
				t.Error("head of deleted bucket succeeded")
			}
		})
	}
}

func TestSDKChecksumsAndChunked(t *testing.T) {
	// Over TLS the SDK streams unseekable bodies as aws-chunked with a
	// trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
	h := newHarness(t, Config{}, true)
	ctx := context.Background()
	c := h.admin(true)
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sums")})
	body := bytes.Repeat([]byte{7}, 300<<10)
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256, types.ChecksumAlgorithmCrc64nvme} {
		t.Run(string(alg), func(t *testing.T) {
			// An io.Reader that cannot seek makes the SDK stream with aws-chunked and a trailing checksum.
			for _, r := range []io.Reader{bytes.NewReader(body), io.MultiReader(bytes.NewReader(body))} {
				in := &s3.PutObjectInput{Bucket: aws.String("sums"), Key: aws.String("k-" + string(alg)), Body: r, ChecksumAlgorithm: alg}
				if _, seek := r.(io.Seeker); !seek {
					in.ContentLength = aws.Int64(int64(len(body)))
				}
				if _, err := c.PutObject(ctx, in); err != nil {
					t.Fatalf("put (%T): %v", r, err)
				}
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sums"), Key: aws.String("k-" + string(alg)), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("get: %v (%d bytes)", err, len(got))
			}
		})
	}
}

func TestSDKMultipart(t *testing.T) {
	h := newHarness(t, Config{MinPartSize: 1024})
	ctx := context.Background()
	c := h.admin(true)
	b, k := aws.String("mpu"), aws.String("big/object")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k, ContentType: aws.String("application/x-model")})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{bytes.Repeat([]byte("a"), 2048), bytes.Repeat([]byte("b"), 2048), []byte("tail")}
	var done []types.CompletedPart
	var md5s []byte
	for i, p := range parts {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
		s := md5.Sum(p)
		md5s = append(md5s, s[:]...)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: k, UploadId: cr.UploadId})
	if err != nil || len(lp.Parts) != 3 {
		t.Fatalf("list parts: %v", err)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 {
		t.Fatalf("list uploads: %v", err)
	}
	bad := []struct {
		name  string
		parts []types.CompletedPart
		want  string
	}{
		{"out of order", []types.CompletedPart{done[1], done[0], done[2]}, "InvalidPartOrder"},
		{"missing part", []types.CompletedPart{done[0], {PartNumber: aws.Int32(9), ETag: done[1].ETag}}, "InvalidPart"},
		{"wrong etag", []types.CompletedPart{done[0], {PartNumber: aws.Int32(2), ETag: done[0].ETag}}, "InvalidPart"},
		{"small middle part", []types.CompletedPart{done[2]}, ""},
	}
	for _, tc := range bad[:3] {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: tc.parts}})
			if apiCode(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`"%s-3"`, md5hex(md5s))
	if aws.ToString(out.ETag) != want {
		t.Errorf("etag %s, want %s", aws.ToString(out.ETag), want)
	}
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if !bytes.Equal(got, bytes.Join(parts, nil)) || aws.ToString(g.ContentType) != "application/x-model" {
		t.Errorf("assembled object wrong: %d bytes, %s", len(got), aws.ToString(g.ContentType))
	}
	// The upload is gone; aborting it now fails; abort of a fresh one works.
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("abort completed: %v", err)
	}
	cr2, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: k, UploadId: cr2.UploadId}); err != nil {
		t.Errorf("abort: %v", err)
	}
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr2.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("x")}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("upload to aborted: %v", err)
	}
	// Small non-final part.
	cr3, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	var small []types.CompletedPart
	for i := 1; i <= 2; i++ {
		up, _ := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr3.UploadId, PartNumber: aws.Int32(int32(i)), Body: strings.NewReader("tiny")})
		small = append(small, types.CompletedPart{PartNumber: aws.Int32(int32(i)), ETag: up.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr3.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: small}}); apiCode(err) != "EntityTooSmall" {
		t.Errorf("small part: %v", err)
	}
}

func TestSDKListPaging(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	c := h.admin(true)
	b := aws.String("list")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	var all []string
	for _, d := range []string{"photos/2024/", "photos/2025/", "docs/", ""} {
		for i := 0; i < 5; i++ {
			all = append(all, fmt.Sprintf("%sf%02d", d, i))
		}
	}
	for _, k := range all {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		in         s3.ListObjectsV2Input
		wantKeys   int
		wantPrefix []string
	}{
		{"all paged by 3", s3.ListObjectsV2Input{MaxKeys: aws.Int32(3)}, 20, nil},
		{"delimiter at root", s3.ListObjectsV2Input{Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)}, 5, []string{"docs/", "photos/"}},
		{"delimiter under prefix", s3.ListObjectsV2Input{Prefix: aws.String("photos/"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)}, 0, []string{"photos/2024/", "photos/2025/"}},
		{"start after", s3.ListObjectsV2Input{StartAfter: aws.String("photos/2025/f02")}, 2, nil},
		{"url encoding", s3.ListObjectsV2Input{Prefix: aws.String("docs/"), EncodingType: types.EncodingTypeUrl}, 5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket = b
			var keys, prefixes []string
			p := s3.NewListObjectsV2Paginator(c, &in)
			for pages := 0; p.HasMorePages(); pages++ {
				if pages > 50 {
					t.Fatal("paging does not end")
				}
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range out.Contents {
					keys = append(keys, aws.ToString(o.Key))
				}
				for _, cp := range out.CommonPrefixes {
					prefixes = append(prefixes, aws.ToString(cp.Prefix))
				}
			}
			if len(keys) != tc.wantKeys || fmt.Sprint(prefixes) != fmt.Sprint(tc.wantPrefix) {
				t.Errorf("keys %v (%d, want %d), prefixes %v, want %v", keys, len(keys), tc.wantKeys, prefixes, tc.wantPrefix)
			}
		})
	}
}

func TestSDKConditionals(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	c := h.admin(true)
	b, k := aws.String("cond"), aws.String("obj")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("v1")})
	if err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(put.ETag)
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tests := []struct {
		name string
		in   s3.GetObjectInput
		want string // "" success, else the error code or status
	}{
		{"if-match ok", s3.GetObjectInput{IfMatch: aws.String(etag)}, ""},
		{"if-match fails", s3.GetObjectInput{IfMatch: aws.String(`"nope"`)}, "PreconditionFailed"},
		{"if-none-match hits", s3.GetObjectInput{IfNoneMatch: aws.String(etag)}, "NotModified"},
		{"if-none-match misses", s3.GetObjectInput{IfNoneMatch: aws.String(`"nope"`)}, ""},
		{"if-modified-since past", s3.GetObjectInput{IfModifiedSince: &past}, ""},
		{"if-modified-since future", s3.GetObjectInput{IfModifiedSince: &future}, "NotModified"},
		{"if-unmodified-since past", s3.GetObjectInput{IfUnmodifiedSince: &past}, "PreconditionFailed"},
		{"if-match beats unmodified-since", s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: &past}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key = b, k
			out, err := c.GetObject(ctx, &in)
			if err == nil {
				out.Body.Close()
			}
			if got := apiCode(err); got != tc.want {
				t.Errorf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("v2"), IfNoneMatch: aws.String("*")}); apiCode(err) != "PreconditionFailed" {
		t.Errorf("conditional create over existing: %v", err)
	}
}

func TestSDKPolicies(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	admin := h.admin(true)
	admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("data")})
	admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other")})
	for _, k := range []string{"model.bin", "secret/key"} {
		admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String(k), Body: strings.NewReader("x")})
	}
	admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("other"), Key: aws.String("x"), Body: strings.NewReader("x")})
	reader := h.client(readerID, readerSec, readerTok, true)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"get allowed", func() error {
			_, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("model.bin")})
			return err
		}, ""},
		{"list allowed", func() error {
			_, err := reader.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data")})
			return err
		}, ""},
		{"explicit deny wins", func() error {
			_, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("secret/key")})
			return err
		}, "AccessDenied"},
		{"put not allowed", func() error {
			_, err := reader.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("data"), Key: aws.String("new"), Body: strings.NewReader("x")})
			return err
		}, "AccessDenied"},
		{"other bucket", func() error {
			_, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("other"), Key: aws.String("x")})
			return err
		}, "AccessDenied"},
		{"list buckets", func() error { _, err := reader.ListBuckets(ctx, &s3.ListBucketsInput{}); return err }, "AccessDenied"},
		{"unknown key", func() error {
			_, err := h.client("AKIANOBODY0000000000", "x", "", true).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "InvalidAccessKeyId"},
		{"wrong secret", func() error {
			_, err := h.client(adminID, "wrong", "", true).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "SignatureDoesNotMatch"},
		{"missing session token", func() error {
			_, err := h.client(readerID, readerSec, "", true).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data")})
			return err
		}, "InvalidToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiCode(tc.call()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSDKPresigned(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	c := h.admin(true)
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pre")})
	ps := s3.NewPresignClient(c)
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("up")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("presigned body"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned put: %v %v", err, resp)
	}
	resp.Body.Close()
	get, _ := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("up")}, s3.WithPresignExpires(time.Minute))
	resp, err = http.Get(get.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "presigned body" {
		t.Fatalf("presigned get: %d %q", resp.StatusCode, got)
	}
	// Another key with the same signature.
	resp, _ = http.Get(strings.Replace(get.URL, "/pre/up?", "/pre/other?", 1))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "SignatureDoesNotMatch") {
		t.Errorf("presigned URL for another key: %d %s", resp.StatusCode, body)
	}
	// Expired: a server whose clock is an hour ahead.
	late, err := New(Config{DataDir: h.dir}, Deps{Principals: h.srv.deps.Principals, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, get.URL, nil)
	r.RequestURI = strings.TrimPrefix(get.URL, h.http.URL)
	w := httptest.NewRecorder()
	late.ServeHTTP(w, r)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "Request has expired") {
		t.Errorf("expired presigned URL: %d %s", w.Code, w.Body)
	}
}
