package pulumirun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The uv and poetry toolchains of a Python program, driven as `pulumi
// install` drives them:
//
//   - uv: the virtualenv is the virtualenv option, else .venv beside the
//     nearest uv.lock, else beside the nearest pyproject.toml, else in the
//     project. With a uv.lock or pyproject.toml, `uv sync` (with
//     UV_PROJECT_ENVIRONMENT set to the virtualenv) installs the project's
//     dependencies; with only a requirements.txt, `uv venv` and `uv pip
//     install -r requirements.txt` (Pulumi would instead turn the
//     requirements into a pyproject.toml, rewriting the project; Portico
//     leaves the user's files alone).
//   - poetry: `poetry install` in the program's directory (main:, else the
//     project's), which needs a pyproject.toml;
//     the virtualenv is poetry's own (`poetry env info --path`), as in
//     Pulumi, and the virtualenv option is not read.
//
// As for pip, an install runs only when the files it reads changed: their
// SHA-256 is recorded in the virtualenv after each install.

// toolchainStamp, inside a uv or poetry virtualenv, holds the SHA-256 of
// the files its last install read.
const toolchainStamp = ".portico-toolchain-sha256"

// uvEnvironment makes sure the uv-managed virtualenv of proj is up to date
// and returns its python.
func uvEnvironment(ctx context.Context, proj *Project, out io.Writer) (string, error) {
	if _, err := exec.LookPath("uv"); err != nil {
		return "", fmt.Errorf("pulumi program %s: runtime option toolchain: uv: no uv on PATH (install it: pip install uv)", proj.Name)
	}
	dir, err := filepath.Abs(proj.dir)
	if err != nil {
		return "", fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	lock, hasLock := searchUp(dir, "uv.lock")
	pyproject, hasPyproject := searchUp(dir, "pyproject.toml")
	venv := proj.Virtualenv
	switch {
	case venv != "" && !filepath.IsAbs(venv):
		venv = filepath.Join(dir, venv)
	case venv != "":
	case hasLock:
		venv = filepath.Join(filepath.Dir(lock), ".venv")
	case hasPyproject:
		venv = filepath.Join(filepath.Dir(pyproject), ".venv")
	default:
		venv = filepath.Join(dir, ".venv")
	}
	python := filepath.Join(venv, "bin", "python")
	inputs := []string{filepath.Join(dir, "requirements.txt")}
	if hasLock || hasPyproject {
		if !hasLock { // uv sync writes it beside pyproject.toml
			lock = filepath.Join(filepath.Dir(pyproject), "uv.lock")
		}
		inputs = []string{lock, pyproject}
	}
	if _, fresh := stampFresh(venv, inputs); fresh {
		return python, nil
	}
	env := []string{"UV_PROJECT_ENVIRONMENT=" + venv}
	if hasLock || hasPyproject {
		fmt.Fprintf(out, "pulumi program %s: uv sync (into %s)\n", proj.Name, venv)
		if err := runTool(ctx, out, dir, env, "uv", "sync"); err != nil {
			return "", fmt.Errorf("pulumi program %s: uv sync failed; nothing was started: %w", proj.Name, err)
		}
	} else {
		fmt.Fprintf(out, "pulumi program %s: uv venv %s, then uv pip install -r requirements.txt\n", proj.Name, venv)
		if err := runTool(ctx, out, dir, env, "uv", "venv", "--quiet", "--allow-existing", venv); err != nil {
			return "", fmt.Errorf("pulumi program %s: uv venv failed; nothing was started: %w", proj.Name, err)
		}
		if _, err := os.Stat(inputs[0]); err == nil {
			if err := runTool(ctx, out, dir, env, "uv", "pip", "install", "--python", python, "-r", inputs[0]); err != nil {
				return "", fmt.Errorf("pulumi program %s: uv pip install -r requirements.txt failed; nothing was started: %w", proj.Name, err)
			}
		}
	}
	// Hash after the install: uv sync may have written uv.lock.
	want, _ := stampFresh(venv, inputs)
	return python, writeStamp(proj, venv, want)
}

// poetryEnvironment makes sure the poetry-managed virtualenv of proj is up
// to date and returns its python.
func poetryEnvironment(ctx context.Context, proj *Project, out io.Writer) (string, error) {
	if _, err := exec.LookPath("poetry"); err != nil {
		return "", fmt.Errorf("pulumi program %s: runtime option toolchain: poetry: no poetry on PATH (install it: pipx install poetry)", proj.Name)
	}
	dir, err := filepath.Abs(proj.mainDir) // as Pulumi: the program's directory (main:), else the project's
	if err != nil {
		return "", fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	pyproject := filepath.Join(dir, "pyproject.toml")
	if _, err := os.Stat(pyproject); err != nil {
		return "", fmt.Errorf("pulumi program %s: runtime option toolchain: poetry needs a pyproject.toml in %s (poetry init writes one)", proj.Name, dir)
	}
	inputs := []string{pyproject, filepath.Join(dir, "poetry.lock")}
	if venv, err := poetryVirtualenv(ctx, dir); err == nil {
		if _, fresh := stampFresh(venv, inputs); fresh {
			return filepath.Join(venv, "bin", "python"), nil
		}
	}
	fmt.Fprintf(out, "pulumi program %s: poetry install\n", proj.Name)
	if err := runTool(ctx, out, dir, nil, "poetry", "install", "--no-ansi", "--no-interaction"); err != nil {
		return "", fmt.Errorf("pulumi program %s: poetry install failed; nothing was started: %w", proj.Name, err)
	}
	venv, err := poetryVirtualenv(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("pulumi program %s: poetry env info --path: %w", proj.Name, err)
	}
	// Hash after the install: it may have written poetry.lock.
	want, _ := stampFresh(venv, inputs)
	return filepath.Join(venv, "bin", "python"), writeStamp(proj, venv, want)
}

// poetryVirtualenv is the virtualenv poetry uses for the project in dir;
// an error when it has none yet.
func poetryVirtualenv(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "poetry", "env", "info", "--path", "--no-ansi", "--no-interaction")
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return "", err
	}
	venv := strings.TrimSpace(string(b))
	if venv == "" {
		return "", errors.New("poetry has no virtualenv for the project yet")
	}
	return venv, nil
}

