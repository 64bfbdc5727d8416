// Command portico runs HTTP APIs, Lambda functions and their storage on one
// machine, as Amazon API Gateway, AWS Lambda and Amazon S3 would.
//
// Usage:
//
//	portico up       [DIR | FILE | -f portico.yaml] [--listen ADDR] [--aws-listen ADDR]
//	portico validate [DIR | FILE | -f portico.yaml]
//	portico invoke   [-f portico.yaml] FUNCTION [OUTFILE] [--payload JSON|@file] [--log-type Tail]
//	portico logs     FUNCTION [--follow]
//	portico deploy   STAGE [--api NAME]
//	portico apikey   create NAME --plan PLAN | delete NAME | list
//	portico usage    KEY
//	portico routes   [-f portico.yaml] [--output table|json]
//	portico env      [DIR | -f portico.yaml] [--data-dir DIR] [--aws-listen ADDR]
//	portico s3       ls [BUCKET[/PREFIX]] | cp SRC DST | rm s3://BUCKET/KEY
//	portico export   pulumi [-f portico.yaml] -o DIR
//	portico tls      ca [DIR | -f portico.yaml] [--data-dir DIR]
//	portico completion bash|zsh|fish|powershell
//
// The command line is built with cobra (github.com/spf13/cobra): help for
// every command, shell completion and one way to report usage mistakes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/portico-dev/portico/internal/system"
)

// Portico's local identity, used in ARNs and events.
const (
	region    = system.Region
	accountID = system.AccountID
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0, 1 when
// the command failed, 2 for a usage mistake (an unknown command or flag),
// or the status a command asked for (exitError).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), ue.err, cmd.CommandPath())
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
	return 1
}

// exitError ends the program with a code after the command has printed
// what it had to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// defaultEndpoint is where a running `portico up` serves the AWS APIs.
func defaultEndpoint() string {
	if v := os.Getenv("PORTICO_ENDPOINT"); v != "" {
		return v
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		return v
	}
	return "http://127.0.0.1:4566"
}

// dataDirFor is the data directory: the flag's, or .portico beside the
// spec file.
func dataDirFor(specFile, flagValue string) string { return system.DataDir(specFile, flagValue) }
