package bootstrap_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
)

func TestSupported(t *testing.T) {
	tests := []struct {
		runtime string
		want    bool
	}{
		{"python3.6", true}, {"python3.8", true}, {"python3.12", true}, {"python3.14", true},
		{"python2.7", false}, {"python3.15", false},
		{"nodejs18.x", true}, {"nodejs20.x", true}, {"nodejs22.x", true}, {"nodejs16.x", false},
		{"provided", true}, {"provided.al2", true}, {"provided.al2023", true},
		{"go1.x", false}, {"java21", false}, {"", false},
	}
	for _, tt := range tests {
		if got := bootstrap.Supported(tt.runtime); got != tt.want {
			t.Errorf("Supported(%q) = %v, want %v", tt.runtime, got, tt.want)
		}
	}
}

func TestCommandPython(t *testing.T) {
	need(t, "python3")
	tests := []struct {
		runtime     string
		wantWarning string
	}{
		{runtime: "python3.8", wantWarning: "runtime python3.8 is deprecated on AWS (since 2024-10-14); running it on the machine's Python "},
		{runtime: "python3.9", wantWarning: "runtime python3.9 is deprecated on AWS (since 2025-12-15); running it on the machine's Python "},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			c, err := bootstrap.NewResolver(t.TempDir()).Command(context.Background(),
				bootstrap.Function{Name: "hello", Runtime: tt.runtime, Handler: "handler.main", CodeDir: "testdata/python"})
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(c.Path) || !filepath.IsAbs(c.Dir) || filepath.Base(c.Dir) != "python" {
				t.Errorf("Path %q, Dir %q: want absolute paths, Dir the code dir", c.Path, c.Dir)
			}
			if len(c.Args) != 1 || filepath.Base(c.Args[0]) != "bootstrap.py" {
				t.Fatalf("Args = %q, want the bootstrap script", c.Args)
			}
			if _, err := os.Stat(c.Args[0]); err != nil {
				t.Errorf("script: %v", err)
			}
			for _, kv := range []string{"AWS_EXECUTION_ENV=AWS_Lambda_" + tt.runtime, "PYTHONUNBUFFERED=1"} {
				if !slices.Contains(c.Env, kv) {
					t.Errorf("Env %q lacks %s", c.Env, kv)
				}
			}
			if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], tt.wantWarning) {
				t.Errorf("Warnings = %q, want %q...", c.Warnings, tt.wantWarning)
			}
		})
	}
}

func TestCommandNode(t *testing.T) {
	need(t, "node")
	c, err := bootstrap.NewResolver(t.TempDir()).Command(context.Background(),
		bootstrap.Function{Name: "hello", Runtime: "nodejs18.x", Handler: "index.handler", CodeDir: "testdata/node", MemoryMB: 512})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"--max-old-space-size=461", "--max-semi-space-size=25"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("Args %q lack %s", c.Args, a)
		}
	}
	if last := c.Args[len(c.Args)-1]; filepath.Base(last) != "bootstrap.cjs" {
		t.Errorf("last arg %q, want the bootstrap script", last)
	}
	if !slices.Contains(c.Env, "AWS_EXECUTION_ENV=AWS_Lambda_nodejs18.x") {
		t.Errorf("Env = %q", c.Env)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "nodejs18.x is deprecated on AWS") {
		t.Errorf("Warnings = %q, want the deprecation", c.Warnings)
	}
}

// TestCommandConcurrent resolves from many goroutines (run with -race).
func TestCommandConcurrent(t *testing.T) {
	need(t, "python3")
	r := bootstrap.NewResolver(t.TempDir())
	fn := bootstrap.Function{Name: "hello", Runtime: "python3.12", Handler: "handler.main", CodeDir: "testdata/python"}
	var wg sync.WaitGroup
	paths := make([]string, 8)
	errs := make([]error, 8)
	for i := range paths {
		wg.Go(func() {
			c, err := r.Command(context.Background(), fn)
			errs[i] = err
			if err == nil {
				paths[i] = c.Args[0]
			}
		})
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil || paths[i] != paths[0] {
			t.Fatalf("call %d: %q, %v; want %q", i, paths[i], errs[i], paths[0])
		}
	}
}

