package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPulumiStartup measures `portico up DIR` from exec to its
// `ready` line on the seed written as a Pulumi program in Go, Python and
// TypeScript. Warm runs find the program built (Go's build cache), its
// virtualenv or node_modules installed; python-first creates the
// virtualenv and installs requirements.txt on every run (from pip's
// cache). Reported as s/ready; docs/benchmarks.md holds the figures.
//
//	go test -run '^$' -bench PulumiStartup -benchtime 5x ./cmd/portico
func BenchmarkPulumiStartup(b *testing.B) {
	root := b.TempDir()
	for _, ex := range []string{"seed", "seed-pulumi", "seed-pulumi-python", "seed-pulumi-ts"} {
		copyProgram(b, filepath.Join("..", "..", "examples", ex), filepath.Join(root, ex))
	}
	shareVirtualenv(b, filepath.Join(root, "seed-pulumi-python"))
	shareNodeModules(b, filepath.Join(root, "seed-pulumi-ts"))
	first := filepath.Join(root, "first", "seed-pulumi-python")
	copyProgram(b, filepath.Join("..", "..", "examples", "seed-pulumi-python"), first)
	for _, c := range []struct {
		name, dir string
		fresh     bool // remove the virtualenv before each run
	}{
		{"go", "seed-pulumi", false},
		{"python", "seed-pulumi-python", false},
		{"python-first", first, true},
		{"typescript", "seed-pulumi-ts", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := c.dir
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(root, dir)
			}
			if !c.fresh {
				upUntilReady(b, dir) // warm: build, caches
			}
			b.ResetTimer()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				if c.fresh {
					b.StopTimer()
					if err := os.RemoveAll(filepath.Join(dir, "venv")); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				total += upUntilReady(b, dir)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
		})
	}
}

// upUntilReady starts `portico up dir`, waits for its ready line, stops it
// and returns how long it took to be ready.
func upUntilReady(b *testing.B, dir string) time.Duration {
	b.Helper()
	start := time.Now()
	cmd := exec.Command(binary, "up", dir, "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "", "--watch=false")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "ready" {
			d := time.Since(start)
			go func() { _, _ = bufio.NewReader(stdout).WriteTo(nopWriter{}) }()
			return d
		}
	}
	b.Fatalf("portico up %s exited before it was ready:\n%s", dir, stderr.String())
	return 0
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
