package s3

import (
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// storedHeaders are the request headers kept with an object and returned
// on GET and HEAD.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// metaFromRequest collects content type, stored headers and x-amz-meta-*.
func metaFromRequest(h http.Header) *meta {
	m := &meta{ContentType: h.Get("Content-Type"), Headers: map[string]string{}, User: map[string]string{}}
	if m.ContentType == "" {
		m.ContentType = "binary/octet-stream"
	}
	for _, k := range storedHeaders {
		v := h.Get(k)
		if k == "Content-Encoding" {
			var keep []string
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
					keep = append(keep, e)
				}
			}
			v = strings.Join(keep, ",")
		}
		if v != "" {
			m.Headers[k] = v
		}
	}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && name != "" {
			m.User[name] = strings.Join(vs, ",")
		}
	}
	return m
}

// receive streams the request body into a staged file while hashing it;
// the checksums returned are those the request names plus alsoAlg (a
// multipart upload's algorithm), when set.
func (s *Server) receive(c *call, b *bucket, alsoAlg string) (*staged, *digests, map[string]string, error) {
	size := c.declaredSize()
	switch {
	case size == -2:
		return nil, nil, nil, errf(400, "InvalidArgument", "x-amz-decoded-content-length is not a number")
	case size < 0 && c.chunked == nil:
		return nil, nil, nil, errf(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	case size > s.cfg.MaxObjectSize:
		return nil, nil, nil, errf(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	}
	d, err := newDigests(c.r.Header, s.cfg.MaxObjectSize)
	if err != nil {
		return nil, nil, nil, err
	}
	d.add(alsoAlg)
	st, err := s.store.stage(b)
	if err != nil {
		return nil, nil, nil, errInternal(err)
	}
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(io.MultiWriter(d, st), c.body, buf); err != nil {
		st.abort()
		return nil, nil, nil, bodyError(err)
	}
	sums, err := d.verify(c)
	if err != nil {
		st.abort()
		return nil, nil, nil, err
	}
	return st, d, sums, nil
}

func (s *Server) putObject(c *call) error {
	if err := c.authorize("s3:PutObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	if c.r.Header.Get("If-None-Match") == "*" {
		if _, ok := b.lookup(c.key); ok {
			return errf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		}
	}
	m := metaFromRequest(c.r.Header)
	m.Key = c.key
	if m.Tags, err = tagsFromHeader(c.r.Header.Get("x-amz-tagging")); err != nil {
		return err
	}
	st, d, sums, err := s.receive(c, b, "")
	if err != nil {
		return err
	}
	m.Size, m.ETag, m.Checksums, m.LastModified = d.n, d.etag(), sums, s.deps.Now().UTC()
	if err := s.commit(b, st, m); err != nil {
		return err
	}
	if err := s.notify(c, eventPut, c.key, m); err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("ETag", m.ETag)
	for alg, v := range sums {
		h.Set("x-amz-checksum-"+alg, v)
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// commit finishes a staged object and renames it into place.
func (s *Server) commit(b *bucket, st *staged, m *meta) error {
	if err := st.finish(m); err != nil {
		st.abort()
		return errInternal(err)
	}
	if err := b.commitObject(st, m); err != nil {
		st.abort()
		return errInternal(err)
	}
	return nil
}

func (s *Server) getObject(c *call) error {
	if err := c.authorize("s3:GetObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	f, m, err := b.openObject(c.key)
	if errors.Is(err, fs.ErrNotExist) {
		return errNoSuchKey()
	}
	if err != nil {
		return errInternal(err)
	}
	defer f.Close()
	h := c.w.Header()
	h.Set("ETag", m.ETag)
	h.Set("Last-Modified", m.LastModified.UTC().Format(http.TimeFormat))
	if err := conditions(c.r, m); err != nil {
		return err
	}
	h.Set("Content-Type", m.ContentType)
	h.Set("Accept-Ranges", "bytes")
	for k, v := range m.Headers {
		h.Set(k, v)
	}
	for k, v := range m.User {
		h["X-Amz-Meta-"+k] = []string{v}
	}
	if m.Parts > 0 {
		h.Set("x-amz-mp-parts-count", strconv.Itoa(m.Parts))
	}
	setTaggingCount(h, m)
	for _, o := range [][2]string{{"response-content-type", "Content-Type"}, {"response-content-disposition", "Content-Disposition"},
		{"response-content-encoding", "Content-Encoding"}, {"response-content-language", "Content-Language"},
		{"response-cache-control", "Cache-Control"}, {"response-expires", "Expires"}} {
		if v := c.q(o[0]); v != "" {
			h.Set(o[1], v)
		}
	}
	off, n, partial, err := parseRange(c.r.Header.Get("Range"), m.Size)
	if c.has("partNumber") {
		off, n, partial, err = partRange(c.q("partNumber"), c.r.Header.Get("Range"), m)
	}
	if err != nil {
		return err
	}
	if !partial && strings.EqualFold(c.r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		for alg, v := range m.Checksums {
			h.Set("x-amz-checksum-"+alg, v)
		}
		if len(m.Checksums) > 0 {
			h.Set("x-amz-checksum-type", m.checksumType())
		}
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+strconv.FormatInt(m.Size, 10))
		status = http.StatusPartialContent
	}
	c.w.WriteHeader(status)
	if c.r.Method == http.MethodHead || n == 0 {
		return nil
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil // headers are out; the client sees a short body
	}
	io.Copy(c.w, io.LimitReader(f, n)) // an error here is the client going away
	return nil
}

// partRange is the byte range of GetObject/HeadObject ?partNumber=N: part N
// of a multipart object (206), or the whole of a single-part object for
// N = 1. Objects completed before part sizes were recorded answer 501.
func partRange(v, rangeHeader string, m *meta) (off, n int64, partial bool, err error) {
	pn, err := partNumber(v)
	if err != nil {
		return 0, 0, false, err
	}
	if rangeHeader != "" {
		return 0, 0, false, errf(400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
	}
	notSatisfiable := errf(416, "InvalidPartNumber", "The requested partnumber is not satisfiable")
	if m.Parts == 0 {
		if pn != 1 {
			return 0, 0, false, notSatisfiable
		}
		return 0, m.Size, false, nil
	}
	if len(m.PartSizes) != m.Parts {
		return 0, 0, false, errf(501, "NotImplemented", "This object was completed before Portico recorded part sizes; get it by Range instead of partNumber.")
	}
	if pn > m.Parts {
		return 0, 0, false, notSatisfiable
	}
	for _, sz := range m.PartSizes[:pn-1] {
		off += sz
	}
	return off, m.PartSizes[pn-1], true, nil
}

// conditions applies If-Match, If-Unmodified-Since (412), If-None-Match
// and If-Modified-Since (304) as S3 does: If-Match takes precedence over
// If-Unmodified-Since and If-None-Match over If-Modified-Since.
func conditions(r *http.Request, m *meta) error {
	mod := m.LastModified.Truncate(time.Second)
	failed := errf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	if im := r.Header.Get("If-Match"); im != "" {
		if !etagMatches(im, m.ETag) {
			return failed
		}
	} else if v := r.Header.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return failed
		}
	}
	notModified := &apiError{Status: http.StatusNotModified, Code: "NotModified", Message: "Not Modified"}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatches(inm, m.ETag) {
			return notModified
		}
	} else if v := r.Header.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			return notModified
		}
	}
	return nil
}

