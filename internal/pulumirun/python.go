package pulumirun

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pythonDriver runs a Python program through the Pulumi SDK's own entry
// points (see the file's doc string).
//
//go:embed python_driver.py
var pythonDriver []byte

// defaultVirtualenv is where a Python program's virtualenv goes when
// Pulumi.yaml names none: the directory `pulumi new python` names.
const defaultVirtualenv = "venv"

// requirementsStamp, inside the virtualenv, holds the SHA-256 of the
// requirements.txt last installed into it.
const requirementsStamp = ".portico-requirements-sha256"

// pythonCommand makes sure the program's virtualenv exists and holds its
// dependencies, with its toolchain (pip, uv or poetry: installing again
// only when the files the install reads changed, with the tool's output
// as progress), writes the driver into work and returns the command line
// that runs the program.
func pythonCommand(ctx context.Context, proj *Project, work string, out io.Writer) ([]string, error) {
	var python string
	var err error
	switch proj.Toolchain {
	case "", "pip":
		python, err = pipEnvironment(ctx, proj, out)
	case "uv":
		python, err = uvEnvironment(ctx, proj, out)
	case "poetry":
		python, err = poetryEnvironment(ctx, proj, out)
	default:
		return nil, fmt.Errorf("pulumi program %s: runtime option toolchain: %q: Pulumi knows pip, uv and poetry", proj.Name, proj.Toolchain)
	}
	if err != nil {
		return nil, err
	}
	driver := filepath.Join(work, "portico_pulumi_driver.py")
	if err := os.WriteFile(driver, pythonDriver, 0o644); err != nil {
		return nil, fmt.Errorf("pulumi program %s: write driver: %w", proj.Name, err)
	}
	main, err := filepath.Abs(proj.mainDir)
	if err != nil {
		return nil, fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	if proj.mainFile != "" {
		main = filepath.Join(main, proj.mainFile)
	}
	return []string{python, "-u", driver, main}, nil
}

// pipEnvironment makes sure the pip toolchain's virtualenv (the
// virtualenv option, default venv) holds requirements.txt and returns its
// python.
func pipEnvironment(ctx context.Context, proj *Project, out io.Writer) (string, error) {
	venv := proj.Virtualenv
	if venv == "" {
		venv = defaultVirtualenv
	}
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(proj.dir, venv)
	}
	venv, err := filepath.Abs(venv)
	if err != nil {
		return "", fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	if err := ensureVirtualenv(ctx, proj, venv, out); err != nil {
		return "", err
	}
	return filepath.Join(venv, "bin", "python"), nil
}

// ensureVirtualenv creates venv with the python3 on PATH (or
// PULUMI_PYTHON_CMD, as Pulumi reads it) when it does not exist, and
// installs requirements.txt into it when the file's hash differs from the
// one recorded at the last install.
func ensureVirtualenv(ctx context.Context, proj *Project, venv string, out io.Writer) error {
	python := filepath.Join(venv, "bin", "python")
	reqFile, err := filepath.Abs(filepath.Join(proj.dir, "requirements.txt"))
	if err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	req, err := os.ReadFile(reqFile)
	if errors.Is(err, os.ErrNotExist) {
		req = nil
	} else if err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	sum := sha256.Sum256(req)
	want := hex.EncodeToString(sum[:])
	if _, err := os.Stat(python); err != nil {
		base := os.Getenv("PULUMI_PYTHON_CMD")
		if base == "" {
			base = "python3"
		}
		fmt.Fprintf(out, "pulumi program %s: creating the virtualenv %s\n", proj.Name, venv)
		if err := runStep(ctx, out, proj.dir, base, "-m", "venv", venv); err != nil {
			return fmt.Errorf("pulumi program %s: create the virtualenv %s: %w", proj.Name, venv, err)
		}
	} else if got, _ := os.ReadFile(filepath.Join(venv, requirementsStamp)); strings.TrimSpace(string(got)) == want {
		return nil
	}
	if req != nil {
		fmt.Fprintf(out, "pulumi program %s: installing requirements.txt into %s (the first install takes a minute)\n", proj.Name, venv)
		if err := runStep(ctx, out, proj.dir, python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "-r", reqFile); err != nil {
			return fmt.Errorf("pulumi program %s: pip install -r requirements.txt failed (%w); nothing was started", proj.Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(venv, requirementsStamp), []byte(want+"\n"), 0o644); err != nil {
		return fmt.Errorf("pulumi program %s: %w", proj.Name, err)
	}
	return nil
}

// runStep runs a preparation step (venv, pip, npm) in dir with its output
// going to out, as progress.
func runStep(ctx context.Context, out io.Writer, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "PIP_NO_INPUT=1")
	return cmd.Run()
}

// programError reads the error a program's driver recorded in file (the
// Python driver writes one when the program raises) and formats it at the
// program's own line: "DIR/__main__.py:LINE: NameError: ...". It is ""
// when nothing was recorded.
func programError(proj *Project, file string) string {
	data, err := os.ReadFile(file)
	if err != nil || len(data) == 0 {
		return ""
	}
	var rec struct {
		File      string `json:"file"`
		Line      int    `json:"line"`
		Message   string `json:"message"`
		Traceback string `json:"traceback"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return strings.TrimSpace(string(data))
	}
	msg := rec.Message
	if rec.File != "" {
		msg = fmt.Sprintf("%s:%d: %s", filepath.Join(proj.dir, rec.File), rec.Line, rec.Message)
	}
	if rec.Traceback != "" {
		msg += "\n\n" + strings.TrimSpace(rec.Traceback)
	}
	return msg
}
