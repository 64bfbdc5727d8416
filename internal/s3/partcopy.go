package s3

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	checksumElements
}

// uploadPartCopy serves UploadPartCopy: part partNumber of the upload is
// the bytes of x-amz-copy-source, or of its x-amz-copy-source-range
// ("bytes=first-last", inclusive, within the object). The copy is read from
// one opened version of the source, hashed and checked for length before
// the part is renamed into place, so a part never holds fewer bytes than
// the range named (an empty part only comes from an empty source).
func (s *Server) uploadPartCopy(c *call) error {
	if err := c.authorize("s3:PutObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	n, err := partNumber(c.q("partNumber"))
	if err != nil {
		return err
	}
	id, u, err := c.openUpload(b)
	if err != nil {
		return err
	}
	cs, err := s.openCopySource(c)
	if err != nil {
		return err
	}
	defer cs.f.Close()
	off, size, err := copySourceRange(c.r.Header.Get("x-amz-copy-source-range"), cs.m.Size)
	if err != nil {
		return err
	}
	if size > s.cfg.MaxObjectSize {
		return errf(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	}
	d, _ := newDigests(http.Header{}, s.cfg.MaxObjectSize)
	d.add(u.ChecksumAlgorithm)
	st, err := s.store.stage(b)
	if err != nil {
		return errInternal(err)
	}
	if _, err := cs.f.Seek(off, io.SeekStart); err != nil {
		st.abort()
		return errInternal(fmt.Errorf("copy part: seek source: %w", err))
	}
	got, err := io.Copy(io.MultiWriter(d, st), io.LimitReader(cs.f, size))
	if err != nil {
		st.abort()
		return errInternal(fmt.Errorf("copy part: %w", err))
	}
	if got != size {
		st.abort()
		return errInternal(fmt.Errorf("copy part: read %d bytes of the %d-byte source range", got, size))
	}
	sums := d.sums()
	m := &meta{Size: d.n, ETag: d.etag(), LastModified: s.deps.Now().UTC(), Checksums: sums}
	if err := s.commitPart(b, id, n, st, m); err != nil {
		return err
	}
	res := copyPartResult{LastModified: m.LastModified.Format(time.RFC3339Nano), ETag: m.ETag}
	if u.ChecksumAlgorithm != "" {
		res.checksumElements = newChecksumElements(map[string]string{u.ChecksumAlgorithm: sums[u.ChecksumAlgorithm]})
	}
	return writeXML(c.w, http.StatusOK, res)
}

// copySourceRange parses x-amz-copy-source-range: "bytes=first-last", both
// given, first <= last < size. Without the header the whole object is
// copied. Anything else is 400 InvalidArgument (S3 does not clamp it).
func copySourceRange(v string, size int64) (off, n int64, err error) {
	if v == "" {
		return 0, size, nil
	}
	invalid := errf(400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok {
		return 0, 0, invalid
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, invalid
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, invalid
	}
	if last >= size {
		return 0, 0, errf(400, "InvalidRange", "Range specified is not valid for source object of size: %d", size)
	}
	return first, last - first + 1, nil
}
