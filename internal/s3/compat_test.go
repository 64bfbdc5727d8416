package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/sigv4"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestUploadPartCopy(t *testing.T) {
	h := newHarness(t, Config{MinPartSize: 1 << 20})
	ctx := context.Background()
	c := h.admin(true)
	b := aws.String("partcopy")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	src := randomBytes(3<<20 + 123)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("src"), Body: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("empty"), Body: bytes.NewReader(nil)})
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	// Parts: the first MiB, the rest, and the whole object again.
	ranges := []struct {
		rng        string
		first, end int
	}{
		{"bytes=0-1048575", 0, 1 << 20},
		{"bytes=1048576-" + itoa(len(src)-1), 1 << 20, len(src)},
		{"", 0, len(src)},
	}
	var parts []types.CompletedPart
	var want []byte
	for i, r := range ranges {
		in := &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("dst"), UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)),
			CopySource: aws.String("partcopy/src")}
		if r.rng != "" {
			in.CopySourceRange = aws.String(r.rng)
		}
		out, err := c.UploadPartCopy(ctx, in)
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if got, w := strings.Trim(aws.ToString(out.CopyPartResult.ETag), `"`), md5hex(src[r.first:r.end]); got != w {
			t.Errorf("part %d etag %s, want %s (MD5 of the range)", i+1, got, w)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag})
		want = append(want, src[r.first:r.end]...)
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String("dst"), UploadId: cr.UploadId})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range lp.Parts {
		if n := aws.ToInt64(p.Size); n != int64(ranges[i].end-ranges[i].first) || n == 0 {
			t.Errorf("part %d holds %d bytes, want %d", i+1, n, ranges[i].end-ranges[i].first)
		}
	}
	bad := []struct {
		name, source, rng string
		hdr               func(*s3.UploadPartCopyInput)
		want              string
	}{
		{"range past the end", "partcopy/src", "bytes=0-" + itoa(len(src)), nil, "InvalidRange"},
		{"open-ended range", "partcopy/src", "bytes=5-", nil, "InvalidArgument"},
		{"reversed range", "partcopy/src", "bytes=9-5", nil, "InvalidArgument"},
		{"not bytes", "partcopy/src", "items=0-5", nil, "InvalidArgument"},
		{"range of an empty object", "partcopy/empty", "bytes=0-0", nil, "InvalidRange"},
		{"missing source", "partcopy/nope", "", nil, "NoSuchKey"},
		{"missing source bucket", "nope-bucket/src", "", nil, "NoSuchBucket"},
		{"a version of the source", "partcopy/src?versionId=abc", "", nil, "NoSuchVersion"},
		{"if-match fails", "partcopy/src", "", func(in *s3.UploadPartCopyInput) { in.CopySourceIfMatch = aws.String(`"0123"`) }, "PreconditionFailed"},
		{"if-none-match fails", "partcopy/src", "", func(in *s3.UploadPartCopyInput) { in.CopySourceIfNoneMatch = aws.String("*") }, "PreconditionFailed"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("dst"), UploadId: cr.UploadId, PartNumber: aws.Int32(9), CopySource: aws.String(tc.source)}
			if tc.rng != "" {
				in.CopySourceRange = aws.String(tc.rng)
			}
			if tc.hdr != nil {
				tc.hdr(in)
			}
			if _, err := c.UploadPartCopy(ctx, in); apiCode(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
	// The refused copies left no part 9.
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: append(parts, types.CompletedPart{PartNumber: aws.Int32(9), ETag: parts[0].ETag})}}); apiCode(err) != "InvalidPart" {
		t.Fatalf("complete with a refused part: %v", err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if !bytes.Equal(got, want) {
		t.Fatalf("assembled %d bytes, want %d (the copied ranges)", len(got), len(want))
	}
	// A reader may not copy from where it may not read.
	rd := h.client(readerID, readerSec, readerTok, true)
	if _, err := rd.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("x"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String("partcopy/src")}); apiCode(err) != "AccessDenied" {
		t.Errorf("reader copy: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSubresources(t *testing.T) {
	h := newHarness(t, Config{})
	base := h.http.URL + "/subres"
	if w := serve(h, signed(t, "PUT", base, nil, "", nil)); w.Code != 200 {
		t.Fatalf("create bucket: %d", w.Code)
	}
	serve(h, signed(t, "PUT", base+"/obj", []byte("data"), "", nil))
	tests := []struct {
		name, method, path string
		body               string
		want               int
		code               string
	}{
		{"PUT website is not CreateBucket", "PUT", "?website", "<WebsiteConfiguration/>", 501, "NotImplemented"},
		{"GET website", "GET", "?website", "", 501, "NotImplemented"},
		{"GET policy", "GET", "?policy", "", 501, "NotImplemented"},
		{"PUT policy", "PUT", "?policy", `{"Version":"2012-10-17"}`, 501, "NotImplemented"},
		{"GET lifecycle", "GET", "?lifecycle", "", 501, "NotImplemented"},
		{"GET replication", "GET", "?replication", "", 501, "NotImplemented"},
		{"GET website", "GET", "?website", "", 501, "NotImplemented"},
		{"GET logging", "GET", "?logging", "", 501, "NotImplemented"},
		{"GET encryption", "GET", "?encryption", "", 501, "NotImplemented"},
		{"GET object-lock", "GET", "?object-lock", "", 501, "NotImplemented"},
		{"GET versions", "GET", "?versions", "", 501, "NotImplemented"},
		{"GET cors unset", "GET", "?cors", "", 404, "NoSuchCORSConfiguration"},
		{"GET tagging unset", "GET", "?tagging", "", 404, "NoSuchTagSet"},
		{"POST cors", "POST", "?cors", "", 405, "MethodNotAllowed"},
		{"GET location", "GET", "?location", "", 200, ""},
		{"GET versioning", "GET", "?versioning", "", 200, ""},
		{"GET acl", "GET", "?acl", "", 200, ""},
		{"PUT acl public", "PUT", "?acl", "", 501, "NotImplemented"},
		{"PUT versioning enabled", "PUT", "?versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", 501, "NotImplemented"},
		{"PUT versioning bad", "PUT", "?versioning", "<VersioningConfiguration><Status>On</Status></VersioningConfiguration>", 400, "IllegalVersioningConfigurationException"},
		{"PUT cors malformed", "PUT", "?cors", "<CORSConfiguration/>", 400, "MalformedXML"},
		{"PUT cors bad method", "PUT", "?cors", "<CORSConfiguration><CORSRule><AllowedMethod>PATCH</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>", 400, "InvalidRequest"},
		{"PUT tagging duplicate", "PUT", "?tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>", 400, "InvalidTag"},
		{"object retention", "GET", "/obj?retention", "", 501, "NotImplemented"},
		{"object legal-hold", "PUT", "/obj?legal-hold", "<LegalHold/>", 501, "NotImplemented"},
		{"object torrent", "GET", "/obj?torrent", "", 501, "NotImplemented"},
		{"object attributes", "GET", "/obj?attributes", "", 501, "NotImplemented"},
		{"object tagging", "GET", "/obj?tagging", "", 200, ""},
		{"object acl", "GET", "/obj?acl", "", 200, ""},
		{"acl of a missing object", "GET", "/nope?acl", "", 404, "NoSuchKey"},
		{"a version of an unversioned object", "GET", "/obj?versionId=3HL4kqtJlcpXroDTDmJ", "", 400, "InvalidArgument"},
		{"the null version", "GET", "/obj?versionId=null", "", 200, ""},
		{"object tagging too many", "PUT", "/obj?tagging", "<Tagging><TagSet>" + strings.Repeat("<Tag><Key>k</Key><Value/></Tag>", 11) + "</TagSet></Tagging>", 400, "BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.name == "PUT acl public" {
				hdr["x-amz-acl"] = "public-read"
			}
			w := serve(h, signed(t, tc.method, base+tc.path, []byte(tc.body), "", hdr))
			if w.Code != tc.want || !strings.Contains(w.Body.String(), "<Code>"+tc.code+"</Code>") && tc.code != "" {
				t.Fatalf("%s %s: %d %s, want %d %s", tc.method, tc.path, w.Code, w.Body, tc.want, tc.code)
			}
			if tc.code == "" && strings.Contains(w.Body.String(), "ListBucketResult") {
				t.Fatalf("%s %s answered with an object listing", tc.method, tc.path)
			}
		})
	}
	// The bucket still exists and has exactly one object: nothing above
	// was taken for another operation.
	w := serve(h, signed(t, "GET", base+"?list-type=2", nil, "", nil))
	if !strings.Contains(w.Body.String(), "<KeyCount>1</KeyCount>") {
		t.Errorf("listing after the sub-resource requests: %s", w.Body)
	}
}

