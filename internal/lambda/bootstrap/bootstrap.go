// Package bootstrap resolves the command that runs a Lambda function's
// runtime locally, so that unmodified handlers run as they do on AWS.
//
// Managed runtimes (python3.x, nodejs18.x to nodejs24.x) run on the
// machine's Python or Node.js closest to the runtime's version (or the
// interpreter the function names) with a bootstrap script of this package
// (embedded, standard library only) that speaks the Lambda Runtime API
// to the server named by AWS_LAMBDA_RUNTIME_API. OS-only runtimes
// (provided, provided.al2, provided.al2023) run the executable named
// bootstrap in the code directory; a code directory with Go sources and
// no bootstrap is built with the machine's go first.
//
// The caller (the runner) starts the process with the full Lambda
// environment (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, the
// function name/version/memory, log group/stream, region, TZ) plus the
// extra variables of Command.Env.
package bootstrap

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/atomicfile"
)

//go:embed scripts/bootstrap.py
var pythonScript []byte

//go:embed scripts/bootstrap.cjs
var nodeScript []byte

// Function is what the resolver needs to know about a function.
type Function struct {
	Name     string
	Runtime  string // e.g. python3.12, nodejs20.x, provided.al2023
	Handler  string
	CodeDir  string // the code directory; relative paths are taken from the working directory
	MemoryMB int
	// Interpreter, when set, is the python or node executable to run the
	// function with (a program on PATH or a path); otherwise the installed
	// version closest to the runtime's is chosen.
	Interpreter string
}

// Command is how to start one sandbox process of a function.
type Command struct {
	Path string   // the executable (absolute)
	Args []string // argv[1:]
	Dir  string   // working directory: the code directory (absolute)
	// Env holds the runtime-specific extra variables, KEY=VALUE, that the
	// runner adds to the Lambda environment (AWS_EXECUTION_ENV, interpreter
	// options).
	Env []string
	// CacheDirs are directories the runtime writes caches to (Python
	// bytecode under PYTHONPYCACHEPREFIX); a sandboxing runner gives each
	// function a private one at the same path.
	CacheDirs []string
	// Warnings are things the user should know but that do not stop the
	// function, e.g. a runtime AWS has deprecated or an interpreter version
	// that differs from the runtime's.
	Warnings []string
}

// Resolver resolves Commands. It looks up interpreters on PATH once,
// writes the bootstrap scripts into its cache directory once, and caches Go
// builds by a hash of their sources. It is safe for concurrent use.
type Resolver struct {
	cacheDir string

	mu      sync.Mutex
	interps map[string]*interpreter // by program name
	scripts map[string]string       // script name -> path written
	builds  map[string]*build       // by source hash
}

// interpreter is a program found on PATH and its version.
type interpreter struct {
	path    string
	version version
}

// build is one Go build, shared by the callers that need the same hash.
type build struct {
	done chan struct{}
	path string
	err  error
}

// NewResolver returns a Resolver that keeps its files (bootstrap scripts,
// Go builds, Python bytecode) under cacheDir, which it creates as needed.
func NewResolver(cacheDir string) *Resolver {
	return &Resolver{
		cacheDir: cacheDir,
		interps:  make(map[string]*interpreter),
		scripts:  make(map[string]string),
		builds:   make(map[string]*build),
	}
}

// Command returns the command that starts a sandbox process for fn.
// Errors are configuration errors that name what is missing: an unknown
// runtime, a missing code directory, interpreter or bootstrap, or a Go
// build that failed (with the compiler's output). A handler that cannot
// be imported is not an error here: the runtime reports it through the
// Runtime API's /init/error, as on AWS.
func (r *Resolver) Command(ctx context.Context, fn Function) (*Command, error) {
	info, ok := runtimes[fn.Runtime]
	if !ok {
		return nil, unsupportedError(fn)
	}
	dir, err := codeDir(fn)
	if err != nil {
		return nil, err
	}
	switch info.family {
	case familyPython:
		return r.python(ctx, fn, info, dir)
	case familyNode:
		return r.node(ctx, fn, info, dir)
	default:
		return r.provided(ctx, fn, info, dir)
	}
}

