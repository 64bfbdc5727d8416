package bootstrap

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// hasGoFiles reports whether dir holds a .go file directly.
func hasGoFiles(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("read code directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
			return true, nil
		}
	}
	return false, nil
}

// goBuild builds the Go program in dir into <cache>/gobuild/<hash>/bootstrap
// and returns that path. The hash covers every .go file, go.mod and go.sum
// under dir (names and contents), the Go version and the target platform,
// so an unchanged program is built once and a changed one is rebuilt.
// Concurrent callers with the same hash share one build.
func (r *Resolver) goBuild(ctx context.Context, fn Function, dir string) (string, error) {
	gobin, err := r.interpreter(ctx, fn, "go", []string{"env", "GOVERSION"})
	if err != nil {
		return "", err
	}
	hash, err := sourceHash(dir, gobin.version.text)
	if err != nil {
		return "", fmt.Errorf("function %s: hash Go sources: %w", fn.Name, err)
	}

	r.mu.Lock()
	b := r.builds[hash]
	if b != nil {
		r.mu.Unlock()
		select {
		case <-b.done:
		case <-ctx.Done():
			return "", fmt.Errorf("function %s: go build: %w", fn.Name, ctx.Err())
		}
		if b.err != nil {
			return "", b.err
		}
		return b.path, nil
	}
	b = &build{done: make(chan struct{})}
	r.builds[hash] = b
	r.mu.Unlock()

	b.path, b.err = r.runGoBuild(ctx, fn, dir, gobin.path, hash)
	if b.err != nil {
		// Do not cache failures: the next call retries (after a fix, the
		// hash differs anyway; after a cancellation it may not).
		r.mu.Lock()
		delete(r.builds, hash)
		r.mu.Unlock()
	}
	close(b.done)
	return b.path, b.err
}

func (r *Resolver) runGoBuild(ctx context.Context, fn Function, dir, gobin, hash string) (string, error) {
	outDir := filepath.Join(r.cacheDir, "gobuild", hash)
	out := filepath.Join(outDir, "bootstrap")
	if st, err := os.Stat(out); err == nil && st.Mode().IsRegular() {
		return out, nil // built before, by this or another process
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("function %s: go build: %w", fn.Name, err)
	}
	tmp, err := os.CreateTemp(outDir, ".bootstrap-*")
	if err != nil {
		return "", fmt.Errorf("function %s: go build: %w", fn.Name, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // no-op after the rename

	var output bytes.Buffer
	c := exec.CommandContext(ctx, gobin, "build", "-tags", "lambda.norpc", "-trimpath", "-o", tmp.Name(), ".")
	c.Dir = dir
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	c.Stdout, c.Stderr = &output, &output
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("function %s: go build in %s failed: %w\n%s", fn.Name, fn.CodeDir, err, strings.TrimSpace(output.String()))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("function %s: go build: %w", fn.Name, err)
	}
	return out, nil
}

// sourceHash hashes the Go sources under dir with the toolchain version.
// Hidden directories, testdata and node_modules are skipped.
func sourceHash(dir, goVersion string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && (strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", goVersion, platform())
	for _, p := range files {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return "", err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// platform is the GOOS/GOARCH (and GOFLAGS) the build will target, read from
// the environment the go command will see.
func platform() string {
	return os.Getenv("GOOS") + "/" + os.Getenv("GOARCH") + "/" + os.Getenv("GOFLAGS")
}
