package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version and commit name the build. Release builds stamp them:
//
//	go build -ldflags "-X main.version=v1.2.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/portico
//
// Otherwise they come from the binary's build information (the module
// version and vcs.revision, when the go command recorded them).
var (
	version string
	commit  string
)

// rootCommand is the whole command line: `portico COMMAND`. Each command's
// constructor (upCommand, ...) sits beside its body (cmdUp, ...).
func rootCommand() *cobra.Command {
	info, ok := debug.ReadBuildInfo()
	root := &cobra.Command{
		Use:   "portico",
		Short: "portico runs HTTP APIs and Lambda functions on your machine",
		Long: `portico runs HTTP APIs, Lambda functions and their storage on your machine, as Amazon API
Gateway, AWS Lambda and Amazon S3 would, from a spec (portico.yaml) or a Pulumi program.

Commands that call a running Portico sign with the admin credentials in its
state directory (.portico beside the spec, or --data-dir).`,
		Example: `  portico up                       # portico.yaml (or a Pulumi program) in this directory
  portico up examples/seed --listen 127.0.0.1:8080
  portico validate -f portico.yaml
  eval "$(portico env)" && aws lambda list-functions`,
		Version:                    versionString(version, commit, info, ok),
		SilenceErrors:              true, // run prints them once, with the command's name
		SilenceUsage:               true,
		Args:                       unknownCommand,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
			return exitError{2}
		},
	}
	root.SetVersionTemplate("portico {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(upCommand(), validateCommand(), invokeCommand(), logsCommand(), deployCommand(),
		apikeyCommand(), usageCommand(), routesCommand(), s3Command(), exportCommand(), envCommand(), tlsCommand())
	return root
}

// usageError is a mistake in the command line itself: run prints it with
// a hint and exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// unknownCommand refuses arguments to the root command: the first one
// names no command.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
	}
	return usageError{errors.New(msg)}
}

// versionString is "VERSION (commit REVISION)", from the stamped values
// (-ldflags -X) or else the build information; "(devel)" and "unknown"
// when neither has them.
func versionString(stampedVersion, stampedCommit string, info *debug.BuildInfo, ok bool) string {
	v, c, dirty := stampedVersion, stampedCommit, false
	if ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = true
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	} else if dirty && stampedCommit == "" {
		c += ", modified"
	}
	return v + " (commit " + c + ")"
}
