package s3

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/atomicfile"
)

// On-disk layout, under Config.DataDir:
//
//	s3/<bucket>/bucket.json              creation date, written before the bucket directory is renamed into place
//	s3/<bucket>/objects/<h2>/<h62>       one file per object: data, then metadata JSON, then trailer
//	s3/<bucket>/uploads/<id>/upload.json multipart upload metadata
//	s3/<bucket>/uploads/<id>/<n>         one file per part, same format as an object
//	s3/<bucket>/config/<name>.xml        bucket configurations (cors, tagging); see bucketconfig.go
//	s3/<bucket>/tmp/                     staging; emptied at start
//
// <h2><h62> is the hex SHA-256 of the object key, so any key (.., //,
// unicode, 1024 bytes) maps to a fixed-length name inside the bucket
// directory and nothing a client sends becomes a path. The key itself is in
// the file's metadata. An object's data and metadata are one file, staged in
// tmp/, fsynced, renamed over the old one and the directory fsynced: a crash
// leaves the old object (data and metadata) or the new one, never a mix.

const trailerMagic = "PORTICO1"

// meta is what an object file stores after its data.
type meta struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"` // quoted
	LastModified time.Time         `json:"lastModified"`
	ContentType  string            `json:"contentType,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"` // Content-Encoding, Cache-Control, ...
	User         map[string]string `json:"user,omitempty"`    // x-amz-meta-* without the prefix, lower-case names
	Checksums    map[string]string `json:"checksums,omitempty"`
	// ChecksumType is COMPOSITE for a multipart object whose checksum is a
	// checksum of its parts' checksums ("…-N"); "" means FULL_OBJECT.
	ChecksumType string `json:"checksumType,omitempty"`
	Parts        int    `json:"parts,omitempty"`
	// PartSizes are a multipart object's part sizes, in order (GET
	// ?partNumber).
	PartSizes []int64 `json:"partSizes,omitempty"`
	Tags      []tag   `json:"tags,omitempty"`
}

// entry is the in-memory index record of one object.
type entry struct {
	size     int64
	etag     string
	modified time.Time
}

type bucket struct {
	name    string
	dir     string
	created time.Time
	cors    atomic.Pointer[corsConfig] // nil: no CORS configuration

	mu   sync.RWMutex
	objs map[string]entry
	keys []string // sorted
}

// tempFile is the staging file a write goes to; a seam for tests that
// simulate a full disk.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

type store struct {
	root       string
	createTemp func(dir string) (tempFile, error)

	mu      sync.RWMutex
	buckets map[string]*bucket
}

// errNoSpace marks a write that failed because the disk is full.
var errNoSpace = errors.New("no space left on device")

func defaultCreateTemp(dir string) (tempFile, error) { return os.CreateTemp(dir, "w-*") }

func openStore(root string) (*store, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("s3 store: create %s: %w", root, err)
	}
	s := &store{root: root, createTemp: defaultCreateTemp, buckets: map[string]*bucket{}}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("s3 store: read %s: %w", root, err)
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			// half-created or half-deleted buckets from a crash
			os.RemoveAll(filepath.Join(root, name))
			continue
		}
		if !e.IsDir() || validBucketName(name) != nil {
			continue
		}
		b, err := loadBucket(filepath.Join(root, name), name)
		if err != nil {
			return nil, err
		}
		s.buckets[name] = b
	}
	return s, nil
}

