package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		perm os.FileMode
		data string
	}{
		{"create", 0o600, "first"},
		{"replace", 0o644, "second, longer content"},
		{"truncate", 0o600, "3"},
		{"empty", 0o600, ""},
	}
	path := filepath.Join(dir, "f.json")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Write(path, []byte(tt.data), tt.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != tt.data {
				t.Fatalf("content = %q, %v; want %q", got, err, tt.data)
			}
			fi, _ := os.Stat(path)
			if fi.Mode().Perm() != tt.perm {
				t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.perm)
			}
			assertOnly(t, dir, "f.json")
		})
	}
}

func TestWriteFailureLeavesTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := Write(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A directory where the target's name is cannot be replaced by a file.
	blocked := filepath.Join(dir, "d")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(blocked, []byte("new"), 0o600); err == nil {
		t.Fatal("Write over a non-empty directory: want error")
	}
	if err := Write(filepath.Join(dir, "missing", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("Write into a missing directory: want error")
	}
	got, _ := os.ReadFile(path)
	if string(got) != "old" {
		t.Errorf("target = %q after failed writes, want old", got)
	}
	assertOnly(t, dir, "d", "f")
}

func TestWriteVia(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "f")
	if err := WriteVia(tmp, path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, tmp)
	if got, _ := os.ReadFile(path); string(got) != "x" {
		t.Errorf("content = %q", got)
	}
}

// assertOnly fails unless dir holds exactly names: no temporary file left.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %v, want %v", dir, got, names)
		}
	}
}
