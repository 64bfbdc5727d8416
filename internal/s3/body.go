package s3

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/sigv4"
)

// checksumAlgorithms are the x-amz-checksum-* algorithms verified and
// stored, by lower-case name.
var checksumAlgorithms = map[string]func() hash.Hash{
	"crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"crc64nvme": func() hash.Hash { return crc64.New(crc64NVME) },
	"sha1":      sha1.New,
	"sha256":    sha256.New,
}

// crc64NVME is CRC-64/NVME (reflected polynomial), the S3 default for
// some newer SDKs.
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var (
	errPayloadHash = errors.New("payload does not match x-amz-content-sha256")
	errTooLarge    = errors.New("body exceeds the maximum object size")
)

// requestBody returns the request body as the object's bytes: aws-chunked
// bodies decoded with their chunk signatures checked, signed payloads
// checked against x-amz-content-sha256 at EOF.
func (s *Server) requestBody(c *call) (io.Reader, error) {
	r := c.r
	if r.Body == nil || r.Body == http.NoBody {
		return strings.NewReader(""), nil
	}
	switch ph := c.id.PayloadHash; ph {
	case sigv4.StreamingPayload, sigv4.StreamingPayloadTrailer, sigv4.StreamingUnsignedTrailer:
		c.chunked = newChunkedReader(r.Body, c.id, ph != sigv4.StreamingUnsignedTrailer, ph != sigv4.StreamingPayload)
		return c.chunked, nil
	case sigv4.UnsignedPayload:
		if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
			c.chunked = newChunkedReader(r.Body, c.id, false, true)
			return c.chunked, nil
		}
		return r.Body, nil
	default:
		if c.id.PayloadVerified {
			return r.Body, nil
		}
		return &hashCheckReader{r: r.Body, h: sha256.New(), want: ph}, nil
	}
}

// hashCheckReader fails the read at EOF when the SHA-256 differs.
type hashCheckReader struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func (h *hashCheckReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(h.h.Sum(nil)) != h.want {
		return n, errPayloadHash
	}
	return n, err
}

// declaredSize is the object size the request announces, -1 if none.
func (c *call) declaredSize() int64 {
	if v := c.r.Header.Get("x-amz-decoded-content-length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return -2
		}
		return n
	}
	if c.chunked != nil {
		return -1
	}
	return c.r.ContentLength
}

// digests hashes an upload as it streams to disk.
type digests struct {
	md5   hash.Hash
	algs  map[string]hash.Hash
	n     int64
	limit int64
}

func newDigests(h http.Header, limit int64) (*digests, error) {
	d := &digests{md5: md5.New(), algs: map[string]hash.Hash{}, limit: limit}
	add := func(alg string) error {
		alg = strings.ToLower(strings.TrimSpace(alg))
		alg = strings.TrimPrefix(alg, "x-amz-checksum-")
		f, ok := checksumAlgorithms[alg]
		if !ok {
			return errf(400, "InvalidRequest", "Checksum algorithm %q is not supported (crc32, crc32c, crc64nvme, sha1, sha256).", alg)
		}
		if _, dup := d.algs[alg]; !dup {
			d.algs[alg] = f()
		}
		return nil
	}
	for name := range h {
		if alg, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-checksum-"); ok && alg != "type" && alg != "algorithm" {
			if err := add(alg); err != nil {
				return nil, err
			}
		}
	}
	if v := h.Get("x-amz-sdk-checksum-algorithm"); v != "" {
		if err := add(v); err != nil {
			return nil, err
		}
	}
	for _, t := range strings.Split(h.Get("x-amz-trailer"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			if err := add(t); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// add hashes with algorithm alg too (a known lower-case name; "" is a
// no-op).
func (d *digests) add(alg string) {
	if f, ok := checksumAlgorithms[alg]; ok && d.algs[alg] == nil {
		d.algs[alg] = f()
	}
}

func (d *digests) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	if d.n > d.limit {
		return 0, errTooLarge
	}
	d.md5.Write(p)
	for _, h := range d.algs {
		h.Write(p)
	}
	return len(p), nil
}

// sums returns the checksums computed (base64, by algorithm).
func (d *digests) sums() map[string]string {
	out := make(map[string]string, len(d.algs))
	for alg, h := range d.algs {
		out[alg] = base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	return out
}

func (d *digests) etag() string { return `"` + hex.EncodeToString(d.md5.Sum(nil)) + `"` }

// verify checks Content-MD5, x-amz-checksum-* (headers or trailers) and
// the declared length against what was received; it returns the checksums
// (base64, by algorithm) to store.
func (d *digests) verify(c *call) (map[string]string, error) {
	if want := c.r.Header.Values("Content-MD5"); len(want) > 0 {
		raw, err := base64.StdEncoding.DecodeString(want[0])
		if err != nil || len(raw) != md5.Size || len(want) > 1 {
			return nil, errf(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if string(raw) != string(d.md5.Sum(nil)) {
			return nil, errf(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	if ds := c.declaredSize(); ds >= 0 && ds != d.n {
		return nil, errf(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	out := map[string]string{}
	for alg, h := range d.algs {
		got := base64.StdEncoding.EncodeToString(h.Sum(nil))
		want := c.r.Header.Get("x-amz-checksum-" + alg)
		if want == "" && c.chunked != nil {
			want = c.chunked.trailers["x-amz-checksum-"+alg]
		}
		if want != "" && want != got {
			return nil, errf(400, "BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(alg))
		}
		out[alg] = got
	}
	return out, nil
}

// bodyError maps a failure while reading the request body to S3's error.
func bodyError(err error) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, errTooLarge):
		return errf(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	case errors.Is(err, errSignature):
		return &apiError{Status: 403, Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided (aws-chunked chunk or trailer).", cause: err}
	case errors.Is(err, errChunkFormat):
		return &apiError{Status: 400, Code: "IncompleteBody", Message: "The aws-chunked request body is malformed.", cause: err}
	case errors.Is(err, errPayloadHash):
		return errf(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{Status: 400, Code: "IncompleteBody", Message: "You did not provide the number of bytes specified by the Content-Length HTTP header.", cause: err}
	case errors.Is(err, errNoSpace):
		return errInternal(err)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errf(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	}
	return &apiError{Status: 400, Code: "IncompleteBody", Message: "The request body could not be read.", cause: err}
}

// crcBytes is a helper for tests and multipart: big-endian bytes of a
// 32-bit CRC.
func crcBytes(v uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b[:]
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
