package s3

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Multipart checksums follow S3's rules:
//
//   - CreateMultipartUpload may name an algorithm (x-amz-checksum-algorithm:
//     CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and a type
//     (x-amz-checksum-type: COMPOSITE or FULL_OBJECT). The type defaults to
//     FULL_OBJECT for CRC64NVME and COMPOSITE for the others; CRC64NVME is
//     full-object only and SHA1/SHA256 composite only (400 InvalidRequest
//     otherwise); a type without an algorithm is refused.
//   - Every part gets a checksum of the upload's algorithm (verified when
//     the part carries one, computed when it does not); a part carrying a
//     checksum of another algorithm is refused.
//   - CompleteMultipartUpload of an upload with an algorithm must list
//     every part's checksum (400 InvalidRequest otherwise), and they must
//     be the stored ones (InvalidPart). A COMPOSITE object's checksum is the
//     algorithm applied to the concatenated binary part checksums, base64,
//     followed by "-N" (N parts); a FULL_OBJECT checksum is the checksum of
//     the whole object's bytes. A checksum sent with the completion is
//     compared with the result (BadDigest).
//   - An upload created without an algorithm gets a CRC64NVME FULL_OBJECT
//     checksum, as S3 adds to objects uploaded without one.
//
// GetObject and HeadObject return the checksum and x-amz-checksum-type
// with x-amz-checksum-mode: ENABLED.

const (
	checksumComposite  = "COMPOSITE"
	checksumFullObject = "FULL_OBJECT"
)

// uploadChecksum parses the checksum algorithm and type of a
// CreateMultipartUpload; alg is lower-case ("" when none).
func uploadChecksum(h http.Header) (alg, typ string, err error) {
	alg = strings.ToLower(strings.TrimSpace(h.Get("x-amz-checksum-algorithm")))
	typ = strings.ToUpper(strings.TrimSpace(h.Get("x-amz-checksum-type")))
	if alg == "" {
		if typ != "" {
			return "", "", errf(400, "InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		return "", "", nil
	}
	if _, ok := checksumAlgorithms[alg]; !ok {
		return "", "", errf(400, "InvalidRequest", "Checksum algorithm %q is not supported (CRC32, CRC32C, CRC64NVME, SHA1, SHA256).", alg)
	}
	switch typ {
	case "":
		typ = checksumComposite
		if alg == "crc64nvme" {
			typ = checksumFullObject
		}
	case checksumComposite:
		if alg == "crc64nvme" {
			return "", "", errf(400, "InvalidRequest", "The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.")
		}
	case checksumFullObject:
		if alg == "sha1" || alg == "sha256" {
			return "", "", errf(400, "InvalidRequest", "The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm.", strings.ToUpper(alg))
		}
	default:
		return "", "", errf(400, "InvalidRequest", "Value for x-amz-checksum-type header is invalid: %q (COMPOSITE or FULL_OBJECT).", typ)
	}
	return alg, typ, nil
}

// checkPartAlgorithm refuses a part that carries a checksum of another
// algorithm than its upload's.
func checkPartAlgorithm(h http.Header, uploadAlg string) error {
	if uploadAlg == "" {
		return nil
	}
	for name := range h {
		alg, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-checksum-")
		if !ok || alg == "type" || alg == "algorithm" || alg == "mode" {
			continue
		}
		if alg != uploadAlg {
			return errf(400, "InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", uploadAlg, alg)
		}
	}
	for _, v := range []string{h.Get("x-amz-sdk-checksum-algorithm"), strings.TrimPrefix(strings.ToLower(h.Get("x-amz-trailer")), "x-amz-checksum-")} {
		if v = strings.ToLower(strings.TrimSpace(v)); v != "" && v != uploadAlg {
			return errf(400, "InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", uploadAlg, v)
		}
	}
	return nil
}

// compositeChecksum combines the base64 part checksums into S3's composite
// form: base64(alg(raw1 || raw2 || ...)) + "-N".
func compositeChecksum(alg string, parts []string) (string, error) {
	h := checksumAlgorithms[alg]()
	for i, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return "", fmt.Errorf("part %d checksum %q: %w", i+1, p, err)
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), nil
}

// checksumElements are the Checksum* XML elements of S3's responses.
type checksumElements struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

func newChecksumElements(sums map[string]string) checksumElements {
	return checksumElements{ChecksumCRC32: sums["crc32"], ChecksumCRC32C: sums["crc32c"],
		ChecksumCRC64NVME: sums["crc64nvme"], ChecksumSHA1: sums["sha1"], ChecksumSHA256: sums["sha256"]}
}

// get returns the element of algorithm alg.
func (e checksumElements) get(alg string) string {
	switch alg {
	case "crc32":
		return e.ChecksumCRC32
	case "crc32c":
		return e.ChecksumCRC32C
	case "crc64nvme":
		return e.ChecksumCRC64NVME
	case "sha1":
		return e.ChecksumSHA1
	case "sha256":
		return e.ChecksumSHA256
	}
	return ""
}

// checksumType is the x-amz-checksum-type of an object with checksums.
func (m *meta) checksumType() string {
	if m.ChecksumType != "" {
		return m.ChecksumType
	}
	return checksumFullObject
}