func TestSDKBucketConfigurations(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := context.Background()
	c := h.admin(false)
	b := aws.String("configs")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})

	cors := &types.CORSConfiguration{CORSRules: []types.CORSRule{{
		AllowedMethods: []string{"PUT", "GET"}, AllowedOrigins: []string{"http://app.example"},
		AllowedHeaders: []string{"content-type", "x-amz-*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(600)}}}
	if _, err := c.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: cors}); err != nil {
		t.Fatal(err)
	}
	gc, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b})
	if err != nil || len(gc.CORSRules) != 1 || gc.CORSRules[0].AllowedOrigins[0] != "http://app.example" || aws.ToInt32(gc.CORSRules[0].MaxAgeSeconds) != 600 {
		t.Fatalf("get cors: %+v %v", gc, err)
	}

	if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}}}}); err != nil {
		t.Fatal(err)
	}
	gt, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil || len(gt.TagSet) != 1 || aws.ToString(gt.TagSet[0].Value) != "ml" {
		t.Fatalf("get bucket tagging: %+v %v", gt, err)
	}
	if _, err := c.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); apiCode(err) != "NoSuchTagSet" {
		t.Errorf("after delete: %v", err)
	}

	k := aws.String("tagged.txt")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"), Tagging: aws.String("stage=raw&owner=a%20b")}); err != nil {
		t.Fatal(err)
	}
	ho, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k})
	if err != nil || aws.ToInt32(ho.TagCount) != 2 {
		t.Errorf("tag count: %v %v", ho, err)
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: b, Key: k, Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("stage"), Value: aws.String("indexed")}}}}); err != nil {
		t.Fatal(err)
	}
	ot, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k})
	if err != nil || len(ot.TagSet) != 1 || aws.ToString(ot.TagSet[0].Value) != "indexed" {
		t.Fatalf("object tagging: %+v %v", ot, err)
	}
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(g.Body)
	g.Body.Close()
	if string(body) != "x" || aws.ToString(g.ETag) != `"`+md5hex([]byte("x"))+`"` {
		t.Errorf("tagging changed the object: %q %s", body, aws.ToString(g.ETag))
	}
	if _, err := c.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: b, Key: k}); err != nil {
		t.Fatal(err)
	}
	if ot, _ := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: b, Key: k}); len(ot.TagSet) != 0 {
		t.Errorf("tags after delete: %+v", ot.TagSet)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x"), Tagging: aws.String("aws:x=1")}); apiCode(err) != "InvalidTag" {
		t.Errorf("aws: tag: %v", err)
	}

	v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil || v.Status != "" {
		t.Errorf("versioning: %+v %v", v, err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); apiCode(err) != "NotImplemented" {
		t.Errorf("enable versioning: %v", err)
	}
	acl, err := c.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl {
		t.Errorf("acl: %+v %v", acl, err)
	}
	if _, err := c.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Errorf("private acl: %v", err)
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); apiCode(err) != "NotImplemented" {
		t.Errorf("bucket policy: %v", err)
	}
	if _, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b}); err != nil {
		t.Errorf("location: %v", err)
	}

	// The CORS configuration survives a restart; deleting it removes it.
	h2, err := New(Config{DataDir: h.dir}, Deps{Principals: h.srv.deps.Principals})
	if err != nil {
		t.Fatal(err)
	}
	if bk, _ := h2.store.bucket("configs"); bk.cors.Load() == nil {
		t.Error("CORS configuration lost on restart")
	}
	if _, err := c.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: b}); apiCode(err) != "NoSuchCORSConfiguration" {
		t.Errorf("cors after delete: %v", err)
	}
}

