package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/system"
	"github.com/spf13/cobra"
)

// invokeCommand is `portico invoke`: cobra parses its flags into
// invokeFlags, then cmdInvoke runs.
func invokeCommand() *cobra.Command {
	f := &invokeFlags{}
	cmd := &cobra.Command{
		Use:     "invoke [-f FILE] FUNCTION [OUTFILE]",
		Short:   "Invoke a function once, here or on a running Portico",
		Long:    "invoke runs a function once and prints the result as `aws lambda invoke` does: the payload goes to\nOUTFILE (stdout when none is given) and the metadata as JSON to stderr. Without --endpoint the\nfunction runs in this process from the spec; with it, a running `portico up` is asked.",
		Example: "  portico invoke hello --payload '{\"name\":\"world\"}'\n  portico invoke -f examples/seed/portico.yaml aiServiceFunction out.json --payload @event.json\n  portico invoke hello --endpoint http://127.0.0.1:4566 --log-type Tail",
		RunE: func(cmd *cobra.Command, pos []string) error {
			return cmdInvoke(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	f.file = fs.StringP("file", "f", "portico.yaml", "spec file (when running the function here)")
	f.payload = fs.String("payload", "{}", "event JSON, or @file to read it from a file")
	f.logType = fs.String("log-type", "None", "Tail also prints the last 4 KB of the invocation's log to stderr")
	f.endpoint = fs.String("endpoint", "", "invoke through a running Portico's AWS endpoint instead (e.g. http://127.0.0.1:4566)")
	f.inst = addInstanceFlags(fs, f.file)
	return cmd
}

// invokeFlags are the flags of `portico invoke`.
type invokeFlags struct {
	file     *string
	payload  *string
	logType  *string
	endpoint *string
	inst     *instanceFlags
}

// cmdInvoke invokes a function once and prints the result as
// `aws lambda invoke` does: the payload goes to OUTFILE (or to stdout when
// none is given) and the invocation's metadata as JSON to stdout (stderr).
// Without --endpoint the function runs in this process, from the spec;
// with it, a running `portico up` is asked through the Invoke API.
func cmdInvoke(ctx context.Context, f *invokeFlags, pos []string, stdout, stderr io.Writer) error {
	file, payload, logType, endpoint, inst := f.file, f.payload, f.logType, f.endpoint, f.inst
	var err error
	if len(pos) < 1 || len(pos) > 2 {
		return errors.New("usage: portico invoke [-f SPEC] FUNCTION [OUTFILE] [--payload JSON|@file] [--log-type Tail]")
	}
	event := []byte(*payload)
	if name, ok := strings.CutPrefix(*payload, "@"); ok {
		if event, err = os.ReadFile(name); err != nil {
			return fmt.Errorf("read payload: %w", err)
		}
	}
	tail := strings.EqualFold(*logType, "Tail")

	var res *invocation.Result
	if *endpoint != "" {
		client, _, cerr := inst.client()
		if cerr != nil {
			return cerr
		}
		res, err = invokeRemote(ctx, client, *endpoint, pos[0], event, tail)
	} else {
		res, err = invokeLocal(ctx, *file, pos[0], event, tail, stderr)
	}
	if err != nil {
		return err
	}

	// The AWS CLI's output shape and member order.
	meta := struct {
		StatusCode      int
		FunctionError   string `json:",omitempty"`
		LogResult       string `json:",omitempty"`
		ExecutedVersion string
	}{StatusCode: 200, FunctionError: res.FunctionError, ExecutedVersion: res.ExecutedVersion}
	if tail {
		meta.LogResult = base64.StdEncoding.EncodeToString(res.LogTail)
	}
	metaJSON, _ := json.MarshalIndent(meta, "", "    ")
	metaOut := stdout
	if len(pos) == 2 {
		if err := os.WriteFile(pos[1], res.Payload, 0o644); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	} else {
		metaOut = stderr
		stdout.Write(res.Payload)
		if !bytes.HasSuffix(res.Payload, []byte("\n")) {
			fmt.Fprintln(stdout)
		}
	}
	fmt.Fprintf(metaOut, "%s\n", metaJSON)
	if tail {
		stderr.Write(res.LogTail)
	}
	if res.FunctionError != "" {
		return exitError{1}
	}
	return nil
}

// invokeLocal starts the spec's system on free loopback ports (so that
// the function finds its buckets and AWS endpoint as under `portico up`),
// invokes the function once and stops everything.
func invokeLocal(ctx context.Context, file, name string, event []byte, tail bool, stderr io.Writer) (*invocation.Result, error) {
	s, err := system.Start(ctx, system.Options{File: file, Listen: "127.0.0.1:0", AWSListen: "127.0.0.1:0", MaxConcurrency: 4, LogLevel: slog.LevelWarn, OneShot: true}, stderr)
	if err != nil {
		var list spec.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(stderr, err)
			return nil, exitError{1}
		}
		return nil, err
	}
	defer s.Stop(5 * time.Second)
	if _, ok := s.Spec.Functions[name]; !ok {
		return nil, fmt.Errorf("function %q is not in %s", name, file)
	}
	return s.Runner.Invoke(ctx, &invocation.Request{FunctionName: name, Payload: event, LogTail: tail})
}

// invokeRemote calls the Invoke API of a running Portico.
func invokeRemote(ctx context.Context, client *http.Client, endpoint, name string, event []byte, tail bool) (*invocation.Result, error) {
	u := strings.TrimSuffix(endpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(name) + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	if tail {
		req.Header.Set("X-Amz-Log-Type", "Tail")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("is `portico up` running? %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("%s (%d): %s", resp.Header.Get("x-amzn-ErrorType"), resp.StatusCode, e.Message)
	}
	res := &invocation.Result{
		Payload:         body,
		FunctionError:   resp.Header.Get("X-Amz-Function-Error"),
		ExecutedVersion: resp.Header.Get("X-Amz-Executed-Version"),
	}
	if lr := resp.Header.Get("X-Amz-Log-Result"); lr != "" {
		res.LogTail, _ = base64.StdEncoding.DecodeString(lr)
	}
	return res, nil
}
