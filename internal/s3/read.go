package s3

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// Errors of ReadObject, in S3's words.
var (
	ErrNoSuchBucket = errors.New("NoSuchBucket: The specified bucket does not exist")
	ErrNoSuchKey    = errors.New("NoSuchKey: The specified key does not exist")
)

// ReadObject returns the content of an object of the store, for trusted
// callers in this process (the Lambda API reading a code package named by
// S3Bucket and S3Key; its caller was authorised as the admin). An object
// larger than limit bytes is an error.
func (s *Server) ReadObject(bucket, key string, limit int64) ([]byte, error) {
	b, ok := s.store.bucket(bucket)
	if !ok {
		return nil, ErrNoSuchBucket
	}
	f, m, err := b.openObject(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoSuchKey
	}
	if err != nil {
		return nil, fmt.Errorf("s3 %s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	if m.Size > limit {
		return nil, fmt.Errorf("s3 %s/%s: %d bytes exceeds %d", bucket, key, m.Size, limit)
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
