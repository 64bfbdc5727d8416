package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	exportpulumi "github.com/portico-dev/portico/internal/export/pulumi"
	"github.com/portico-dev/portico/internal/spec"
)

// cmdExport handles `portico export pulumi [-f FILE] -o DIR`: it writes the
// spec as a Pulumi program (Go, Python or TypeScript) that deploys the same
// system to AWS.
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: portico export pulumi [-f portico.yaml] [--language go|python|typescript] -o DIR")
		fs.PrintDefaults()
	}
	file := fs.String("f", spec.DefaultFile, "spec file")
	out := fs.String("o", "", "output directory for the Pulumi program (required)")
	language := fs.String("language", "go", "language of the program: go, python or typescript")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "pulumi" {
		fs.Usage()
		return fmt.Errorf("export: want the target \"pulumi\", got %q", pos)
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("export pulumi: -o DIR is required")
	}
	lang, err := exportpulumi.ParseLanguage(*language)
	if err != nil {
		return err
	}
	sp, err := spec.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}
	w, err := exportpulumi.WriteLanguage(sp, *out, lang)
	if err != nil {
		return err
	}
	for _, f := range w.Files {
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(*out, f))
	}
	for _, d := range append(w.Functions, w.Buckets...) {
		fmt.Fprintf(stdout, "copied %s/\n", filepath.Join(*out, d))
	}
	for _, n := range w.NotExported {
		fmt.Fprintf(stdout, "%s\n", n)
	}
	fmt.Fprintf(stdout, "next: see %s for how to pulumi up\n", filepath.Join(*out, "README.md"))
	return nil
}
