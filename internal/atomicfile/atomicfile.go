// Package atomicfile replaces a file's content so that readers, and the
// file after a crash, see the old content or the new, never a mix: write a
// temporary file, fsync it, rename it over the target, fsync the directory.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path's content with data, mode perm, through a temporary
// file in path's directory. On error path is as it was and the temporary
// file is gone. The error names the step that failed and wraps the cause
// (errors.Is(err, syscall.ENOSPC) holds on a full disk).
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteVia(filepath.Dir(path), path, data, perm)
}

// WriteVia is Write with the temporary file in tmpDir, which must be on
// path's file system (a staging directory that a crash-recovery sweep
// empties, for example).
func WriteVia(tmpDir, path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(tmpDir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: create temporary file: %w", path, err)
	}
	tmp := f.Name()
	step, err := "write", writeSync(f, data, perm)
	if err == nil {
		step, err = "rename", os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %s: %w", path, step, err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeSync writes data to f, sets its mode, fsyncs and closes it.
func writeSync(f *os.File, data []byte, perm os.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir fsyncs directory dir, making the renames and creations in it
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