func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimPrefix(strings.TrimSpace(e), "W/")
		if e == "*" || strings.Trim(e, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// parseRange parses a single "bytes=" range; a header S3 would ignore
// (not bytes=, several ranges, unparsable) means the whole object.
func parseRange(v string, size int64) (off, n int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, size, false, nil
	}
	invalid := errf(416, "InvalidRange", "The requested range is not satisfiable")
	if first == "" {
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k < 0 {
			return 0, size, false, nil
		}
		if k == 0 || size == 0 {
			return 0, 0, false, invalid
		}
		k = min(k, size)
		return size - k, k, true, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, size, false, nil
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, size, false, nil
		}
	}
	if a >= size {
		return 0, 0, false, invalid
	}
	b = min(b, size-1)
	return a, b - a + 1, true, nil
}

func (s *Server) deleteObject(c *call) error {
	if err := c.authorize("s3:DeleteObject", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	_, existed := b.lookup(c.key)
	if err := b.deleteObject(c.key); err != nil {
		return errInternal(err)
	}
	if existed {
		if err := s.notify(c, eventDelete, c.key, nil); err != nil {
			return err
		}
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedObject `xml:"Deleted"`
	Errors  []deleteError   `xml:"Error"`
}
type deletedObject struct {
	Key string `xml:"Key"`
}
type deleteError struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (s *Server) deleteObjects(c *call) error {
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	body, err := s.readSmallBody(c, 2<<20)
	if err != nil {
		return err
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	var res deleteResult
	for _, o := range req.Objects {
		if err := c.authorize("s3:DeleteObject", objectARN(c.bucket, o.Key)); err != nil {
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: "AccessDenied", Message: "Access Denied"})
			continue
		}
		if o.Key == "" || len(o.Key) > 1024 {
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: "InvalidArgument", Message: "Invalid key"})
			continue
		}
		_, existed := b.lookup(o.Key)
		if err := b.deleteObject(o.Key); err != nil {
			res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: "InternalError", Message: err.Error()})
			continue
		}
		if existed {
			if err := s.notify(c, eventDelete, o.Key, nil); err != nil {
				res.Errors = append(res.Errors, deleteError{Key: o.Key, Code: "InternalError", Message: "We encountered an internal error. Please try again."})
				continue
			}
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedObject{Key: o.Key})
		}
	}
	return writeXML(c.w, http.StatusOK, res)
}

