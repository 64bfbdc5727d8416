package s3

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Bucket is a bucket the spec declares.
type Bucket struct {
	Name string
	// Contents, when set, is a directory whose regular files are uploaded
	// at start, keyed by their slash-separated paths relative to it, unless
	// an object of that key exists (so changes made through the API
	// survive restarts).
	Contents string
}

// EnsureBuckets creates the buckets that do not exist and uploads their
// contents directories. Existing buckets and objects are left as they are.
// It returns every failure, joined.
func (s *Server) EnsureBuckets(ctx context.Context, buckets []Bucket) error {
	var errs []error
	for _, bk := range buckets {
		if err := validBucketName(bk.Name); err != nil {
			errs = append(errs, fmt.Errorf("bucket %s: %w", bk.Name, err))
			continue
		}
		if _, ok := s.store.bucket(bk.Name); !ok {
			if err := s.store.createBucket(bk.Name, s.deps.Now()); err != nil && !errors.Is(err, errBucketExists) {
				errs = append(errs, fmt.Errorf("bucket %s: %w", bk.Name, err))
				continue
			}
		}
		if bk.Contents != "" {
			if err := s.uploadDir(ctx, bk.Name, bk.Contents); err != nil {
				errs = append(errs, fmt.Errorf("bucket %s: contents %s: %w", bk.Name, bk.Contents, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Server) uploadDir(ctx context.Context, name, dir string) error {
	b, _ := s.store.bucket(name)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if _, ok := b.lookup(key); ok {
			return nil
		}
		if len(key) > 1024 {
			return fmt.Errorf("%s: key longer than 1024 bytes", key)
		}
		return s.putFile(b, key, p)
	})
}

// putFile stores the file at p as object key.
func (s *Server) putFile(b *bucket, key, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := s.store.stage(b)
	if err != nil {
		return err
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(h, st), f)
	if err != nil {
		st.abort()
		return fmt.Errorf("%s: %w", key, err)
	}
	ct := mime.TypeByExtension(path.Ext(key))
	if ct == "" {
		ct = "binary/octet-stream"
	}
	m := &meta{Key: key, Size: n, ETag: `"` + hex.EncodeToString(h.Sum(nil)) + `"`, ContentType: ct, LastModified: s.deps.Now().UTC()}
	if err := s.commit(b, st, m); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// ExternalFunctionEnv is the environment a function needs to use an
// external S3-compatible service (spec storage.endpoint) instead of
// Portico's store: AWS_ENDPOINT_URL_S3, which the AWS SDKs prefer over
// AWS_ENDPOINT_URL for S3 only. The credentials (storage.accessKeyId and
// secretAccessKey) go through the runner's credentials hook.
func ExternalFunctionEnv(endpoint string) map[string]string {
	return map[string]string{"AWS_ENDPOINT_URL_S3": strings.TrimRight(endpoint, "/")}
}
