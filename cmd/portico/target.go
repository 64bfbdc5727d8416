package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/spf13/pflag"
)

// target decides what `portico up` and `portico validate` run from their
// arguments, the way users expect:
//
//   - DIR: the Pulumi program DIR/Pulumi.yaml, else the spec DIR/portico.yaml;
//   - FILE: a Pulumi.yaml runs its directory's program; any other YAML
//     file is a spec, as with -f FILE;
//   - nothing (and no -f): portico.yaml in the current directory, else a
//     Pulumi program there.
//
// It returns the spec file or the program's directory (one of them empty).
func target(fs *pflag.FlagSet, file string, pos []string) (specFile, program string, err error) {
	fileSet := fs.Changed("file")
	switch {
	case len(pos) > 1:
		return "", "", fmt.Errorf("too many arguments: %s (give one directory or file)", strings.Join(pos, " "))
	case len(pos) == 1 && fileSet:
		return "", "", fmt.Errorf("give either -f %s or %s, not both", file, pos[0])
	case len(pos) == 1:
		arg := pos[0]
		fi, err := os.Stat(arg)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", arg, err)
		}
		if !fi.IsDir() {
			if filepath.Base(arg) == pulumiyaml.ProjectFile {
				return "", filepath.Dir(arg), nil
			}
			return arg, "", nil
		}
		if exists(filepath.Join(arg, pulumiyaml.ProjectFile)) {
			return "", arg, nil
		}
		if exists(filepath.Join(arg, "portico.yaml")) {
			return filepath.Join(arg, "portico.yaml"), "", nil
		}
		return "", "", fmt.Errorf("%s holds neither %s (a Pulumi program) nor portico.yaml (a spec)", arg, pulumiyaml.ProjectFile)
	case !fileSet && !exists(file) && exists(pulumiyaml.ProjectFile):
		return "", ".", nil
	}
	return file, "", nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