// readSmallBody reads a bounded XML request body and verifies its
// Content-MD5 and checksums.
func (s *Server) readSmallBody(c *call, limit int64) ([]byte, error) {
	d, err := newDigests(c.r.Header, limit)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.TeeReader(io.LimitReader(c.body, limit+1), d))
	if err != nil {
		return nil, bodyError(err)
	}
	if int64(len(data)) > limit {
		return nil, errf(400, "MalformedXML", "The request body is too large.")
	}
	if _, err := d.verify(c); err != nil {
		return nil, err
	}
	return data, nil
}

type copyResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

// copySource is the object named by x-amz-copy-source, opened, after the
// caller was authorized to read it and the copy-source conditions held.
type copySource struct {
	bucket, key string
	f           *os.File
	m           *meta
}

// openCopySource parses x-amz-copy-source (URL-encoded bucket/key, a
// leading slash and a ?versionId suffix allowed), authorizes s3:GetObject on
// it, opens it and applies x-amz-copy-source-if-match, -if-none-match,
// -if-unmodified-since and -if-modified-since (412 when one fails, with
// S3's precedence: if-match over if-unmodified-since, if-none-match over
// if-modified-since). The caller closes f.
func (s *Server) openCopySource(c *call) (*copySource, error) {
	src := c.r.Header.Get("x-amz-copy-source")
	if i := strings.Index(src, "?"); i >= 0 {
		q, _ := url.ParseQuery(src[i+1:])
		if v, ok := q["versionId"]; ok && (len(v) != 1 || v[0] != "null") {
			return nil, errf(404, "NoSuchVersion", "The specified version does not exist.")
		}
		src = src[:i]
	}
	dec, err := url.PathUnescape(strings.TrimPrefix(src, "/"))
	if err != nil {
		return nil, errf(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	sb, sk, ok := strings.Cut(dec, "/")
	if !ok || sk == "" {
		return nil, errf(400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if err := validBucketName(sb); err != nil {
		return nil, err
	}
	if err := c.authorize("s3:GetObject", objectARN(sb, sk)); err != nil {
		return nil, err
	}
	srcB, ok := s.store.bucket(sb)
	if !ok {
		return nil, errNoSuchBucket(sb)
	}
	f, sm, err := srcB.openObject(sk)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSuchKey()
	}
	if err != nil {
		return nil, errInternal(err)
	}
	if err := copyConditions(c.r.Header, sm); err != nil {
		f.Close()
		return nil, err
	}
	return &copySource{bucket: sb, key: sk, f: f, m: sm}, nil
}

// copyConditions applies the x-amz-copy-source-if-* headers.
func copyConditions(h http.Header, m *meta) error {
	failed := errf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	mod := m.LastModified.Truncate(time.Second)
	if im := h.Get("x-amz-copy-source-if-match"); im != "" {
		if !etagMatches(im, m.ETag) {
			return failed
		}
	} else if v := h.Get("x-amz-copy-source-if-unmodified-since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && mod.After(t) {
			return failed
		}
	}
	if inm := h.Get("x-amz-copy-source-if-none-match"); inm != "" {
		if etagMatches(inm, m.ETag) {
			return failed
		}
	} else if v := h.Get("x-amz-copy-source-if-modified-since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !mod.After(t) {
			return failed
		}
	}
	return nil
}

func (s *Server) copyObject(c *call) error {
	if err := c.authorize("s3:PutObject", c.objectARN()); err != nil {
		return err
	}
	dst, err := c.getBucket()
	if err != nil {
		return err
	}
	cs, err := s.openCopySource(c)
	if err != nil {
		return err
	}
	defer cs.f.Close()
	sb, sk, sm, f := cs.bucket, cs.key, cs.m, cs.f
	replace := strings.EqualFold(c.r.Header.Get("x-amz-metadata-directive"), "REPLACE")
	if sb == c.bucket && sk == c.key && !replace {
		return errf(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	m := &meta{ContentType: sm.ContentType, Headers: sm.Headers, User: sm.User, Checksums: sm.Checksums, Tags: sm.Tags}
	if replace {
		m = metaFromRequest(c.r.Header)
		m.Checksums = sm.Checksums
		m.Tags = sm.Tags
	}
	if strings.EqualFold(c.r.Header.Get("x-amz-tagging-directive"), "REPLACE") {
		if m.Tags, err = tagsFromHeader(c.r.Header.Get("x-amz-tagging")); err != nil {
			return err
		}
	}
	m.Key = c.key
	st, err := s.store.stage(dst)
	if err != nil {
		return errInternal(err)
	}
	d, _ := newDigests(http.Header{}, s.cfg.MaxObjectSize)
	if sm.ChecksumType == checksumComposite {
		// The copy is a single-part object: its checksum is the whole
		// object's, as S3 computes it.
		for alg := range sm.Checksums {
			d.add(alg)
		}
	}
	if _, err := io.Copy(io.MultiWriter(d, st), io.LimitReader(f, sm.Size)); err != nil {
		st.abort()
		return errInternal(err)
	}
	m.Size, m.ETag, m.LastModified = d.n, d.etag(), s.deps.Now().UTC()
	if sm.ChecksumType == checksumComposite {
		m.Checksums = d.sums()
	}
	if err := s.commit(dst, st, m); err != nil {
		return err
	}
	if err := s.notify(c, eventCopy, c.key, m); err != nil {
		return err
	}
	return writeXML(c.w, http.StatusOK, copyResult{LastModified: m.LastModified.Format(time.RFC3339Nano), ETag: m.ETag})
}

func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return errInternal(err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(body)
	return nil
}
