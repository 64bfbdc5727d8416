// Command portico runs HTTP APIs, Lambda functions and their storage on one
// machine, as Amazon API Gateway, AWS Lambda and Amazon S3 would.
//
// Usage:
//
//	portico up       [-f portico.yaml | DIR] [--listen ADDR] [--aws-listen ADDR]
//	portico validate [-f portico.yaml]
//	portico invoke   [-f portico.yaml] FUNCTION [OUTFILE] [--payload JSON|@file] [--log-type Tail]
//	portico logs     FUNCTION [--follow]
//	portico deploy   STAGE [--api NAME]
//	portico apikey   create NAME --plan PLAN | delete NAME | list
//	portico usage    KEY
//	portico routes   [-f portico.yaml] [--output table|json]
//	portico env      [-f portico.yaml | DIR] [--data-dir DIR] [--aws-listen ADDR]
//	portico s3       ls [BUCKET[/PREFIX]] | cp SRC DST | rm s3://BUCKET/KEY
//	portico export   pulumi [-f portico.yaml] -o DIR
//	portico tls      ca [-f portico.yaml | DIR] [--data-dir DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it parses its own arguments and reports
// failures as errors; only main exits.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"up":       cmdUp,
	"validate": cmdValidate,
	"invoke":   cmdInvoke,
	"logs":     cmdLogs,
	"deploy":   cmdDeploy,
	"apikey":   cmdAPIKey,
	"usage":    cmdUsage,
	"routes":   cmdRoutes,
	"s3":       cmdS3,
	"export":   cmdExport,
	"env":      cmdEnv,
	"tls":      cmdTLS,
}

const usage = `portico runs HTTP APIs and Lambda functions on your machine.

Usage:
  portico up       [-f portico.yaml | DIR] [--listen 127.0.0.1:8080] [--aws-listen 127.0.0.1:4566]
  portico validate [-f portico.yaml]
  portico invoke   [-f portico.yaml] FUNCTION [OUTFILE] [--payload JSON|@file] [--log-type Tail] [--endpoint URL]
  portico logs     FUNCTION [--follow] [--since 10m] [--filter TEXT] [--request-id ID] [--endpoint URL]
  portico deploy   STAGE [--api NAME] [--endpoint URL]
  portico apikey   create NAME --plan PLAN | delete NAME | list [--values]
  portico usage    KEY
  portico routes   [-f portico.yaml] [--output table|json]
  portico s3       ls [BUCKET[/PREFIX]] | cp SRC DST | rm s3://BUCKET/KEY [--endpoint URL]
  portico export   pulumi [-f portico.yaml] -o DIR
  portico env      [-f portico.yaml | DIR] [--data-dir DIR] [--aws-listen 127.0.0.1:4566]
                   (eval "$(portico env)": AWS CLIs and SDKs call Portico with its admin credentials)
  portico tls      ca [-f portico.yaml | DIR] [--data-dir DIR] [--path]
                   (the local CA behind up --tls-listen, and how to trust it)

Commands that call a running Portico sign with the admin credentials in its
state directory (.portico beside the spec, or --data-dir).

Run 'portico COMMAND -h' for a command's flags.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "portico: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "portico %s: %v\n", os.Args[1], err)
	os.Exit(1)
}

// exitError ends the program with a code after the command has printed
// what it had to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// parseArgs parses flags that may come before, between or after positional
// arguments ("invoke FN --payload {}"), and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

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
