package bootstrap

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
)

// Version queries: the real executable's path, then the version, one per
// line (see Resolver.interpreter).
var (
	pythonVersionArgs = []string{"-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"}
	nodeVersionArgs   = []string{"-e", "console.log(process.execPath); console.log(process.version)"}
)

// Interpreter returns the interpreter that runs fn, a python3.x or nodejsN.x
// function: its absolute path and version (e.g. "3.11.7", "v20.20.2"). It
// is the one Command starts, so that dependencies installed with it (pip,
// npm) match the runtime process.
func (r *Resolver) Interpreter(ctx context.Context, fn Function) (path, version string, err error) {
	info, ok := runtimes[fn.Runtime]
	if !ok {
		return "", "", unsupportedError(fn)
	}
	if info.family == familyProvided {
		return "", "", fmt.Errorf("function %s: runtime %s has no interpreter", fn.Name, fn.Runtime)
	}
	in, err := r.pick(ctx, fn, info)
	if err != nil {
		return "", "", err
	}
	return in.path, in.version.text, nil
}

// pick chooses the interpreter of a Python or Node.js function.
// fn.Interpreter, when set, names it (a program on PATH or a path).
// Otherwise the installed version closest to the runtime's wins: the exact
// one (python3.13 on PATH for python3.13, node22 for nodejs22.x) when
// present, else among the candidates found on PATH (python3.N and python3;
// nodeN and node) the nearest version, the newer on a tie.
func (r *Resolver) pick(ctx context.Context, fn Function, info runtimeInfo) (*interpreter, error) {
	args := pythonVersionArgs
	if info.family == familyNode {
		args = nodeVersionArgs
	}
	if fn.Interpreter != "" {
		return r.interpreter(ctx, fn, fn.Interpreter, args)
	}
	var names []string
	if info.family == familyPython {
		names = append(names, fmt.Sprintf("python%d.%d", info.major, info.minor))
		for minor := 8; minor <= 20; minor++ {
			if minor != info.minor {
				names = append(names, "python3."+strconv.Itoa(minor))
			}
		}
		names = append(names, "python3")
	} else {
		names = append(names, "node"+strconv.Itoa(info.major))
		for major := 18; major <= 30; major++ {
			if major != info.major {
				names = append(names, "node"+strconv.Itoa(major))
			}
		}
		names = append(names, "node")
	}
	var (
		best     *interpreter
		bestDist = -1
		firstErr error
	)
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			continue
		}
		in, err := r.interpreter(ctx, fn, name, args)
		if err != nil {
			// e.g. a version manager's shim for a version not installed
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		d := distance(info, in.version)
		if best == nil || d < bestDist || d == bestDist && newer(in.version, best.version) {
			best, bestDist = in, d
		}
		if d == 0 {
			break
		}
	}
	if best == nil {
		if firstErr != nil {
			return nil, firstErr
		}
		program := "python3"
		if info.family == familyNode {
			program = "node"
		}
		return nil, fmt.Errorf("function %s: runtime %s needs %q, which is not on PATH", fn.Name, fn.Runtime, program)
	}
	return best, nil
}

// distance is how far an interpreter's version is from the runtime's: the
// difference of minors for Python 3, of majors for Node.js.
func distance(info runtimeInfo, v version) int {
	d := v.major - info.major
	if info.family == familyPython {
		d = (v.major-info.major)*100 + v.minor - info.minor
	}
	if d < 0 {
		d = -d
	}
	return d
}

func newer(a, b version) bool {
	if a.major != b.major {
		return a.major > b.major
	}
	if a.minor != b.minor {
		return a.minor > b.minor
	}
	return a.patch > b.patch
}