// stampFresh returns the SHA-256 of the files (an absent one counts as
// empty, so that creating it is a change) and whether venv holds a python
// and records that sum from its last install.
func stampFresh(venv string, files []string) (sum string, fresh bool) {
	h := sha256.New()
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(data))
		h.Write(data)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		return sum, false
	}
	got, _ := os.ReadFile(filepath.Join(venv, toolchainStamp))
	return sum, strings.TrimSpace(string(got)) == sum
}

func writeStamp(proj *Project, venv, sum string) error {
	if err := os.WriteFile(filepath.Join(venv, toolchainStamp), []byte(sum+"\n"), 0o644); err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	return nil
}

// searchUp finds name in dir or the nearest of its parents.
func searchUp(dir, name string) (string, bool) {
	for {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// tomlPosRE finds the position uv and poetry give a TOML syntax error.
var tomlPosRE = regexp.MustCompile(`(?i)line (\d+),? col(?:umn)? (\d+)`)

// runTool runs a toolchain command (uv, poetry) in dir with env added, its
// output going to out as progress. Its error holds the tool's last lines
// of output, led by pyproject.toml:LINE:COL when they place a TOML error.
func runTool(ctx context.Context, out io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	tail := &tailBuffer{max: 4 << 10}
	w := io.MultiWriter(out, tail)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(tail.String())
		if m := tomlPosRE.FindStringSubmatch(msg); m != nil && strings.Contains(msg, "pyproject.toml") {
			msg = fmt.Sprintf("%s:%s:%s: %s", filepath.Join(dir, "pyproject.toml"), m[1], m[2], msg)
		}
		return fmt.Errorf("%s %s: %w:\n%s", name, args[0], err, msg)
	}
	return nil
}
