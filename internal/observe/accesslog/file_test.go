package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenFileRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "access.log") // the directory is created
	w, err := OpenFile(path, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range 20 {
		line := fmt.Sprintf("line %02d %s\n", i, strings.Repeat("x", 20)) // 30 bytes
		lines = append(lines, line)
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write after Close = %v, want fs.ErrClosed", err)
	}
	// 3 lines (90 bytes) per file: path has lines 18-19, .1 has 15-17, .2 has 12-14.
	tests := []struct {
		name string
		want string
	}{
		{"access.log", strings.Join(lines[18:], "")},
		{"access.log.1", strings.Join(lines[15:18], "")},
		{"access.log.2", strings.Join(lines[12:15], "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, "logs", tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "logs"))
	if len(entries) != 3 {
		t.Errorf("%d files, want 3 (keep 2): %v", len(entries), entries)
	}
}

func TestOpenFileAppendsAndKeepZero(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := OpenFile(path, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("new\n"))        // 8 bytes: fits
	w.Write([]byte("newer line\n")) // would pass 10: the file is truncated away
	w.Close()
	got, _ := os.ReadFile(path)
	if string(got) != "newer line\n" {
		t.Errorf("got %q", got)
	}
	if _, err := os.Stat(path + ".1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("keep 0 left %s.1: %v", path, err)
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o555)
	tests := []struct {
		name     string
		path     string
		maxBytes int64
		keep     int
		skip     bool
	}{
		{"a directory", dir, 0, 0, false},
		{"parent is a file", filepath.Join(file, "access.log"), 0, 0, false},
		{"read-only directory", filepath.Join(readOnly, "access.log"), 0, 0, os.Geteuid() == 0},
		{"empty path", "", 0, 0, false},
		{"negative maxBytes", filepath.Join(dir, "x.log"), -1, 0, false},
		{"negative keep", filepath.Join(dir, "x.log"), 0, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("root ignores directory permissions")
			}
			w, err := OpenFile(tt.path, tt.maxBytes, tt.keep)
			if err == nil {
				w.Close()
				t.Fatalf("OpenFile(%q) succeeded, want an error", tt.path)
			}
			if !strings.Contains(err.Error(), "access log file") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestOpenDestination(t *testing.T) {
	var out, errOut bytes.Buffer
	tests := []struct {
		dest string
		want *bytes.Buffer
	}{
		{"", &out}, {"stdout", &out}, {"stderr", &errOut},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			out.Reset()
			errOut.Reset()
			w, err := OpenDestination(tt.dest, &out, &errOut, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("x"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.want.String() != "x" {
				t.Errorf("not written to the right stream")
			}
		})
	}
	path := filepath.Join(t.TempDir(), "f.log")
	w, err := OpenDestination(path, &out, &errOut, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("y\n"))
	w.Close()
	if got, _ := os.ReadFile(path); string(got) != "y\n" {
		t.Errorf("file got %q", got)
	}
	if _, err := OpenDestination(t.TempDir(), &out, &errOut, 0, 0); err == nil {
		t.Error("a directory destination opened")
	}
}
