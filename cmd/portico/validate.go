package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// validateCommand is `portico validate`: cobra parses its flags into
// validateFlags, then cmdValidate runs.
func validateCommand() *cobra.Command {
	f := &validateFlags{}
	cmd := &cobra.Command{
		Use:     "validate [DIR | FILE | -f FILE]",
		Short:   "Check a spec or Pulumi program as up would, without starting anything",
		Long:    "validate loads a spec (portico.yaml) or a Pulumi program and compiles the system the way up does,\nwithout starting anything: everything up would refuse, validate refuses, with file:line:col.",
		Example: "  portico validate\n  portico validate -f examples/seed/portico.yaml\n  portico validate examples/pulumi-go",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdValidate(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.fs = fs
	f.file = fs.StringP("file", "f", "portico.yaml", "spec file")
	f.stack = fs.String("stack", "dev", "for a Pulumi program: the stack it runs as")
	f.timeout = fs.Duration("program-timeout", pulumirun.DefaultTimeout, "for a Pulumi Go, Python or Node.js program: how long it may run")
	return cmd
}

// validateFlags are the flags of `portico validate`.
type validateFlags struct {
	fs      *pflag.FlagSet // target asks it whether -f was given
	file    *string
	stack   *string
	timeout *time.Duration
}

func cmdValidate(ctx context.Context, f *validateFlags, pos []string, stdout, stderr io.Writer) error {
	file, stack, timeout := f.file, f.stack, f.timeout
	// portico validate [DIR | FILE]: a Pulumi program is run as `portico up`
	// runs it (validate means deploy), against no listener.
	specFile, program, err := target(f.fs, *file, pos)
	if err != nil {
		return fmt.Errorf("%w\nusage: portico validate [-f portico.yaml | DIR | FILE]", err)
	}
	var sp *spec.Spec
	var warnings []string
	if program == "" {
		sp, err = spec.Load(specFile)
	} else {
		specFile = filepath.Join(program, pulumiyaml.ProjectFile)
		var proj *pulumirun.Project
		if proj, err = pulumirun.ReadProject(program); err == nil {
			endpoint := func(string) string { return "http://127.0.0.1:8080" }
			var p *pulumiyaml.Program
			if proj.Runtime == "yaml" {
				p, err = pulumiyaml.Load(program, pulumiyaml.Options{APIEndpoint: endpoint})
			} else {
				p, err = pulumirun.Run(ctx, pulumirun.Config{Dir: program, Stack: *stack, Timeout: *timeout, APIEndpoint: endpoint, Output: stderr})
			}
			if err == nil {
				sp, warnings = p.Spec, p.Warnings
			}
		}
	}
	if err == nil {
		// The second half of the config pass: compile the system the way
		// up does, without starting anything.
		err = control.Check(ctx, sp, control.Config{Region: region, AccountID: accountID})
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	for _, w := range sp.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	routes := 0
	for _, a := range sp.APIs {
		routes += len(a.Routes)
	}
	fmt.Fprintf(stdout, "%s: ok (%d functions, %d APIs, %d routes)\n", specFile, len(sp.Functions), len(sp.APIs), routes)
	return nil
}
