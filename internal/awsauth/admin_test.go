package awsauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateAdmin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	a, err := LoadOrCreateAdmin(dir, Admin{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.AccessKeyID, "AKIA") || len(a.AccessKeyID) != 20 || len(a.SecretAccessKey) != 40 || len(a.ConsoleToken) < 32 {
		t.Errorf("generated %+v", a)
	}
	fi, err := os.Stat(filepath.Join(dir, AdminFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// A restart reuses them; another state directory gets others.
	again, err := LoadOrCreateAdmin(dir, Admin{})
	if err != nil || again != a {
		t.Errorf("restart: %+v %v, want %+v", again, err, a)
	}
	other, _ := LoadOrCreateAdmin(t.TempDir(), Admin{})
	if other.AccessKeyID == a.AccessKeyID || other.SecretAccessKey == a.SecretAccessKey || other.ConsoleToken == a.ConsoleToken {
		t.Errorf("two state directories share credentials: %+v %+v", a, other)
	}

	// Given credentials win and are written for the CLI.
	given := Admin{AccessKeyID: "AKIAGIVENGIVEN000001", SecretAccessKey: "given-secret"}
	got, err := LoadOrCreateAdmin(dir, given)
	if err != nil || got.AccessKeyID != given.AccessKeyID || got.SecretAccessKey != given.SecretAccessKey || got.ConsoleToken != a.ConsoleToken {
		t.Errorf("given: %+v %v", got, err)
	}
	if read, err := ReadAdmin(dir); err != nil || read != got {
		t.Errorf("read back %+v %v", read, err)
	}
}

func TestAdminBadInput(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string)
		given   Admin
		want    string
	}{
		{"half given", nil, Admin{AccessKeyID: "AKIAGIVENGIVEN000001"}, "give both"},
		{"short key id", nil, Admin{AccessKeyID: "AKIA", SecretAccessKey: "s"}, "want 16 to 128"},
		{"readable by others", func(dir string) {
			os.WriteFile(filepath.Join(dir, AdminFile), []byte(`{"accessKeyId":"AKIAXXXXXXXXXXXXXXXX","secretAccessKey":"s"}`), 0o644)
		}, Admin{}, "others may read it"},
		{"not JSON", func(dir string) { os.WriteFile(filepath.Join(dir, AdminFile), []byte(`nope`), 0o600) }, Admin{}, AdminFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.prepare != nil {
				tc.prepare(dir)
			}
			_, err := LoadOrCreateAdmin(dir, tc.given)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
