package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/spec"
)

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "portico.yaml", "spec file")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	sp, err := spec.Load(*file)
	if err == nil {
		// The second half of the config pass: compile the system the way
		// up does, without starting anything.
		err = control.Check(ctx, sp, control.Config{Region: region, AccountID: accountID})
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}
	for _, w := range sp.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	routes := 0
	for _, a := range sp.APIs {
		routes += len(a.Routes)
	}
	fmt.Fprintf(stdout, "%s: ok (%d functions, %d APIs, %d routes)\n", *file, len(sp.Functions), len(sp.APIs), routes)
	return nil
}