// codeDir checks fn.CodeDir and returns it as an absolute path.
func codeDir(fn Function) (string, error) {
	if fn.CodeDir == "" {
		return "", fmt.Errorf("function %s: no code directory given", fn.Name)
	}
	abs, err := filepath.Abs(fn.CodeDir)
	if err != nil {
		return "", fmt.Errorf("function %s: code directory %s: %w", fn.Name, fn.CodeDir, err)
	}
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("function %s: code directory %s does not exist", fn.Name, fn.CodeDir)
	}
	if err != nil {
		return "", fmt.Errorf("function %s: code directory %s: %w", fn.Name, fn.CodeDir, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("function %s: code directory %s is not a directory", fn.Name, fn.CodeDir)
	}
	return abs, nil
}

func (r *Resolver) python(ctx context.Context, fn Function, info runtimeInfo, dir string) (*Command, error) {
	py, err := r.pick(ctx, fn, info)
	if err != nil {
		return nil, err
	}
	// The bootstrap uses PYTHONPYCACHEPREFIX (3.8) and keeps to the 3.8
	// standard library.
	if py.version.major != 3 || py.version.minor < 8 {
		return nil, fmt.Errorf("function %s: runtime %s needs Python 3.8 or newer, but the closest installed (%s) is %s",
			fn.Name, fn.Runtime, py.path, py.version.text)
	}
	script, err := r.script("bootstrap.py", pythonScript)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	cmd := &Command{
		Path: py.path,
		Args: []string{script},
		Dir:  dir,
		Env: []string{
			"AWS_EXECUTION_ENV=AWS_Lambda_" + fn.Runtime,
			"PYTHONUNBUFFERED=1",
			// Bytecode goes to the cache, not into the code directory
			// (which is read-only on AWS); an inherited
			// PYTHONDONTWRITEBYTECODE would make every start recompile.
			"PYTHONPYCACHEPREFIX=" + filepath.Join(r.cacheDir, "pycache"),
			"PYTHONDONTWRITEBYTECODE=",
		},
		CacheDirs: []string{filepath.Join(r.cacheDir, "pycache")},
	}
	machine := fmt.Sprintf("%d.%d", py.version.major, py.version.minor)
	want := fmt.Sprintf("%d.%d", info.major, info.minor)
	switch {
	case info.deprecated != "":
		cmd.Warnings = append(cmd.Warnings, fmt.Sprintf("runtime %s is deprecated on AWS (since %s); running it on the machine's Python %s",
			fn.Runtime, info.deprecated, py.version.text))
	case machine != want:
		cmd.Warnings = append(cmd.Warnings, fmt.Sprintf("runtime %s runs on the machine's Python %s (%s), %s",
			fn.Runtime, py.version.text, py.path, mismatchHint(fn, "python"+want)))
	}
	return cmd, nil
}

func (r *Resolver) node(ctx context.Context, fn Function, info runtimeInfo, dir string) (*Command, error) {
	node, err := r.pick(ctx, fn, info)
	if err != nil {
		return nil, err
	}
	if node.version.major < 18 {
		return nil, fmt.Errorf("function %s: runtime %s needs Node.js 18 or newer, but the closest installed (%s) is %s",
			fn.Name, fn.Runtime, node.path, node.version.text)
	}
	script, err := r.script("bootstrap.cjs", nodeScript)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	// The same V8 flags as the managed runtime's launcher: a tenth of the
	// memory for the young generation, the rest for the old generation.
	args := []string{"--expose-gc", "--max-http-header-size=81920"}
	if fn.MemoryMB > 0 {
		newSpace := fn.MemoryMB / 10
		args = append(args,
			"--max-semi-space-size="+strconv.Itoa(max(newSpace/2, 1)),
			"--max-old-space-size="+strconv.Itoa(fn.MemoryMB-newSpace))
	}
	args = append(args, script)
	cmd := &Command{
		Path: node.path,
		Args: args,
		Dir:  dir,
		Env:  []string{"AWS_EXECUTION_ENV=AWS_Lambda_" + fn.Runtime},
	}
	switch {
	case info.deprecated != "":
		cmd.Warnings = append(cmd.Warnings, fmt.Sprintf("runtime %s is deprecated on AWS (since %s); running it on the machine's Node.js %s",
			fn.Runtime, info.deprecated, node.version.text))
	case node.version.major != info.major:
		cmd.Warnings = append(cmd.Warnings, fmt.Sprintf("runtime %s runs on the machine's Node.js %s (%s), %s",
			fn.Runtime, node.version.text, node.path, mismatchHint(fn, fmt.Sprintf("Node.js %d", info.major))))
	}
	return cmd, nil
}

