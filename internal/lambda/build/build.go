// Package build prepares the files a function runs with, as `sam build`
// and Lambda's layer extraction give them: a Python function's
// requirements.txt installed with pip, a Node.js function's package.json
// installed with npm (when it ships no node_modules), and its layers merged
// into one directory, in order.
//
// Every result lives under the builder's directory, keyed by what it was
// made from, so it is reused across reloads and restarts and needs no
// network once built:
//
//	deps/python-KEY/    pip install -r requirements.txt --target (KEY: the
//	                    file's content and the interpreter's version)
//	deps/node-KEY/      node_modules of npm ci / npm install (KEY: package.json,
//	                    the lock file and Node.js's version)
//	code/NAME-KEY/      the code directory with its dependencies (hard links
//	                    to deps/, the code copied over them)
//	layers/KEY/         the layers merged (KEY: their content)
//
// The user's code directory is never written. A directory appears under
// its final name only when complete (built under a temporary name, then
// renamed), so a failed or interrupted build leaves nothing that a later
// run would take for done.
package build

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
)

// Function is what a build needs to know about a function.
type Function struct {
	Name    string
	Runtime string // python3.x, nodejsN.x, provided...
	CodeDir string // absolute
	// Interpreter is the function's own choice of python or node ("" for
	// the closest installed); dependencies are installed with the
	// interpreter that will run them.
	Interpreter string
	Layers      []string // directories or zip files, absolute, in order
}

// Result is what the runner is given.
type Result struct {
	// CodeDir is the function's code directory: the user's own when there
	// is nothing to install, else a build copy with the dependencies.
	CodeDir string
	// OptDir is the function's layers merged in order; "" for none.
	OptDir string
}

// Interpreters finds the interpreter that runs a function (its absolute
// path and version); BootstrapInterpreters is the one the runner uses.
type Interpreters interface {
	Interpreter(ctx context.Context, fn Function) (path, version string, err error)
}

// BootstrapInterpreters adapts bootstrap.Resolver, so that dependencies
// are installed with the interpreter that runs the function.
type BootstrapInterpreters struct{ R *bootstrap.Resolver }

var _ Interpreters = BootstrapInterpreters{}

// Interpreter returns the interpreter bootstrap.Resolver starts fn with.
func (b BootstrapInterpreters) Interpreter(ctx context.Context, fn Function) (string, string, error) {
	return b.R.Interpreter(ctx, bootstrap.Function{Name: fn.Name, Runtime: fn.Runtime, CodeDir: fn.CodeDir, Interpreter: fn.Interpreter})
}

// Config configures a Builder.
type Config struct {
	// Dir holds the builds (see the package documentation).
	Dir string
}

// Deps are a Builder's collaborators.
type Deps struct {
	// Logger receives install progress (packages collected, counts,
	// elapsed time). Default: discard.
	Logger       *slog.Logger
	Interpreters Interpreters
}

// Builder builds functions. It is safe for concurrent use; builds of the
// same key are serialised.
type Builder struct {
	dir    string
	log    *slog.Logger
	interp Interpreters

	mu    sync.Mutex
	locks map[string]*sync.Mutex // by output directory
}

// New returns a Builder.
func New(cfg Config, deps Deps) *Builder {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Builder{dir: cfg.Dir, log: deps.Logger, interp: deps.Interpreters, locks: map[string]*sync.Mutex{}}
}

