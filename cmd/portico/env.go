package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/awsauth"
	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Environment variables through which the user gives `portico up` its
// admin credentials and console token instead of generated ones.
const (
	envAdminKeyID  = "PORTICO_ADMIN_ACCESS_KEY_ID"
	envAdminSecret = "PORTICO_ADMIN_SECRET_ACCESS_KEY"
	envConsoleTok  = "PORTICO_CONSOLE_TOKEN"
)

// givenAdmin is what the user gave through the environment.
func givenAdmin() awsauth.Admin {
	return awsauth.Admin{AccessKeyID: os.Getenv(envAdminKeyID), SecretAccessKey: os.Getenv(envAdminSecret), ConsoleToken: os.Getenv(envConsoleTok)}
}

// envCommand is `portico env`: cobra parses its flags into
// envFlags, then cmdEnv runs.
func envCommand() *cobra.Command {
	f := &envFlags{}
	cmd := &cobra.Command{
		Use:     "env [DIR | -f FILE]",
		Short:   "Print the shell lines that point AWS CLIs and SDKs at a running Portico",
		Long:    "env prints the environment (AWS_ENDPOINT_URL, the admin credentials, the region) with which AWS\nCLIs and SDKs call a running Portico: eval \"$(portico env)\".",
		Example: "  eval \"$(portico env)\"\n  eval \"$(portico env --data-dir ./state --aws-listen 127.0.0.1:4567)\"",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdEnv(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.file = fs.StringP("file", "f", "portico.yaml", "spec file of the instance (its state directory is .portico beside it)")
	f.dataDir = fs.String("data-dir", "", "the instance's state directory, as given to `portico up --data-dir`")
	f.awsListen = fs.String("aws-listen", "127.0.0.1:4566", "the instance's --aws-listen address")
	return cmd
}

// envFlags are the flags of `portico env`.
type envFlags struct {
	file      *string
	dataDir   *string
	awsListen *string
}

// cmdEnv prints the shell lines that point AWS SDKs and CLIs at a running
// Portico with its admin credentials: eval "$(portico env)".
func cmdEnv(ctx context.Context, f *envFlags, pos []string, stdout, stderr io.Writer) error {
	file, dataDir, awsListen := f.file, f.dataDir, f.awsListen
	if len(pos) > 1 {
		return errors.New("usage: portico env [-f portico.yaml | DIR] [--data-dir DIR] [--aws-listen ADDR]")
	}
	if len(pos) == 1 {
		*file = filepath.Join(pos[0], pulumiyaml.ProjectFile)
	}
	dir := dataDirFor(*file, *dataDir)
	a, err := awsauth.ReadAdmin(dir)
	if err != nil {
		return fmt.Errorf("%w (has `portico up` run with this spec or --data-dir?)", err)
	}
	host, port, err := net.SplitHostPort(*awsListen)
	if err != nil {
		return fmt.Errorf("--aws-listen %q: %w", *awsListen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", "http://" + net.JoinHostPort(host, port)},
		{"AWS_ACCESS_KEY_ID", a.AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", a.SecretAccessKey},
		{"AWS_DEFAULT_REGION", region},
	} {
		fmt.Fprintf(stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	// A session token left over from real AWS credentials would make every
	// request fail.
	fmt.Fprintln(stdout, "unset AWS_SESSION_TOKEN AWS_PROFILE")
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:+=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// instanceFlags find a running instance's admin credentials for the
// commands that call it: its state directory, from the spec file or
// --data-dir as `portico up` takes them.
type instanceFlags struct {
	fs            *pflag.FlagSet
	file, dataDir *string
}

// addInstanceFlags adds -f (unless the command has it: pass it) and
// --data-dir to fs.
func addInstanceFlags(fs *pflag.FlagSet, file *string) *instanceFlags {
	if file == nil {
		file = fs.StringP("file", "f", "portico.yaml", "spec file of the running instance (its admin credentials are in .portico beside it)")
	}
	return &instanceFlags{fs: fs, file: file,
		dataDir: fs.String("data-dir", "", "the running instance's state directory, as given to `portico up --data-dir`")}
}

// client returns an HTTP client that signs every request with the
// instance's admin credentials (awsauth.Signer): from its state
// directory, or — when neither -f nor --data-dir was given and there is
// none here — from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (as
// `eval "$(portico env)"` sets them).
func (f *instanceFlags) client() (*http.Client, awsauth.Admin, error) {
	a, err := awsauth.ReadAdmin(dataDirFor(*f.file, *f.dataDir))
	if errors.Is(err, fs.ErrNotExist) && !isSet(f.fs, "file") && !isSet(f.fs, "data-dir") {
		if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
			a, err = awsauth.Admin{AccessKeyID: id, SecretAccessKey: secret}, nil
		}
	}
	if err != nil {
		return nil, awsauth.Admin{}, fmt.Errorf("%w (run in the directory of the running spec, pass -f or --data-dir, or eval \"$(portico env)\")", err)
	}
	return &http.Client{Transport: &awsauth.Signer{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, Region: region}}, a, nil
}

func isSet(fs *pflag.FlagSet, name string) bool { return fs.Changed(name) }
