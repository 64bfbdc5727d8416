package s3

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/portico-dev/portico/internal/s3/s3test"
)

// TestDifferentialVersitygw sends the same multipart uploads (with each
// checksum algorithm and type) and the same UploadPartCopy to Portico's
// store and to versitygw, an independent S3 implementation, and compares
// what they answer: ETags, checksums, checksum types and bytes.
func TestDifferentialVersitygw(t *testing.T) {
	vg := s3test.StartVersitygw(t)
	h := newHarness(t, Config{})
	ctx := context.Background()
	servers := map[string]*s3.Client{
		"portico": h.admin(true),
		"versitygw": s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(vg.Endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(vg.AccessKey, vg.SecretKey, "")}),
	}
	data := randomBytes(11<<20 + 17)
	chunks := [][]byte{data[:5<<20], data[5<<20 : 10<<20], data[10<<20:]}
	for _, c := range servers {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("diff")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("diff"), Key: aws.String("src"), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
	}
	// what is one server's answer to one scenario, compared across servers.
	type what struct {
		etag, sum, typ string
		headSum        string
		body           []byte
	}
	sumOf := func(crc32, crc32c, sha1, sha256, crc64 *string) string {
		return aws.ToString(crc32) + aws.ToString(crc32c) + aws.ToString(sha1) + aws.ToString(sha256) + aws.ToString(crc64)
	}
	run := func(t *testing.T, c *s3.Client, key string, alg types.ChecksumAlgorithm, typ types.ChecksumType, copyParts bool) what {
		cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("diff"), Key: aws.String(key), ChecksumAlgorithm: alg, ChecksumType: typ})
		if err != nil {
			t.Fatal(err)
		}
		var parts []types.CompletedPart
		off := 0
		for i, ch := range chunks {
			n := aws.Int32(int32(i + 1))
			p := types.CompletedPart{PartNumber: n}
			if copyParts {
				out, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("diff"), Key: aws.String(key), UploadId: cr.UploadId, PartNumber: n,
					CopySource: aws.String("diff/src"), CopySourceRange: aws.String("bytes=" + itoa(off) + "-" + itoa(off+len(ch)-1))})
				if err != nil {
					t.Fatalf("part copy %d: %v", i+1, err)
				}
				r := out.CopyPartResult
				p.ETag, p.ChecksumCRC32, p.ChecksumCRC32C, p.ChecksumSHA1, p.ChecksumSHA256 = r.ETag, r.ChecksumCRC32, r.ChecksumCRC32C, r.ChecksumSHA1, r.ChecksumSHA256
				p.ChecksumCRC64NVME = r.ChecksumCRC64NVME
			} else {
				out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("diff"), Key: aws.String(key), UploadId: cr.UploadId, PartNumber: n,
					Body: bytes.NewReader(ch), ChecksumAlgorithm: alg})
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				p.ETag, p.ChecksumCRC32, p.ChecksumCRC32C, p.ChecksumSHA1, p.ChecksumSHA256 = out.ETag, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumSHA1, out.ChecksumSHA256
				p.ChecksumCRC64NVME = out.ChecksumCRC64NVME
			}
			off += len(ch)
			parts = append(parts, p)
		}
		done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("diff"), Key: aws.String(key), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatalf("complete: %v", err)
		}
		ho, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("diff"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("diff"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(g.Body)
		g.Body.Close()
		return what{etag: aws.ToString(done.ETag), typ: string(done.ChecksumType),
			sum:     sumOf(done.ChecksumCRC32, done.ChecksumCRC32C, done.ChecksumSHA1, done.ChecksumSHA256, done.ChecksumCRC64NVME),
			headSum: sumOf(ho.ChecksumCRC32, ho.ChecksumCRC32C, ho.ChecksumSHA1, ho.ChecksumSHA256, ho.ChecksumCRC64NVME), body: body}
	}
	tests := []struct {
		name string
		alg  types.ChecksumAlgorithm
		typ  types.ChecksumType
		copy bool
	}{
		{"crc32 composite", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, false},
		{"crc32c composite", types.ChecksumAlgorithmCrc32c, types.ChecksumTypeComposite, false},
		{"sha1 composite", types.ChecksumAlgorithmSha1, types.ChecksumTypeComposite, false},
		{"sha256 composite", types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, false},
		{"crc32 full object", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, false},
		{"crc32c full object", types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject, false},
		{"crc64nvme full object", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject, false},
		{"part copy, sha256 composite", types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, true},
		{"part copy, no checksum", "", "", true},
	}
	t.Run("completion without the part checksums", func(t *testing.T) {
		for name, c := range servers {
			cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("diff"), Key: aws.String("nosums"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			if err != nil {
				t.Fatal(err)
			}
			up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("diff"), Key: aws.String("nosums"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
				Body: bytes.NewReader(chunks[2]), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("diff"), Key: aws.String("nosums"), UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}})
			if apiCode(err) != "InvalidRequest" {
				t.Errorf("%s: %v, want InvalidRequest", name, err)
			}
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]what{}
			for name, c := range servers {
				got[name] = run(t, c, tc.name, tc.alg, tc.typ, tc.copy)
			}
			p, v := got["portico"], got["versitygw"]
			if !bytes.Equal(p.body, data) || !bytes.Equal(v.body, data) {
				t.Fatalf("bodies: portico %d bytes, versitygw %d, want %d", len(p.body), len(v.body), len(data))
			}
			if p.etag != v.etag {
				t.Errorf("ETag: portico %s, versitygw %s", p.etag, v.etag)
			}
			if tc.alg != "" && (p.sum != v.sum || p.typ != v.typ || p.headSum != v.headSum) {
				t.Errorf("checksum: portico %s %s (head %s), versitygw %s %s (head %s)", p.sum, p.typ, p.headSum, v.sum, v.typ, v.headSum)
			}
		})
	}
}