// lock serialises the builds of one output directory in this process.
func (b *Builder) lock(dir string) func() {
	b.mu.Lock()
	l := b.locks[dir]
	if l == nil {
		l = &sync.Mutex{}
		b.locks[dir] = l
	}
	b.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Build installs fn's dependencies and merges its layers, or reuses the
// results of an earlier build of the same inputs. Errors name the function
// and carry the installer's own message (pip's or npm's, naming the
// package that failed).
func (b *Builder) Build(ctx context.Context, fn Function) (Result, error) {
	res := Result{CodeDir: fn.CodeDir}
	var err error
	if len(fn.Layers) > 0 {
		if res.OptDir, err = b.layers(fn); err != nil {
			return Result{}, fmt.Errorf("function %s: layers: %w", fn.Name, err)
		}
	}
	var deps, kind string
	switch {
	case strings.HasPrefix(fn.Runtime, "python"):
		deps, err = b.python(ctx, fn)
		kind = "python"
	case strings.HasPrefix(fn.Runtime, "nodejs"):
		deps, err = b.node(ctx, fn)
		kind = "node"
	}
	if err != nil {
		return Result{}, err
	}
	if deps == "" {
		return res, nil
	}
	if res.CodeDir, err = b.codeCopy(fn, kind, deps); err != nil {
		return Result{}, fmt.Errorf("function %s: build copy of the code: %w", fn.Name, err)
	}
	return res, nil
}

// python installs requirements.txt, when there is one, and returns the
// directory of the installed packages.
func (b *Builder) python(ctx context.Context, fn Function) (string, error) {
	req, err := os.ReadFile(filepath.Join(fn.CodeDir, "requirements.txt"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("function %s: %w", fn.Name, err)
	}
	if len(requirementLines(req)) == 0 {
		return "", nil
	}
	if b.interp == nil {
		return "", fmt.Errorf("function %s: requirements.txt: no interpreter finder configured", fn.Name)
	}
	py, ver, err := b.interp.Interpreter(ctx, fn)
	if err != nil {
		return "", err
	}
	dest := filepath.Join(b.dir, "deps", "python-"+key("python", ver, string(req)))
	return dest, b.install(ctx, fn, dest, installer{
		tool: "pip", what: "requirements.txt", version: "Python " + ver, wanted: len(requirementLines(req)),
		prepare: func(string) error { return nil },
		cmd: func(tmp string) *exec.Cmd {
			c := exec.CommandContext(ctx, py, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
				"--no-compile", "--disable-pip-version-check", "-r", filepath.Join(fn.CodeDir, "requirements.txt"), "--target", tmp)
			c.Dir = fn.CodeDir // relative paths in the file are the user's
			c.Env = append(os.Environ(), "PIP_ROOT_USER_ACTION=ignore", "PYTHONDONTWRITEBYTECODE=1")
			return c
		},
		progress: func(line string) (string, bool) {
			name, ok := strings.CutPrefix(line, "Collecting ")
			return strings.Fields(name + " ")[0], ok
		},
		count: func(dir string) int {
			m, _ := filepath.Glob(filepath.Join(dir, "*.dist-info"))
			return len(m)
		},
		failed: func(line string) bool { return strings.HasPrefix(line, "ERROR:") },
	})
}

// requirementLines are the lines of a requirements file that name
// something (not blank, not comments).
func requirementLines(req []byte) []string {
	var out []string
	for _, l := range strings.Split(string(req), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// node installs package.json's dependencies when the code ships no
// node_modules, and returns the directory holding the node_modules.
func (b *Builder) node(ctx context.Context, fn Function) (string, error) {
	pj, err := os.ReadFile(filepath.Join(fn.CodeDir, "package.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("function %s: %w", fn.Name, err)
	}
	if st, err := os.Stat(filepath.Join(fn.CodeDir, "node_modules")); err == nil && st.IsDir() {
		return "", nil // shipped with the code, as Lambda takes it
	}
	var manifest struct {
		Dependencies map[string]any `json:"dependencies"`
	}
	if err := json.Unmarshal(pj, &manifest); err != nil {
		return "", fmt.Errorf("function %s: package.json: %w", fn.Name, err)
	}
	if len(manifest.Dependencies) == 0 {
		return "", nil
	}
	if b.interp == nil {
		return "", fmt.Errorf("function %s: package.json: no interpreter finder configured", fn.Name)
	}
	node, ver, err := b.interp.Interpreter(ctx, fn)
	if err != nil {
		return "", err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("function %s: package.json has dependencies and node_modules is absent, but npm is not on PATH", fn.Name)
	}
	lockName := ""
	var lock []byte
	for _, n := range []string{"npm-shrinkwrap.json", "package-lock.json"} {
		if lock, err = os.ReadFile(filepath.Join(fn.CodeDir, n)); err == nil {
			lockName = n
			break
		}
	}
	dest := filepath.Join(b.dir, "deps", "node-"+key("node", ver, string(pj), lockName, string(lock)))
	args := []string{"install", "--no-package-lock"}
	what := "package.json"
	if lockName != "" {
		args, what = []string{"ci"}, lockName
	}
	args = append(args, "--omit=dev", "--no-audit", "--no-fund", "--loglevel=http")
	return dest, b.install(ctx, fn, dest, installer{
		tool: "npm", what: what, version: "Node.js " + ver, wanted: len(manifest.Dependencies),
		prepare: func(tmp string) error {
			for _, n := range []string{"package.json", lockName} {
				if n == "" {
					continue
				}
				if err := copyFile(filepath.Join(fn.CodeDir, n), filepath.Join(tmp, n), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		cmd: func(tmp string) *exec.Cmd {
			c := exec.CommandContext(ctx, npm, args...)
			c.Dir = tmp
			// npm runs install scripts with the node first on PATH: the
			// function's.
			c.Env = append(os.Environ(), "PATH="+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"),
				"npm_config_update_notifier=false")
			return c
		},
		progress: func(line string) (string, bool) {
			// npm http fetch GET 200 https://registry.npmjs.org/ms/-/ms-2.1.3.tgz 12ms
			if !strings.HasPrefix(line, "npm http fetch GET 200 ") || !strings.HasSuffix(strings.Fields(line + " x")[5], ".tgz") {
				return "", false
			}
			u := strings.Fields(line)[5]
			return strings.TrimSuffix(u[strings.LastIndex(u, "/")+1:], ".tgz"), true
		},
		count: countNodeModules,
		failed: func(line string) bool {
			return strings.HasPrefix(line, "npm error") || strings.HasPrefix(line, "npm ERR!")
		},
	})
}

// installer describes one package manager run.
type installer struct {
	tool, what, version string
	wanted              int // packages asked for, for the first progress line
	prepare             func(tmp string) error
	cmd                 func(tmp string) *exec.Cmd
	progress            func(line string) (pkg string, ok bool) // a package being fetched
	count               func(dir string) int                    // packages installed
	failed              func(line string) bool                  // a line of the tool's error message
}

// install runs in into a temporary directory next to dest and renames it
// to dest, unless dest exists already.
func (b *Builder) install(ctx context.Context, fn Function, dest string, in installer) error {
	built, err := b.once(dest, func(tmp string) error { return b.run(ctx, fn, tmp, in) })
	if err != nil {
		return fmt.Errorf("function %s: %w", fn.Name, err)
	}
	if !built {
		b.log.Debug("dependencies up to date", "function", fn.Name, "dir", dest)
	}
	return nil
}

// run runs one installer into tmp, reporting progress.
func (b *Builder) run(ctx context.Context, fn Function, tmp string, in installer) error {
	if err := in.prepare(tmp); err != nil {
		return err
	}
	start := time.Now()
	b.log.Info("installing dependencies", "function", fn.Name, "from", in.what, "packages", in.wanted, "with", in.tool, "for", in.version)
	c := in.cmd(tmp)
	out, err := c.StdoutPipe()
	if err != nil {
		return err
	}
	c.Stderr = c.Stdout // one stream, in order
	if err := c.Start(); err != nil {
		return fmt.Errorf("%s: %w", in.tool, err)
	}
	var (
		errLines []string
		tail     []string
		fetched  int
	)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if pkg, ok := in.progress(line); ok {
			fetched++
			b.log.Info("installing dependencies", "function", fn.Name, "fetching", pkg, "n", fetched,
				"elapsed", time.Since(start).Round(100*time.Millisecond))
		}
		if in.failed(line) {
			errLines = append(errLines, line)
		}
		tail = append(tail, line)
		if len(tail) > 20 {
			tail = tail[1:]
		}
	}
	if err := c.Wait(); err != nil {
		msg := errLines
		if len(msg) == 0 {
			msg = tail
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s install stopped: %w", in.tool, ctx.Err())
		}
		return fmt.Errorf("installing %s with %s failed (%v):\n%s", in.what, in.tool, err, strings.Join(msg, "\n"))
	}
	b.log.Info("dependencies installed", "function", fn.Name, "packages", in.count(tmp), "elapsed", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// once builds dir with fill unless it exists: fill works in a temporary
// directory next to dir, renamed to dir when fill succeeds, so dir
// appears complete or not at all (another process's build of the same
// key, renamed first, wins). It reports whether it built.
func (b *Builder) once(dir string, fill func(tmp string) error) (bool, error) {
	defer b.lock(dir)()
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left
	if err := fill(tmp); err != nil {
		return false, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
			return false, err
		}
	}
	return true, nil
}

// countNodeModules counts the packages of dir/node_modules (scoped ones
// one by one, nested ones too, as npm lists them in its hidden lock file).
func countNodeModules(dir string) int {
	var lock struct {
		Packages map[string]json.RawMessage `json:"packages"`
	}
	if data, err := os.ReadFile(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && json.Unmarshal(data, &lock) == nil {
		return len(lock.Packages)
	}
	n := 0
	entries, _ := os.ReadDir(filepath.Join(dir, "node_modules"))
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), "."):
		case strings.HasPrefix(e.Name(), "@"):
			sub, _ := os.ReadDir(filepath.Join(dir, "node_modules", e.Name()))
			n += len(sub)
		default:
			n++
		}
	}
	return n
}

// codeCopy returns a directory holding the installed dependencies (hard
// links into deps) with the code copied over them, building it unless a
// copy of the same code and dependencies exists. Older copies of the
// function beyond the previous one are removed.
func (b *Builder) codeCopy(fn Function, kind, deps string) (string, error) {
	rev, err := revision(fn.CodeDir)
	if err != nil {
		return "", err
	}
	prefix := safeName(fn.Name) + "-"
	dest := filepath.Join(b.dir, "code", prefix+key(kind, deps, rev))
	built, err := b.once(dest, func(tmp string) error {
		if err := linkTree(deps, tmp); err != nil {
			return fmt.Errorf("link dependencies: %w", err)
		}
		if err := copyTree(fn.CodeDir, tmp, skipCodeDir); err != nil {
			return fmt.Errorf("copy code: %w", err)
		}
		return nil
	})
	if err != nil || !built {
		return dest, err
	}
	prune(filepath.Dir(dest), prefix, dest)
	return dest, nil
}

// prune removes the code copies of one function (names starting with
// prefix) except keep and the newest other one, which sandboxes of the
// previous version may still be draining from.
func prune(dir, prefix, keep string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type copyDir struct {
		path string
		mod  time.Time
	}
	var old []copyDir
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) || p == keep || !isKey(e.Name()[len(prefix):]) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			old = append(old, copyDir{p, fi.ModTime()})
		}
	}
	slices.SortFunc(old, func(a, b copyDir) int { return b.mod.Compare(a.mod) })
	for i, c := range old {
		if i >= 1 {
			os.RemoveAll(c.path)
		}
	}
}

// skipCodeDir is what a code copy leaves out, as the revision does:
// hidden directories (.git, .portico), caches and node_modules.
func skipCodeDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "__pycache__" || name == "node_modules"
}

// revision summarises a code directory by the names, sizes, modes and
// modification times of its files.
func revision(dir string) (string, error) {
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipCodeDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "%s:%d:%o:%d;", p, fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read code: %w", err)
	}
	return sb.String(), nil
}

// key is 16 hex characters of the SHA-256 of parts.
func key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func isKey(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// safeName keeps a function name usable as a file name (it already is:
// letters, digits, - and _).
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r == 0 {
			return '_'
		}
		return r
	}, s)
}