func TestCORSPreflight(t *testing.T) {
	h := newHarness(t, Config{})
	base := h.http.URL + "/web"
	serve(h, signed(t, "PUT", base, nil, "", nil))
	preflight := func(origin, method, headers string) *http.Response {
		r, _ := http.NewRequest("OPTIONS", base+"/uploads/a.bin", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := preflight("http://app.example", "PUT", ""); resp.StatusCode != 403 {
		t.Fatalf("preflight without a configuration: %d", resp.StatusCode)
	}
	cfg := `<CORSConfiguration><CORSRule><AllowedOrigin>http://app.example</AllowedOrigin><AllowedOrigin>http://*.app.example</AllowedOrigin>` +
		`<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>` +
		`<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>`
	if w := serve(h, signed(t, "PUT", base+"?cors", []byte(cfg), "", nil)); w.Code != 200 {
		t.Fatalf("put cors: %d %s", w.Code, w.Body)
	}
	tests := []struct {
		name, origin, method, headers string
		want                          int
	}{
		{"allowed", "http://app.example", "PUT", "Content-Type, X-Amz-Meta-Who", 200},
		{"wildcard origin", "http://eu.app.example", "GET", "", 200},
		{"other origin", "http://evil.example", "PUT", "", 403},
		{"method not allowed", "http://app.example", "DELETE", "", 403},
		{"header not allowed", "http://app.example", "PUT", "authorization", 403},
		{"no origin", "", "PUT", "", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := preflight(tc.origin, tc.method, tc.headers)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			acao := resp.Header.Get("Access-Control-Allow-Origin")
			if tc.want == 200 && (acao != tc.origin || resp.Header.Get("Access-Control-Max-Age") != "300" ||
				!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), tc.method)) {
				t.Errorf("headers %v", resp.Header)
			}
			if tc.want != 200 && acao != "" {
				t.Errorf("refused preflight carries Access-Control-Allow-Origin %q", acao)
			}
		})
	}
	// An actual request from an allowed origin gets the headers, errors
	// included; another origin gets none.
	r := signed(t, "GET", base+"/missing", nil, "", map[string]string{"Origin": "http://app.example"})
	if w := serve(h, r); w.Code != 404 || w.Header().Get("Access-Control-Allow-Origin") != "http://app.example" || w.Header().Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("actual request: %d %v", w.Code, w.Header())
	}
	r = signed(t, "GET", base+"/missing", nil, "", map[string]string{"Origin": "http://evil.example"})
	if w := serve(h, r); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin got CORS headers: %v", w.Header())
	}
	// The AWS endpoint routes preflights to S3.
	pr, _ := http.NewRequest("OPTIONS", base+"/k", nil)
	pr.Header.Set("Origin", "http://app.example")
	pr.Header.Set("Access-Control-Request-Method", "PUT")
	if !IsS3Request(pr) {
		t.Error("IsS3Request(preflight) = false")
	}
	v2, _ := http.NewRequest("GET", base+"/k?AWSAccessKeyId=AKIA&Expires=1&Signature=x", nil)
	if !IsS3Request(v2) {
		t.Error("IsS3Request(SigV2 presigned) = false")
	}
	// The SigV2 header form reaches S3 and is refused as S3 refuses it
	// where SigV2 is retired.
	v2h := httptest.NewRequest("GET", base+"/k", nil)
	v2h.Header.Set("Authorization", "AWS "+adminID+":c2lnbmF0dXJl")
	if w := serve(h, v2h); !IsS3Request(v2h) || w.Code != 400 || !strings.Contains(w.Body.String(), "<Code>InvalidRequest</Code>") {
		t.Errorf("SigV2 header: routed to S3 %v, %d %s", IsS3Request(v2h), w.Code, w.Body)
	}
}

