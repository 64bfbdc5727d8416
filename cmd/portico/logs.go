package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/portico-dev/portico/internal/lambda"
)

// cmdLogs prints a function's recent log lines from a running `portico up`,
// and with --follow keeps printing new ones until interrupted.
func cmdLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	follow := fs.Bool("follow", false, "keep printing new lines")
	endpoint := fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: portico logs FUNCTION [--follow]")
	}
	err = lambda.FollowLogs(ctx, *endpoint, pos[0], *follow, stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
