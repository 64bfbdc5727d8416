package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/certs"
	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/system"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// registerTLS adds the flags of the gateway's TLS listener and HTTP/2 to
// the flags of `portico up`.
func registerTLS(fs *pflag.FlagSet, o *system.TLSOptions) {
	fs.StringVar(&o.Listen, "tls-listen", "", "also serve the HTTP APIs over TLS (HTTPS, HTTP/2) on this address; with no --tls-cert, certificates come from the local CA (see `portico tls ca`)")
	fs.StringArrayVar(&o.CertFiles, "tls-cert", nil, "certificate chain (PEM) for --tls-listen; repeat with --tls-key for several domain names (chosen by SNI)")
	fs.StringArrayVar(&o.KeyFiles, "tls-key", nil, "private key (PEM) of the --tls-cert given at the same position")
	fs.BoolVar(&o.H2C, "h2c", false, "also accept HTTP/2 without TLS (prior knowledge) on --listen")
}

// tlsCommand is `portico tls`; its one subcommand, `tls ca`, is cmdTLS.
func tlsCommand() *cobra.Command {
	tls := &cobra.Command{
		Use:   "tls",
		Short: "Show the local CA behind up --tls-listen, and how to trust it",
		Args:  unknownCommand,
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("missing subcommand: portico tls ca")}
		},
	}
	f := &tlsFlags{}
	ca := &cobra.Command{
		Use:   "ca [DIR | -f FILE]",
		Short: "Create the local CA when missing; print where it is and how to trust it",
		Long: `tls ca creates the instance's local certificate authority when missing (up --tls-listen
without --tls-cert signs localhost names with it) and prints its path and how to make
browsers, curl and SDKs trust it.`,
		Example: `  portico tls ca
  curl --cacert "$(portico tls ca --path)" https://127.0.0.1:8443/`,
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdTLS(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := ca.Flags()
	f.file = fs.StringP("file", "f", "portico.yaml", "spec file of the instance (its state directory is .portico beside it)")
	f.dataDir = fs.String("data-dir", "", "the instance's state directory, as given to `portico up --data-dir`")
	f.pathOnly = fs.Bool("path", false, "print only the CA certificate's path")
	tls.AddCommand(ca)
	return tls
}

// tlsFlags are the flags of `portico tls ca`.
type tlsFlags struct {
	file     *string
	dataDir  *string
	pathOnly *bool
}

// cmdTLS is `portico tls ca`: it creates the local CA when missing and
// prints where it is and how to trust it.
func cmdTLS(ctx context.Context, f *tlsFlags, pos []string, stdout, stderr io.Writer) error {
	file, dataDir, pathOnly := f.file, f.dataDir, f.pathOnly
	if len(pos) > 1 {
		return errors.New("usage: portico tls ca [-f portico.yaml | DIR] [--data-dir DIR] [--path]")
	}
	if len(pos) == 1 {
		*file = filepath.Join(pos[0], pulumiyaml.ProjectFile)
	}
	ca, err := certs.LoadOrCreateCA(system.TLSDir(dataDirFor(*file, *dataDir)))
	if err != nil {
		return err
	}
	path, err := filepath.Abs(ca.Path())
	if err != nil {
		return err
	}
	if *pathOnly {
		fmt.Fprintln(stdout, path)
		return nil
	}
	fmt.Fprint(stdout, certs.Trust(path))
	return nil
}

// domainLines lists the custom domain names' mappings as URLs on the
// gateway's listeners (the TLS one when there is one): "domain URL API
// STAGE" lines.
func domainLines(sp *spec.Spec, gwAddr, tlsURL string) []string {
	base, port := "http://", gwAddr[strings.LastIndexByte(gwAddr, ':')+1:]
	if tlsURL != "" {
		base, port = "https://", tlsURL[strings.LastIndexByte(tlsURL, ':')+1:]
	}
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(sp.DomainNames)) {
		for _, m := range sp.DomainNames[name].APIMappings {
			u := base + strings.Replace(name, "*", "x", 1) + ":" + port + "/"
			if m.APIMappingKey != "" {
				u += m.APIMappingKey + "/"
			}
			lines = append(lines, fmt.Sprintf("domain %s %s %s", u, m.API, m.Stage))
		}
	}
	return lines
}