func TestSDKMultipartChecksums(t *testing.T) {
	h := newHarness(t, Config{MinPartSize: 1024})
	ctx := context.Background()
	c := h.admin(true)
	b := aws.String("sums")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	parts := [][]byte{randomBytes(4096), randomBytes(4096), randomBytes(100)}
	whole := bytes.Join(parts, nil)
	b64 := func(p []byte) string { return base64.StdEncoding.EncodeToString(p) }
	crc := func(p []byte) string { return b64(crcBytes(crc32.ChecksumIEEE(p))) }
	composite := func(f func([]byte) []byte) string {
		var raw []byte
		for _, p := range parts {
			raw = append(raw, f(p)...)
		}
		return b64(f(raw)) + "-" + itoa(len(parts))
	}
	crc64Sum := func(p []byte) string {
		v := crc64.Checksum(p, crc64NVME)
		var out [8]byte
		for i := range out {
			out[i] = byte(v >> (56 - 8*i))
		}
		return b64(out[:])
	}
	sha := func(p []byte) []byte { s := sha256.Sum256(p); return s[:] }
	crcRaw := func(p []byte) []byte { return crcBytes(crc32.ChecksumIEEE(p)) }

	tests := []struct {
		name string
		alg  types.ChecksumAlgorithm
		typ  types.ChecksumType
		want string
		get  func(*s3.HeadObjectOutput) string
		gotC func(*s3.CompleteMultipartUploadOutput) string
	}{
		{"crc32 composite", types.ChecksumAlgorithmCrc32, "", composite(crcRaw),
			func(o *s3.HeadObjectOutput) string { return aws.ToString(o.ChecksumCRC32) },
			func(o *s3.CompleteMultipartUploadOutput) string { return aws.ToString(o.ChecksumCRC32) }},
		{"sha256 composite", types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite, composite(sha),
			func(o *s3.HeadObjectOutput) string { return aws.ToString(o.ChecksumSHA256) },
			func(o *s3.CompleteMultipartUploadOutput) string { return aws.ToString(o.ChecksumSHA256) }},
		{"crc32 full object", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, crc(whole),
			func(o *s3.HeadObjectOutput) string { return aws.ToString(o.ChecksumCRC32) },
			func(o *s3.CompleteMultipartUploadOutput) string { return aws.ToString(o.ChecksumCRC32) }},
		{"crc64nvme full object", types.ChecksumAlgorithmCrc64nvme, "", crc64Sum(whole),
			func(o *s3.HeadObjectOutput) string { return aws.ToString(o.ChecksumCRC64NVME) },
			func(o *s3.CompleteMultipartUploadOutput) string { return aws.ToString(o.ChecksumCRC64NVME) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := aws.String(tc.name)
			cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k, ChecksumAlgorithm: tc.alg, ChecksumType: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			wantType := types.ChecksumTypeComposite
			if tc.typ == types.ChecksumTypeFullObject || tc.alg == types.ChecksumAlgorithmCrc64nvme {
				wantType = types.ChecksumTypeFullObject
			}
			if cr.ChecksumType != wantType {
				t.Errorf("create: type %q, want %q", cr.ChecksumType, wantType)
			}
			var done []types.CompletedPart
			for i, p := range parts {
				up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)),
					Body: bytes.NewReader(p), ChecksumAlgorithm: tc.alg})
				if err != nil {
					t.Fatalf("part %d: %v", i+1, err)
				}
				done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag,
					ChecksumCRC32: up.ChecksumCRC32, ChecksumSHA256: up.ChecksumSHA256, ChecksumCRC64NVME: up.ChecksumCRC64NVME})
			}
			out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.gotC(out); got != tc.want || out.ChecksumType != wantType {
				t.Errorf("complete: %s %s, want %s %s", got, out.ChecksumType, tc.want, wantType)
			}
			ho, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: k, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(ho); got != tc.want || ho.ChecksumType != wantType {
				t.Errorf("head: %s %s, want %s %s", got, ho.ChecksumType, tc.want, wantType)
			}
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(g.Body) // the SDK validates full-object checksums as it reads
			g.Body.Close()
			if err != nil || !bytes.Equal(data, whole) {
				t.Errorf("get: %d bytes, %v", len(data), err)
			}
		})
	}

	bad := []struct {
		name string
		in   s3.CreateMultipartUploadInput
		want string
	}{
		{"crc64nvme composite", s3.CreateMultipartUploadInput{ChecksumAlgorithm: types.ChecksumAlgorithmCrc64nvme, ChecksumType: types.ChecksumTypeComposite}, "InvalidRequest"},
		{"sha1 full object", s3.CreateMultipartUploadInput{ChecksumAlgorithm: types.ChecksumAlgorithmSha1, ChecksumType: types.ChecksumTypeFullObject}, "InvalidRequest"},
		{"type without algorithm", s3.CreateMultipartUploadInput{ChecksumType: types.ChecksumTypeComposite}, "InvalidRequest"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Bucket, in.Key = b, aws.String("bad")
			if _, err := c.CreateMultipartUpload(ctx, &in); apiCode(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}

	// A wrong part checksum on completion is InvalidPart; a part of another
	// algorithm than the upload's is refused.
	k := aws.String("mismatch")
	cr, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if _, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(1),
		Body: bytes.NewReader(parts[0]), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); apiCode(err) != "InvalidRequest" {
		t.Errorf("part of another algorithm: %v", err)
	}
	up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(parts[2]), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag, ChecksumCRC32: aws.String(crc(parts[0]))}}}}); apiCode(err) != "InvalidPart" {
		t.Errorf("wrong part checksum: %v", err)
	}
}

