package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	exportpulumi "github.com/portico-dev/portico/internal/export/pulumi"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/spf13/cobra"
)

// exportCommand is `portico export`: cobra parses its flags into
// exportFlags, then cmdExport runs.
func exportCommand() *cobra.Command {
	f := &exportFlags{}
	cmd := &cobra.Command{
		Use:   "export pulumi [-f FILE] [--language go|python|typescript] -o DIR",
		Short: "Write the spec as a Pulumi program that deploys the same system to AWS",
		Long: `export pulumi writes the spec as a Pulumi program (Go, Python or TypeScript) that deploys the same system to AWS
(API Gateway, Lambda, S3, IAM), with the functions' code and a README saying how to
pulumi up; what does not carry over is listed.`,
		Example:   "  portico export pulumi -o ./infra\n  portico export pulumi -f examples/seed/portico.yaml --language python -o ../seed-aws",
		ValidArgs: []string{"pulumi"},
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdExport(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.usage = func() { fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString()) }
	f.file = fs.StringP("file", "f", spec.DefaultFile, "spec file")
	f.out = fs.StringP("output-dir", "o", "", "output directory for the Pulumi program (required)")
	f.language = fs.String("language", "go", "language of the program: go, python or typescript")
	return cmd
}

// exportFlags are the flags of `portico export`.
type exportFlags struct {
	usage    func() // prints the usage to stderr
	file     *string
	out      *string
	language *string
}

// cmdExport handles `portico export pulumi [-f FILE] -o DIR`: it writes the
// spec as a Pulumi program (Go, Python or TypeScript) that deploys the same
// system to AWS.
func cmdExport(ctx context.Context, f *exportFlags, pos []string, stdout, stderr io.Writer) error {
	file, out, language := f.file, f.out, f.language
	if len(pos) != 1 || pos[0] != "pulumi" {
		f.usage()
		return fmt.Errorf("export: want the target \"pulumi\", got %q", pos)
	}
	if *out == "" {
		f.usage()
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
