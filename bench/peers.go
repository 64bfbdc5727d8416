package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// rieModule is the Runtime Interface Emulator, pinned: the module has no
// tagged releases, so this is the newest pseudo-version the proxy listed.
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// peers are the located tools; an empty path comes with the reason in why.
type peers struct {
	nginx, wrk, rie, python, node string
	why                           map[string]string
	versions                      []kv
}

// output runs a command and returns its combined output, trimmed.
func output(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// lookDebian finds bin on PATH or in /usr/sbin, installing pkg with apt-get
// when it is missing and installing is possible.
func lookDebian(ctx context.Context, bin, pkg string, logf func(string, ...any)) (string, string) {
	find := func() string {
		if p, err := exec.LookPath(bin); err == nil {
			return p
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin"} {
			if p := filepath.Join(d, bin); fileExists(p) {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p, ""
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", "skipped: " + bin + " is not installed and apt-get is not available"
	}
	if os.Geteuid() != 0 {
		return "", "skipped: " + bin + " is not installed (install Debian package " + pkg + "; the harness installs it only as root)"
	}
	logf("installing %s with apt-get", pkg)
	if _, err := output(ctx, "apt-get", "install", "-y", pkg); err != nil {
		if out, err := output(ctx, "apt-get", "update"); err != nil {
			return "", "skipped: apt-get update failed: " + firstLine(out)
		}
		if out, err := output(ctx, "apt-get", "install", "-y", pkg); err != nil {
			return "", "skipped: apt-get install " + pkg + " failed: " + firstLine(out)
		}
	}
	if p := find(); p != "" {
		return p, ""
	}
	return "", "skipped: " + bin + " not found after installing " + pkg
}

// locateRIE finds aws-lambda-rie in GOPATH/bin or on PATH, installing the
// pinned version with go install when it is missing.
func locateRIE(ctx context.Context, logf func(string, ...any)) (path, version, why string) {
	gobin, _ := output(ctx, "go", "env", "GOBIN")
	if gobin == "" {
		gp, _ := output(ctx, "go", "env", "GOPATH")
		gobin = filepath.Join(strings.Split(gp, string(os.PathListSeparator))[0], "bin")
	}
	p := filepath.Join(gobin, "aws-lambda-rie")
	if !fileExists(p) {
		if lp, err := exec.LookPath("aws-lambda-rie"); err == nil {
			p = lp
		} else {
			logf("installing %s@%s", rieModule, rieVersion)
			if out, err := output(ctx, "go", "install", rieModule+"/cmd/aws-lambda-rie@"+rieVersion); err != nil {
				return "", "", "skipped: go install aws-lambda-rie failed: " + truncate(out, 300)
			}
		}
	}
	v := "unknown"
	if out, err := output(ctx, "go", "version", "-m", p); err == nil {
		for line := range strings.Lines(out) {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == "mod" && f[1] == rieModule {
				v = f[2]
			}
		}
	}
	return p, v, ""
}

func findPeers(ctx context.Context, logf func(string, ...any)) *peers {
	p := &peers{why: map[string]string{}}
	p.nginx, p.why["nginx"] = lookDebian(ctx, "nginx", "nginx", logf)
	p.wrk, p.why["wrk"] = lookDebian(ctx, "wrk", "wrk", logf)
	var rieV string
	p.rie, rieV, p.why["rie"] = locateRIE(ctx, logf)
	if py, err := exec.LookPath("python3"); err == nil {
		p.python = py
	} else {
		p.why["python"] = "skipped: python3 is not installed"
	}
	if n, err := exec.LookPath("node"); err == nil {
		p.node = n
	} else {
		p.why["node"] = "skipped: node is not installed"
	}
	ver := func(key, path string, args ...string) {
		if path == "" {
			p.versions = append(p.versions, kv{key, "not available"})
			return
		}
		out, _ := output(ctx, path, args...)
		p.versions = append(p.versions, kv{key, firstLine(out)})
	}
	goV, _ := output(ctx, "go", "version")
	p.versions = append(p.versions, kv{"Go", goV})
	ver("nginx", p.nginx, "-v")
	ver("wrk", p.wrk, "-v")
	if p.rie != "" {
		p.versions = append(p.versions, kv{"aws-lambda-rie", rieModule + " " + rieV})
	} else {
		p.versions = append(p.versions, kv{"aws-lambda-rie", p.why["rie"]})
	}
	ver("Python", p.python, "--version")
	ver("Node.js", p.node, "--version")
	return p
}

// machine describes the host: CPU model, cores, memory, kernel.
func machine() []kv {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseStatusKB(string(b), "MemTotal"); err == nil {
			mem = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return []kv{
		{"CPU", cpu},
		{"cores", fmt.Sprint(runtime.NumCPU())},
		{"memory", mem},
		{"kernel", runtime.GOOS + " " + kernel},
	}
}