func TestGetPartNumber(t *testing.T) {
	h := newHarness(t, Config{MinPartSize: 1024})
	ctx := context.Background()
	c := h.admin(true)
	b, k := aws.String("parts"), aws.String("mp")
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	parts := [][]byte{randomBytes(2000), randomBytes(3000), randomBytes(10)}
	cr, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: k})
	var done []types.CompletedPart
	for i, p := range parts {
		up, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cr.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
	c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("single"), Body: strings.NewReader("one part")})
	for i, p := range parts {
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k, PartNumber: aws.Int32(int32(i + 1))})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		got, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if !bytes.Equal(got, p) || aws.ToInt32(g.PartsCount) != 3 {
			t.Errorf("part %d: %d bytes (want %d), parts count %d", i+1, len(got), len(p), aws.ToInt32(g.PartsCount))
		}
	}
	tests := []struct {
		name string
		key  string
		part int32
		want string
	}{
		{"past the last part", "mp", 4, "InvalidPartNumber"},
		{"single-part object, part 1", "single", 1, ""},
		{"single-part object, part 2", "single", 2, "InvalidPartNumber"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(tc.key), PartNumber: aws.Int32(tc.part)})
			if apiCode(err) != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if err == nil {
				got, _ := io.ReadAll(g.Body)
				g.Body.Close()
				if string(got) != "one part" {
					t.Errorf("body %q", got)
				}
			}
		})
	}
}

