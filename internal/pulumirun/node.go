package pulumirun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// lockStamp, inside node_modules, holds the SHA-256 of the package-lock.json
// (or package.json) last installed.
const lockStamp = ".portico-lock-sha256"

// nodeCommand makes sure the program's node_modules is installed (npm ci
// when package-lock.json exists, else npm install; again when the lock
// file changed since the last install, with npm's output as progress) and
// returns the command line that runs the program through the Pulumi
// Node.js SDK's own runner (@pulumi/pulumi/cmd/run, which compiles
// TypeScript with ts-node as `pulumi up` does), and its environment.
func nodeCommand(ctx context.Context, proj *Project, stack, monitor string, out io.Writer) ([]string, []string, error) {
	dir, err := filepath.Abs(proj.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	if err := ensureNodeModules(ctx, proj, dir, out); err != nil {
		return nil, nil, err
	}
	runner := filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "cmd", "run")
	if _, err := os.Stat(filepath.Join(runner, "index.js")); err != nil {
		return nil, nil, fmt.Errorf("pulumi program %s: the Pulumi SDK is not installed (%s is missing): add @pulumi/pulumi to package.json", proj.Name, filepath.Join("node_modules", "@pulumi", "pulumi"))
	}
	main, err := filepath.Abs(proj.mainDir)
	if err != nil {
		return nil, nil, fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	if proj.mainFile != "" {
		main = filepath.Join(main, proj.mainFile)
	}
	argv := []string{"node", runner,
		"--monitor", monitor, "--engine", monitor,
		"--project", proj.Name, "--organization", organization,
		"--root-directory", dir, "--pwd", dir, "--parallel", "16",
		"--stack", stack}
	ts := proj.Typescript == nil || *proj.Typescript
	env := []string{"PULUMI_NODEJS_TYPESCRIPT=" + strconv.FormatBool(ts), "FORCE_COLOR=0", "NO_COLOR=1"}
	return append(argv, main), env, nil
}

// ensureNodeModules installs the program's packages when node_modules is
// missing or the lock file changed since the last install.
func ensureNodeModules(ctx context.Context, proj *Project, dir string, out io.Writer) error {
	install, want, err := lockHash(dir)
	if err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	stamp := filepath.Join(dir, "node_modules", lockStamp)
	got, err := os.ReadFile(stamp)
	if err == nil && strings.TrimSpace(string(got)) == want {
		return nil
	}
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules")); statErr == nil && errors.Is(err, os.ErrNotExist) {
		// Installed by hand (npm install): trust it, as pulumi up does.
		return os.WriteFile(stamp, []byte(want+"\n"), 0o644)
	}
	fmt.Fprintf(out, "pulumi program %s: npm %s (the first install takes a minute or two)\n", proj.Name, install)
	if err := runStep(ctx, out, dir, "npm", install, "--no-audit", "--no-fund"); err != nil {
		return fmt.Errorf("pulumi program %s: npm %s failed (%w); nothing was started", proj.Name, install, err)
	}
	// npm install writes package-lock.json: the stamp is the lock's hash.
	if _, want, err = lockHash(dir); err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	// A package without dependencies gets no node_modules from npm.
	if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	return os.WriteFile(stamp, []byte(want+"\n"), 0o644)
}

// lockHash returns how to install a package (npm ci when it has a
// package-lock.json, else npm install) and the SHA-256 of the file that
// pins it (package-lock.json, else package.json).
func lockHash(dir string) (install, hash string, err error) {
	install = "ci"
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if errors.Is(err, os.ErrNotExist) {
		install = "install"
		data, err = os.ReadFile(filepath.Join(dir, "package.json"))
	}
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(data)
	return install, hex.EncodeToString(sum[:]), nil
}

// tsDiagnostic is a TypeScript compiler diagnostic as ts-node reports it:
// "index.ts(12,7): error TS2322: ...".
var tsDiagnostic = regexp.MustCompile(`(?m)^(?:\S*\s)?([^\s():]+\.[cm]?[tj]sx?)\((\d+),(\d+)\): (error TS\d+: .*)$`)

// ansiEscape is a terminal colour sequence: Node colours stack traces.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// nodeError rewrites the TypeScript diagnostics in a program's error as
// "DIR/index.ts:LINE:COL: error TSNNNN: ...", the program's own positions.
func nodeError(proj *Project, msg string) string {
	msg = ansiEscape.ReplaceAllString(msg, "")
	ms := tsDiagnostic.FindAllStringSubmatch(msg, -1)
	if len(ms) == 0 {
		return jsError(proj, msg)
	}
	lines := make([]string, 0, len(ms))
	for _, m := range ms {
		lines = append(lines, fmt.Sprintf("%s:%s:%s: %s", filepath.Join(proj.dir, m[1]), m[2], m[3], m[4]))
	}
	return strings.Join(lines, "\n")
}

// jsFrame is a frame of a JavaScript stack trace: "at f (FILE:LINE:COL)"
// or "at FILE:LINE:COL".
var jsFrame = regexp.MustCompile(`(?m)^\s+at (?:.*\()?(/[^():]+):(\d+):(\d+)\)?$`)

// jsError places an uncaught exception's message ("ReferenceError: x is
// not defined") at the innermost frame of its stack trace in the program's
// own sources: "DIR/index.js:LINE:COL: ReferenceError: ...". Other
// messages are returned as they are.
func jsError(proj *Project, msg string) string {
	dir, err := filepath.Abs(proj.dir)
	if err != nil {
		return msg
	}
	head := ""
	for _, line := range strings.Split(msg, "\n") {
		if t := strings.TrimSpace(line); strings.Contains(t, "Error: ") && !strings.HasPrefix(t, "at ") {
			head = t
			break
		}
	}
	for _, m := range jsFrame.FindAllStringSubmatch(msg, -1) {
		rel, err := filepath.Rel(dir, m[1])
		if err != nil || strings.HasPrefix(rel, "..") || dependency(rel) || head == "" {
			continue
		}
		return fmt.Sprintf("%s:%s:%s: %s\n\n%s", filepath.Join(proj.dir, rel), m[2], m[3], head, strings.TrimSpace(msg))
	}
	return msg
}