func loadBucket(dir, name string) (*bucket, error) {
	b := &bucket{name: name, dir: dir, objs: map[string]entry{}}
	var info struct {
		Created time.Time `json:"created"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "bucket.json"))
	if err == nil {
		err = json.Unmarshal(data, &info)
	}
	if err != nil {
		return nil, fmt.Errorf("s3 store: bucket %s: %w", name, err)
	}
	b.created = info.Created
	os.RemoveAll(filepath.Join(dir, "tmp"))
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("s3 store: bucket %s: %w", name, err)
	}
	err = filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		m, err := readMetaFile(p)
		if err != nil {
			return fmt.Errorf("object file %s: %w", p, err)
		}
		b.objs[m.Key] = entry{size: m.Size, etag: m.ETag, modified: m.LastModified}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: bucket %s: %w", name, err)
	}
	b.keys = make([]string, 0, len(b.objs))
	for k := range b.objs {
		b.keys = append(b.keys, k)
	}
	sort.Strings(b.keys)
	if err := b.loadConfigs(); err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	return b, nil
}

func (s *store) bucket(name string) (*bucket, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[name]
	return b, ok
}

func (s *store) list() []*bucket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*bucket, 0, len(s.buckets))
	for _, b := range s.buckets {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// createBucket makes the bucket directory complete under a hidden name and
// renames it into place. It returns errBucketExists when the bucket exists.
func (s *store) createBucket(name string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return errBucketExists
	}
	stage, err := os.MkdirTemp(s.root, ".new-")
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	defer os.RemoveAll(stage)
	for _, d := range []string{"objects", "uploads", "tmp"} {
		if err := os.Mkdir(filepath.Join(stage, d), 0o755); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	info, _ := json.Marshal(map[string]time.Time{"created": now.UTC()})
	if err := writeFileSync(filepath.Join(stage, "bucket.json"), info); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	dir := filepath.Join(s.root, name)
	if err := os.Rename(stage, dir); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	if err := syncDir(s.root); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	s.buckets[name] = &bucket{name: name, dir: dir, created: now.UTC(), objs: map[string]entry{}}
	return nil
}

var (
	errBucketExists   = errors.New("bucket exists")
	errBucketNotEmpty = errors.New("bucket not empty")
)

func (s *store) deleteBucket(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		return errNoBucket
	}
	b.mu.RLock()
	n := len(b.keys)
	b.mu.RUnlock()
	ups, _ := os.ReadDir(filepath.Join(b.dir, "uploads"))
	if n > 0 || len(ups) > 0 {
		return errBucketNotEmpty
	}
	trash := filepath.Join(s.root, fmt.Sprintf(".del-%s-%d", name, time.Now().UnixNano()))
	if err := os.Rename(b.dir, trash); err != nil {
		return fmt.Errorf("delete bucket %s: %w", name, err)
	}
	delete(s.buckets, name)
	syncDir(s.root)
	os.RemoveAll(trash)
	return nil
}

var errNoBucket = errors.New("no such bucket")

// objectPath is where the object with the given key lives.
func (b *bucket) objectPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(b.dir, "objects", h[:2], h[2:])
}

// staged is a temp file being written; commit renames it into place.
type staged struct {
	f    tempFile
	n    int64
	done bool
}

func (s *store) stage(b *bucket) (*staged, error) {
	f, err := s.createTemp(filepath.Join(b.dir, "tmp"))
	if err != nil {
		return nil, diskErr("create staging file", err)
	}
	return &staged{f: f}, nil
}

func (st *staged) Write(p []byte) (int, error) {
	n, err := st.f.Write(p)
	st.n += int64(n)
	if err != nil {
		return n, diskErr("write staging file", err)
	}
	return n, nil
}

// finish appends the metadata and trailer, fsyncs and closes the file.
func (st *staged) finish(m *meta) error {
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var tr [16]byte
	binary.LittleEndian.PutUint64(tr[:8], uint64(len(js)))
	copy(tr[8:], trailerMagic)
	if _, err := st.Write(append(js, tr[:]...)); err != nil {
		return err
	}
	if err := st.f.Sync(); err != nil {
		return diskErr("fsync staging file", err)
	}
	if err := st.f.Close(); err != nil {
		return diskErr("close staging file", err)
	}
	st.done = true
	return nil
}

// abort removes the staged file; safe after commit (no-op).
func (st *staged) abort() {
	if !st.done {
		st.f.Close()
	}
	os.Remove(st.f.Name())
}

// commitObject renames a finished staged file over the object's path and
// updates the index under the bucket lock, so concurrent writers to one key
// end with the last rename both on disk and in the index.
func (b *bucket) commitObject(st *staged, m *meta) error {
	return b.commitObjectIf(st, m, nil)
}

// errChanged is returned by commitObjectIf when the object was replaced or
// deleted since it was read.
var errChanged = errors.New("object changed meanwhile")

// commitObjectIf is commitObject, done only when the object's index entry
// is still expect (when expect is not nil); else errChanged and nothing is
// renamed.
func (b *bucket) commitObjectIf(st *staged, m *meta, expect *entry) error {
	dst := b.objectPath(m.Key)
	dir := filepath.Dir(dst)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return diskErr("create object directory", err)
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return diskErr("fsync objects directory", err)
		}
	}
	b.mu.Lock()
	if expect != nil {
		if cur, ok := b.objs[m.Key]; !ok || cur != *expect {
			b.mu.Unlock()
			return errChanged
		}
	}
	err := os.Rename(st.f.Name(), dst)
	if err == nil {
		b.put(m.Key, entry{size: m.Size, etag: m.ETag, modified: m.LastModified})
	}
	b.mu.Unlock()
	if err != nil {
		return diskErr("rename object into place", err)
	}
	if err := syncDir(dir); err != nil {
		return diskErr("fsync object directory", err)
	}
	return nil
}

// put records key in the index; b.mu must be held.
func (b *bucket) put(key string, e entry) {
	if _, ok := b.objs[key]; !ok {
		i, _ := slices.BinarySearch(b.keys, key)
		b.keys = slices.Insert(b.keys, i, key)
	}
	b.objs[key] = e
}

func (b *bucket) deleteObject(key string) error {
	dst := b.objectPath(key)
	b.mu.Lock()
	err := os.Remove(dst)
	if _, ok := b.objs[key]; ok {
		delete(b.objs, key)
		if i, found := slices.BinarySearch(b.keys, key); found {
			b.keys = slices.Delete(b.keys, i, i+1)
		}
	}
	b.mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete object: %w", err)
	}
	if err == nil {
		syncDir(filepath.Dir(dst))
	}
	return nil
}

func (b *bucket) lookup(key string) (entry, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.objs[key]
	return e, ok
}

// openObject opens the object file and reads its metadata; the returned
// file holds exactly the data and metadata of one version even if another
// write replaces the object meanwhile.
func (b *bucket) openObject(key string) (*os.File, *meta, error) {
	return openDataFile(b.objectPath(key))
}

func openDataFile(p string) (*os.File, *meta, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	m, err := readMeta(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("object file %s: %w", filepath.Base(p), err)
	}
	return f, m, nil
}

func readMetaFile(p string) (*meta, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readMeta(f)
}

func readMeta(f *os.File) (*meta, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < 16 {
		return nil, errors.New("too short for a trailer")
	}
	var tr [16]byte
	if _, err := f.ReadAt(tr[:], fi.Size()-16); err != nil {
		return nil, err
	}
	if string(tr[8:]) != trailerMagic {
		return nil, errors.New("bad trailer")
	}
	n := int64(binary.LittleEndian.Uint64(tr[:8]))
	if n > fi.Size()-16 {
		return nil, errors.New("bad metadata length")
	}
	js := make([]byte, n)
	if _, err := f.ReadAt(js, fi.Size()-16-n); err != nil {
		return nil, err
	}
	m := &meta{}
	if err := json.NewDecoder(bytes.NewReader(js)).Decode(m); err != nil {
		return nil, err
	}
	if m.Size != fi.Size()-16-n {
		return nil, errors.New("data length does not match metadata")
	}
	return m, nil
}

func writeFileSync(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeFileAtomic writes data to p through a temp file in tmpDir, fsync and
// rename.
func writeFileAtomic(tmpDir, p string, data []byte) error {
	if err := atomicfile.WriteVia(tmpDir, p, data, 0o600); err != nil {
		return diskErr("replace file", err)
	}
	return nil
}

func syncDir(dir string) error { return atomicfile.SyncDir(dir) }

// diskErr wraps err with what failed, marking a full disk with errNoSpace.
func diskErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, errNoSpace) {
		return fmt.Errorf("%s: %w: %w", what, errNoSpace, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
