package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"time"

	"github.com/portico-dev/portico/internal/lambda"
)

// cmdLogs prints a function's recent log lines from a running `portico up`,
// and with --follow keeps printing new ones until interrupted. --since and
// --filter select lines on the server (see lambda.LogFilter).
func cmdLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	follow := fs.Bool("follow", false, "keep printing new lines")
	since := fs.String("since", "", "only lines written since then: a duration back from now (10m) or an RFC 3339 time")
	filter := fs.String("filter", "", "only lines containing this text, with the START/END/REPORT lines of their invocations")
	requestID := fs.String("request-id", "", "only the lines of this invocation")
	endpoint := fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	inst := addInstanceFlags(fs, nil)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: portico logs FUNCTION [--follow] [--since 10m] [--filter TEXT] [--request-id ID]")
	}
	if *since != "" {
		if _, err := lambda.ParseSince(*since, time.Now()); err != nil {
			return err
		}
	}
	client, _, err := inst.client()
	if err != nil {
		return err
	}
	q := lambda.LogQuery{Follow: *follow, Since: *since, Filter: *filter, RequestID: *requestID, Client: client}
	err = lambda.QueryLogs(ctx, *endpoint, pos[0], q, stdout)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