// TestCopyNeedsReadOnTheSource attacks the copy operations with a writer
// that may put anywhere in the bucket but not read its secrets: copying a
// secret into a readable key (CopyObject or UploadPartCopy) is refused.
func TestCopyNeedsReadOnTheSource(t *testing.T) {
	h := newHarness(t, Config{MinPartSize: 1})
	ctx := context.Background()
	writerPolicy, err := iam.ParsePolicy(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::vault/*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::vault/secret/*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	kr := h.srv.deps.Principals.(*Keyring)
	if err := kr.Set([]Principal{
		{Name: "admin", Credentials: sigv4.Credentials{AccessKeyID: adminID, SecretAccessKey: adminSecret}, Admin: true},
		{Name: "function/writer", Credentials: sigv4.Credentials{AccessKeyID: "ASIAWRITER", SecretAccessKey: "w", SessionToken: "t"}, Policies: []*iam.Policy{writerPolicy}},
	}); err != nil {
		t.Fatal(err)
	}
	admin, w := h.admin(true), h.client("ASIAWRITER", "w", "t", true)
	b := aws.String("vault")
	admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	admin.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("secret/key.pem"), Body: strings.NewReader("-----BEGIN")})
	admin.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("public.txt"), Body: strings.NewReader("hello")})
	if _, err := w.CopyObject(ctx, &s3.CopyObjectInput{Bucket: b, Key: aws.String("leak.pem"), CopySource: aws.String("vault/secret/key.pem")}); apiCode(err) != "AccessDenied" {
		t.Errorf("CopyObject of a secret: %v", err)
	}
	cr, err := w.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("leak2.pem")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("leak2.pem"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String("vault/secret/key.pem")}); apiCode(err) != "AccessDenied" {
		t.Errorf("UploadPartCopy of a secret: %v", err)
	}
	// Copying what it may read works.
	if _, err := w.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("leak2.pem"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String("vault/public.txt")}); err != nil {
		t.Errorf("UploadPartCopy of a readable object: %v", err)
	}
	// A source in a bucket that does not exist is refused before its
	// existence is told: AccessDenied, not NoSuchBucket.
	if _, err := w.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: b, Key: aws.String("leak2.pem"), UploadId: cr.UploadId, PartNumber: aws.Int32(2),
		CopySource: aws.String("other-bucket/x")}); apiCode(err) != "AccessDenied" {
		t.Errorf("UploadPartCopy from another bucket: %v", err)
	}
}