func TestCommandErrors(t *testing.T) {
	need(t, "go")
	emptyPath := t.TempDir() // a PATH with no interpreters in it

	notExec := t.TempDir()
	os.WriteFile(filepath.Join(notExec, "bootstrap"), []byte("#!/bin/sh\n"), 0o644)
	dirBootstrap := t.TempDir()
	os.Mkdir(filepath.Join(dirBootstrap, "bootstrap"), 0o755)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { notDefined() }\n"), 0o644)

	tests := []struct {
		name    string
		fn      bootstrap.Function
		path    string // PATH for the lookup; "" keeps the test's
		wantErr string
	}{
		{name: "unknown runtime", fn: bootstrap.Function{Name: "hello", Runtime: "ruby3.3", CodeDir: "testdata/python"},
			wantErr: "function hello: runtime ruby3.3 is not supported (supported: nodejs18.x, "},
		{name: "python2.7", fn: bootstrap.Function{Name: "hello", Runtime: "python2.7", CodeDir: "testdata/python"},
			wantErr: "function hello: runtime python2.7 is not supported: handlers run on the machine's Python 3"},
		{name: "missing code dir", fn: bootstrap.Function{Name: "hello", Runtime: "python3.12", CodeDir: "./app"},
			wantErr: "function hello: code directory ./app does not exist"},
		{name: "code dir is a file", fn: bootstrap.Function{Name: "hello", Runtime: "python3.12", CodeDir: "testdata/python/handler.py"},
			wantErr: "function hello: code directory testdata/python/handler.py is not a directory"},
		{name: "no python3", fn: bootstrap.Function{Name: "hello", Runtime: "python3.12", CodeDir: "testdata/python"}, path: emptyPath,
			wantErr: `function hello: runtime python3.12 needs "python3", which is not on PATH`},
		{name: "no node", fn: bootstrap.Function{Name: "hello", Runtime: "nodejs20.x", CodeDir: "testdata/node"}, path: emptyPath,
			wantErr: `function hello: runtime nodejs20.x needs "node", which is not on PATH`},
		{name: "no bootstrap", fn: bootstrap.Function{Name: "hello", Runtime: "provided.al2023", CodeDir: "testdata/python"},
			wantErr: "function hello: provided.al2023 needs an executable named bootstrap in testdata/python"},
		{name: "bootstrap not executable", fn: bootstrap.Function{Name: "hello", Runtime: "provided.al2", CodeDir: notExec},
			wantErr: "is not executable (run chmod +x "},
		{name: "bootstrap is a directory", fn: bootstrap.Function{Name: "hello", Runtime: "provided.al2", CodeDir: dirBootstrap},
			wantErr: "is a directory"},
		{name: "no go for Go sources", fn: bootstrap.Function{Name: "hello", Runtime: "provided.al2023", CodeDir: broken}, path: emptyPath,
			wantErr: `function hello: runtime provided.al2023 needs "go", which is not on PATH`},
		{name: "Go sources do not compile", fn: bootstrap.Function{Name: "hello", Runtime: "provided.al2023", CodeDir: broken},
			wantErr: "undefined: notDefined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			c, err := bootstrap.NewResolver(t.TempDir()).Command(context.Background(), tt.fn)
			if err == nil {
				t.Fatalf("Command = %+v, want error %q", c, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestProvidedBootstrap(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := bootstrap.NewResolver(t.TempDir()).Command(context.Background(),
		bootstrap.Function{Name: "hello", Runtime: "provided", CodeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != bin || c.Dir != dir || len(c.Args) != 0 || len(c.Env) != 0 {
		t.Errorf("Command = %+v, want the bootstrap itself", c)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "provided is deprecated") {
		t.Errorf("Warnings = %q, want the deprecation of provided", c.Warnings)
	}
}

// TestProvidedGo builds an aws-lambda-go program in this module's testdata
// and runs it, unmodified, against the fake Runtime API.
func TestProvidedGo(t *testing.T) {
	need(t, "go")
	fn := bootstrap.Function{Name: "hello", Runtime: "provided.al2023", Handler: "ignored", CodeDir: testdata(t, "go", "echo")}
	c, err := bootstrap.NewResolver(cacheDir).Command(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(c.Path) != "bootstrap" || !strings.HasPrefix(c.Path, filepath.Join(cacheDir, "gobuild")) {
		t.Errorf("Path = %q, want <cache>/gobuild/<hash>/bootstrap", c.Path)
	}
	api := newFakeAPI(t)
	startSandbox(t, api, fn)
	for i, ev := range []string{`{"a":1}`, `[1,2,3]`} {
		id := "g-" + string(rune('0'+i))
		p := api.invoke(t, invocation{ID: id, Body: []byte(ev)})
		got := decodeJSON(t, p.Body)
		if p.Kind != "response" || got["requestId"] != id || got["arn"] != testARN || got["function"] != "hello" {
			t.Errorf("posted %s %s", p.Kind, p.Body)
		}
		if raw, _ := jsonCompact(got["event"]); raw != ev {
			t.Errorf("event = %s, want %s", raw, ev)
		}
	}
	if n := api.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestGoBuildCache checks that unchanged sources reuse the build and changed
// sources rebuild.
func TestGoBuildCache(t *testing.T) {
	need(t, "go")
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.22\n")
	write("main.go", "package main\n\nimport \"example.com/app/sub\"\n\nfunc main() { println(sub.Word) }\n")
	write("sub/sub.go", "package sub\n\nconst Word = \"one\"\n")

	r := bootstrap.NewResolver(t.TempDir())
	fn := bootstrap.Function{Name: "app", Runtime: "provided.al2023", CodeDir: dir}
	run := func() (path, output string) {
		t.Helper()
		c, err := r.Command(context.Background(), fn)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(c.Path).CombinedOutput()
		if err != nil {
			t.Fatalf("run %s: %v", c.Path, err)
		}
		return c.Path, strings.TrimSpace(string(out))
	}
	p1, out1 := run()
	st1, _ := os.Stat(p1)
	p2, _ := run()
	st2, _ := os.Stat(p2)
	if p1 != p2 || !st1.ModTime().Equal(st2.ModTime()) {
		t.Errorf("unchanged sources rebuilt: %s then %s", p1, p2)
	}
	write("sub/sub.go", "package sub\n\nconst Word = \"two\"\n")
	p3, out3 := run()
	if p3 == p1 || out1 != "one" || out3 != "two" {
		t.Errorf("after a change in a subpackage: %s %q, before %s %q", p3, out3, p1, out1)
	}
	// A fresh resolver (a restart) finds the earlier build on disk.
	c, err := bootstrap.NewResolver(filepath.Dir(filepath.Dir(filepath.Dir(p3)))).Command(context.Background(), fn)
	if err != nil || c.Path != p3 {
		t.Errorf("fresh resolver: %v, %v; want %s", c, err, p3)
	}
}

func jsonCompact(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
