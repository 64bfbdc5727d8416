package bootstrap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeInterpreters puts scripts on a PATH of their own that answer the
// version query as python and node do: their path, then their version.
func fakeInterpreters(t *testing.T, versions map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, v := range versions {
		script := fmt.Sprintf("#!/bin/sh\necho \"$0\"\necho %s\n", v)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	return dir
}

func TestClosestInterpreter(t *testing.T) {
	dir := fakeInterpreters(t, map[string]string{
		"python3.10": "3.10.14", "python3.12": "3.12.3", "python3": "3.11.7",
		"node": "v20.20.2", "node22": "v22.11.0",
	})
	tests := []struct {
		name, runtime, interpreter string
		wantPath, wantWarning      string
	}{
		{name: "exact python", runtime: "python3.12", wantPath: "python3.12"},
		{name: "exact python through python3", runtime: "python3.11", wantPath: "python3"},
		{name: "newer runtime than installed", runtime: "python3.13", wantPath: "python3.12",
			wantWarning: "runtime python3.13 runs on the machine's Python 3.12.3 ("},
		{name: "named by the function", runtime: "python3.12", interpreter: "python3.10", wantPath: "python3.10",
			wantWarning: "runtime python3.12 runs on the machine's Python 3.10.14 ("},
		{name: "exact node", runtime: "nodejs22.x", wantPath: "node22"},
		{name: "nodejs24.x on the closest", runtime: "nodejs24.x", wantPath: "node22",
			wantWarning: "runtime nodejs24.x runs on the machine's Node.js 22.11.0 ("},
		{name: "node named by path", runtime: "nodejs24.x", interpreter: filepath.Join(dir, "node"), wantPath: "node",
			wantWarning: "runtime nodejs24.x runs on the machine's Node.js 20.20.2 ("},
	}
	code := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewResolver(t.TempDir())
			c, err := r.Command(context.Background(), Function{Name: "f", Runtime: tt.runtime, Handler: "app.handler",
				CodeDir: code, Interpreter: tt.interpreter})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.wantPath); c.Path != want {
				t.Errorf("Path = %s, want %s", c.Path, want)
			}
			switch {
			case tt.wantWarning == "" && len(c.Warnings) > 0:
				t.Errorf("Warnings = %q, want none", c.Warnings)
			case tt.wantWarning != "" && (len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], tt.wantWarning) ||
				!strings.Contains(c.Warnings[0], filepath.Join(dir, tt.wantPath)) || strings.Contains(c.Warnings[0], "closest") == (tt.interpreter != "")):
				t.Errorf("Warnings = %q, want %q...", c.Warnings, tt.wantWarning)
			}
		})
	}
}

func TestInterpreterMissing(t *testing.T) {
	fakeInterpreters(t, map[string]string{})
	_, _, err := NewResolver(t.TempDir()).Interpreter(context.Background(), Function{Name: "f", Runtime: "nodejs24.x"})
	if err == nil || !strings.Contains(err.Error(), `runtime nodejs24.x needs "node", which is not on PATH`) {
		t.Errorf("err = %v", err)
	}
	_, _, err = NewResolver(t.TempDir()).Interpreter(context.Background(), Function{Name: "f", Runtime: "python3.13", Interpreter: "python3.13"})
	if err == nil || !strings.Contains(err.Error(), `"python3.13", which is not on PATH`) {
		t.Errorf("err = %v", err)
	}
}
