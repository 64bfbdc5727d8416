package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
)

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "portico.yaml", "spec file")
	stack := fs.String("stack", "dev", "for a Pulumi program: the stack it runs as")
	timeout := fs.Duration("program-timeout", pulumirun.DefaultTimeout, "for a Pulumi Go, Python or Node.js program: how long it may run")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	// portico validate [DIR | FILE]: a Pulumi program is run as `portico up`
	// runs it (validate means deploy), against no listener.
	specFile, program, err := target(fs, *file, pos)
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
