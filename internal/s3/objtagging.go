package s3

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
)

// Object tags are part of the object's metadata: set with x-amz-tagging on
// PutObject, CreateMultipartUpload and CopyObject (x-amz-tagging-directive
// REPLACE), and with PutObjectTagging, which rewrites the object file with
// the new metadata (data copied, fsynced, renamed: the same crash safety as
// a PUT), refused with 409 OperationAborted when the object is replaced
// meanwhile. GetObject and HeadObject return
// x-amz-tagging-count.

func (s *Server) getObjectTagging(c *call) error {
	if err := c.authorize("s3:GetObjectTagging", c.objectARN()); err != nil {
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
	f.Close()
	return writeXML(c.w, http.StatusOK, tagging{Xmlns: s3NS, Tags: m.Tags})
}

func (s *Server) putObjectTagging(c *call) error {
	if err := c.authorize("s3:PutObjectTagging", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	body, err := s.readSmallBody(c, 64<<10)
	if err != nil {
		return err
	}
	tags, err := parseTagging(body, 10)
	if err != nil {
		return err
	}
	sortTags(tags)
	return s.setObjectTags(c, b, tags)
}

func (s *Server) deleteObjectTagging(c *call) error {
	if err := c.authorize("s3:DeleteObjectTagging", c.objectARN()); err != nil {
		return err
	}
	b, err := c.getBucket()
	if err != nil {
		return err
	}
	return s.setObjectTags(c, b, nil)
}

// setObjectTags rewrites the object with tags, keeping its data and every
// other piece of metadata (ETag and Last-Modified included, as S3 does).
func (s *Server) setObjectTags(c *call, b *bucket, tags []tag) error {
	f, m, err := b.openObject(c.key)
	if errors.Is(err, fs.ErrNotExist) {
		return errNoSuchKey()
	}
	if err != nil {
		return errInternal(err)
	}
	defer f.Close()
	read := entry{size: m.Size, etag: m.ETag, modified: m.LastModified}
	st, err := s.store.stage(b)
	if err != nil {
		return errInternal(err)
	}
	if n, err := io.Copy(st, io.LimitReader(f, m.Size)); err != nil || n != m.Size {
		st.abort()
		return errInternal(fmt.Errorf("rewrite object for tags: copied %d of %d bytes: %v", n, m.Size, err))
	}
	m.Tags = tags
	if err := st.finish(m); err != nil {
		st.abort()
		return errInternal(err)
	}
	if err := b.commitObjectIf(st, m, &read); err != nil {
		st.abort()
		if errors.Is(err, errChanged) {
			return errf(409, "OperationAborted", "A conflicting conditional operation is currently in progress against this resource. Please try again.")
		}
		return errInternal(err)
	}
	if c.r.Method == http.MethodDelete {
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// setTaggingCount sets x-amz-tagging-count on a GET or HEAD of m.
func setTaggingCount(h http.Header, m *meta) {
	if len(m.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(m.Tags)))
	}
}
