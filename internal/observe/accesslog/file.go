package accesslog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Default rotation settings for file destinations.
const (
	DefaultMaxBytes = 100 << 20 // 100 MiB
	DefaultKeep     = 5
)

// OpenDestination opens a stage's accessLogSettings.destination: "" or
// "stdout" is stdout, "stderr" is stderr (both returned with a no-op Close),
// anything else is a file path opened with OpenFile. Relative paths are
// taken as they are; resolving them against the spec file's directory is
// the caller's job.
func OpenDestination(dest string, stdout, stderr io.Writer, maxBytes int64, keep int) (io.WriteCloser, error) {
	switch dest {
	case "", "stdout":
		return nopCloser{stdout}, nil
	case "stderr":
		return nopCloser{stderr}, nil
	}
	return OpenFile(dest, maxBytes, keep)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// rotatingFile is an append-only file rotated by size: when a write would
// take it past maxBytes, path.keep-1 is renamed to path.keep, ..., path to
// path.1, and a new path is created. Writes are never split: one Write goes
// to one file, so lines stay whole. It is safe for concurrent use.
type rotatingFile struct {
	path     string
	maxBytes int64
	keep     int

	mu     sync.Mutex
	f      *os.File // nil after a failed rotation: the next Write reopens
	size   int64
	closed bool
}

// OpenFile opens (creating it and its directory if needed) the file at path
// for appending, rotated when it would grow past maxBytes (0: never),
// keeping at most keep old files named path.1 (newest) to path.keep. Every
// problem that would stop writing (a directory at path, no permission, a
// file where a directory should be) is returned here, not at the first
// write.
func OpenFile(path string, maxBytes int64, keep int) (io.WriteCloser, error) {
	if path == "" {
		return nil, errors.New("access log file: empty path")
	}
	if maxBytes < 0 {
		return nil, fmt.Errorf("access log file %s: maxBytes %d is negative", path, maxBytes)
	}
	if keep < 0 {
		return nil, fmt.Errorf("access log file %s: keep %d is negative", path, keep)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("access log file %s: %w", path, err)
	}
	rf := &rotatingFile{path: path, maxBytes: maxBytes, keep: keep}
	if err := rf.open(); err != nil {
		return nil, err
	}
	if keep > 0 && maxBytes > 0 {
		// Rotation renames inside the directory: check it is writable now.
		probe, err := os.CreateTemp(filepath.Dir(path), ".portico-accesslog-*")
		if err != nil {
			rf.f.Close()
			return nil, fmt.Errorf("access log file %s: directory not writable for rotation: %w", path, err)
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	return rf, nil
}

func (rf *rotatingFile) open() error {
	f, err := os.OpenFile(rf.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("access log file %s: open: %w", rf.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("access log file %s: stat: %w", rf.path, err)
	}
	if !st.Mode().IsRegular() && st.Mode()&fs.ModeCharDevice == 0 && st.Mode()&fs.ModeNamedPipe == 0 {
		f.Close()
		return fmt.Errorf("access log file %s: not a regular file", rf.path)
	}
	rf.f, rf.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would take the file past maxBytes
// (a file is never left empty by rotation: a single p larger than maxBytes
// is written whole).
func (rf *rotatingFile) Write(p []byte) (int, error) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if rf.closed {
		return 0, fmt.Errorf("access log file %s: %w", rf.path, fs.ErrClosed)
	}
	if rf.f == nil {
		if err := rf.open(); err != nil {
			return 0, err
		}
	}
	if rf.maxBytes > 0 && rf.size > 0 && rf.size+int64(len(p)) > rf.maxBytes {
		if err := rf.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := rf.f.Write(p)
	rf.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("access log file %s: write: %w", rf.path, err)
	}
	return n, nil
}

func (rf *rotatingFile) rotate() error {
	if err := rf.f.Close(); err != nil {
		return fmt.Errorf("access log file %s: close for rotation: %w", rf.path, err)
	}
	rf.f = nil
	if rf.keep == 0 {
		if err := os.Remove(rf.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("access log file %s: rotate: %w", rf.path, err)
		}
	} else {
		for i := rf.keep - 1; i >= 1; i-- {
			err := os.Rename(rf.name(i), rf.name(i+1))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("access log file %s: rotate: %w", rf.path, err)
			}
		}
		if err := os.Rename(rf.path, rf.name(1)); err != nil {
			return fmt.Errorf("access log file %s: rotate: %w", rf.path, err)
		}
	}
	return rf.open()
}

func (rf *rotatingFile) name(i int) string { return rf.path + "." + strconv.Itoa(i) }

// Close closes the current file. Later writes fail.
func (rf *rotatingFile) Close() error {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rf.closed = true
	if rf.f == nil {
		return nil
	}
	err := rf.f.Close()
	rf.f = nil
	if err != nil {
		return fmt.Errorf("access log file %s: close: %w", rf.path, err)
	}
	return nil
}
