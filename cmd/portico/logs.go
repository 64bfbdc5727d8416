package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/spf13/cobra"
)

// logsCommand is `portico logs`: cobra parses its flags into
// logsFlags, then cmdLogs runs.
func logsCommand() *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:     "logs FUNCTION",
		Short:   "Print a function's logs from a running Portico",
		Long:    "logs prints a function's recent log lines from a running `portico up`; with --follow it keeps\nprinting new ones until interrupted.",
		Example: "  portico logs hello\n  portico logs hello --follow --since 10m\n  portico logs hello --filter ERROR",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdLogs(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.follow = fs.Bool("follow", false, "keep printing new lines")
	f.since = fs.String("since", "", "only lines written since then: a duration back from now (10m) or an RFC 3339 time")
	f.filter = fs.String("filter", "", "only lines containing this text, with the START/END/REPORT lines of their invocations")
	f.requestID = fs.String("request-id", "", "only the lines of this invocation")
	f.endpoint = fs.String("endpoint", defaultEndpoint(), "Portico's AWS endpoint")
	f.inst = addInstanceFlags(fs, nil)
	return cmd
}

// logsFlags are the flags of `portico logs`.
type logsFlags struct {
	follow    *bool
	since     *string
	filter    *string
	requestID *string
	endpoint  *string
	inst      *instanceFlags
}

// cmdLogs prints a function's recent log lines from a running `portico up`,
// and with --follow keeps printing new ones until interrupted. --since and
// --filter select lines on the server (see invocation.LogFilter).
func cmdLogs(ctx context.Context, f *logsFlags, pos []string, stdout, stderr io.Writer) error {
	follow, since, filter, requestID, endpoint, inst := f.follow, f.since, f.filter, f.requestID, f.endpoint, f.inst
	if len(pos) != 1 {
		return errors.New("usage: portico logs FUNCTION [--follow] [--since 10m] [--filter TEXT] [--request-id ID]")
	}
	if *since != "" {
		if _, err := invocation.ParseSince(*since, time.Now()); err != nil {
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