func (r *Resolver) provided(ctx context.Context, fn Function, info runtimeInfo, dir string) (*Command, error) {
	var warnings []string
	if info.deprecated != "" {
		warnings = append(warnings, fmt.Sprintf("runtime %s is deprecated on AWS (since %s); use provided.al2023", fn.Runtime, info.deprecated))
	}
	path := filepath.Join(dir, "bootstrap")
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("function %s: %s needs an executable named bootstrap in %s, but %s is a directory",
			fn.Name, fn.Runtime, fn.CodeDir, filepath.Join(fn.CodeDir, "bootstrap"))
	case err == nil:
		if st.Mode().Perm()&0o111 == 0 {
			return nil, fmt.Errorf("function %s: %s is not executable (run chmod +x %s)",
				fn.Name, filepath.Join(fn.CodeDir, "bootstrap"), filepath.Join(fn.CodeDir, "bootstrap"))
		}
		return &Command{Path: path, Dir: dir, Warnings: warnings}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	hasGo, err := hasGoFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	if !hasGo {
		return nil, fmt.Errorf("function %s: %s needs an executable named bootstrap in %s", fn.Name, fn.Runtime, fn.CodeDir)
	}
	bin, err := r.goBuild(ctx, fn, dir)
	if err != nil {
		return nil, err
	}
	return &Command{Path: bin, Dir: dir, Warnings: warnings}, nil
}

// interpreter finds program on PATH and asks it for its version, once per
// Resolver (failures are not cached, so installing it fixes the function).
// versionArgs make the program print its version on the last line of its
// output; a line before it, when there is one, is the real executable's
// path, which replaces the PATH entry (so version-manager shims such as
// pyenv's run once, not at every sandbox start).
func (r *Resolver) interpreter(ctx context.Context, fn Function, program string, versionArgs []string) (*interpreter, error) {
	r.mu.Lock()
	in := r.interps[program]
	r.mu.Unlock()
	if in != nil {
		return in, nil
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("function %s: runtime %s needs %q, which is not on PATH", fn.Name, fn.Runtime, program)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, path, versionArgs...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("function %s: runtime %s: %s %s: %w: %s",
			fn.Name, fn.Runtime, path, strings.Join(versionArgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	v, err := parseVersion(lines[len(lines)-1])
	if err != nil {
		return nil, fmt.Errorf("function %s: runtime %s: version of %s: %w", fn.Name, fn.Runtime, path, err)
	}
	if len(lines) > 1 {
		if real := strings.TrimSpace(lines[len(lines)-2]); filepath.IsAbs(real) {
			path = real
		}
	}
	in = &interpreter{path: path, version: v}
	r.mu.Lock()
	if prev := r.interps[program]; prev != nil {
		in = prev
	} else {
		r.interps[program] = in
	}
	r.mu.Unlock()
	return in, nil
}

// script writes an embedded script to <cache>/bootstrap/<hash>/name once
// and returns its path. The directory is named by the content's hash and
// the file is renamed into place, so concurrent writers (other resolvers,
// other processes) are safe and never see a partial file.
func (r *Resolver) script(name string, content []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.scripts[name]; ok {
		return p, nil
	}
	sum := sha256.Sum256(content)
	dir := filepath.Join(r.cacheDir, "bootstrap", hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, name)
	if existing, err := os.ReadFile(path); err != nil || !bytes.Equal(existing, content) {
		if err := writeFileAtomic(path, content, 0o644); err != nil {
			return "", fmt.Errorf("write bootstrap script: %w", err)
		}
	}
	r.scripts[name] = path
	return path, nil
}

// writeFileAtomic creates path's directory and writes data to path
// atomically.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, perm)
}

// mismatchHint ends the warning about an interpreter whose version is not
// the runtime's.
func mismatchHint(fn Function, wanted string) string {
	if fn.Interpreter != "" {
		return "the interpreter the function names"
	}
	return "the closest installed (install " + wanted + ", or name an interpreter with the function's interpreter field)"
}
