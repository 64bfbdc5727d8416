package build

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// layers merges fn.Layers into one directory, in order, a later layer's
// file replacing an earlier one's (as Lambda extracts them into /opt), and
// returns it. The directory is keyed by the layers' content.
func (b *Builder) layers(fn Function) (string, error) {
	h := sha256.New()
	for _, l := range fn.Layers {
		fmt.Fprintf(h, "layer\x00%s\x00", filepath.Base(l))
		if err := hashLayer(h, l); err != nil {
			return "", err
		}
	}
	dest := filepath.Join(b.dir, "layers", hex.EncodeToString(h.Sum(nil))[:16])
	built, err := b.once(dest, func(tmp string) error {
		for _, l := range fn.Layers {
			st, err := os.Stat(l)
			if err != nil {
				return err
			}
			if st.IsDir() {
				err = copyTree(l, tmp, func(string) bool { return false })
			} else {
				err = extractZip(l, tmp)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", l, err)
			}
		}
		return nil
	})
	if err != nil || !built {
		return dest, err
	}
	b.log.Info("layers merged", "function", fn.Name, "layers", len(fn.Layers), "dir", dest)
	return dest, nil
}

// hashLayer writes a layer's content to h: a zip file's bytes, or a
// directory's relative paths, modes and file contents.
func hashLayer(h io.Writer, l string) error {
	st, err := os.Stat(l)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		f, err := os.Open(l)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	}
	return filepath.WalkDir(l, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(l, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(rel), fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			io.WriteString(h, target)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
		}
		h.Write([]byte{0})
		return nil
	})
}

// extractZip extracts a zip file into dir, replacing files of the same
// name. Entries that would land outside dir are refused.
func extractZip(file, dir string) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		// Rooted, so ".." cannot climb out of dir.
		name := path.Clean("/" + strings.ReplaceAll(f.Name, "\\", "/"))
		if name == "/" {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(name[1:]))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		case mode&fs.ModeSymlink != 0:
			target, err := readZipEntry(f)
			if err != nil {
				return err
			}
			t := string(target)
			if filepath.IsAbs(t) || !strings.HasPrefix(filepath.Clean(filepath.Join(filepath.Dir(dst), t)), dir+string(filepath.Separator)) {
				return fmt.Errorf("entry %q: symbolic link to %q leaves the layer", f.Name, t)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			os.Remove(dst)
			if err := os.Symlink(t, dst); err != nil {
				return err
			}
			continue
		}
		perm := mode.Perm()
		if perm == 0 {
			perm = 0o644
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(dst, rc, perm|0o444)
		rc.Close()
		if err != nil {
			return fmt.Errorf("entry %q: %w", f.Name, err)
		}
	}
	return nil
}

func readZipEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 4096))
}

// linkTree recreates src under dst with hard links to src's files (copies
// where the file system refuses links).
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		if err := os.Link(p, target); err == nil {
			return nil
		}
		return copyFile(p, target, fi.Mode().Perm())
	})
}

// copyTree copies src's files into dst, replacing files of the same name
// (never writing through a hard link into the dependency cache). skip
// names directories to leave out.
func copyTree(src, dst string, skip func(name string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if p != src && skip(d.Name()) {
				return filepath.SkipDir
			}
			if st, err := os.Lstat(target); err == nil && !st.IsDir() {
				os.Remove(target)
			}
			return os.MkdirAll(target, 0o755)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.RemoveAll(target)
			return os.Symlink(link, target)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		return copyFile(p, target, fi.Mode().Perm())
	})
}

// copyFile copies src to dst, replacing dst.
func copyFile(src, dst string, perm fs.FileMode) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(dst, f, perm)
}

// writeFile writes r to a new file at dst (an existing dst is removed
// first, so a hard link's other names keep their content).
func writeFile(dst string, r io.Reader, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if st, err := os.Lstat(dst); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s is a directory", dst)
		}
		if err := os.Remove(dst); err != nil {
			return err
		}
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
