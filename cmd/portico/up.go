package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/system"
	"github.com/portico-dev/portico/internal/throttle"
	"github.com/portico-dev/portico/internal/websocket"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// upCommand is `portico up`: cobra parses its flags into upFlags, then
// cmdUp runs.
func upCommand() *cobra.Command {
	f := &upFlags{}
	cmd := &cobra.Command{
		Use:   "up [DIR | FILE | -f FILE]",
		Short: "Run a spec or a Pulumi program: its APIs, functions and buckets",
		Long: `up runs the system a spec (portico.yaml) or a Pulumi program describes, until interrupted:
the HTTP APIs on --listen, the AWS-compatible endpoint (Lambda Invoke API, S3, management
API) on --aws-listen, the console and /metrics on --admin-listen.

DIR holds Pulumi.yaml (a Pulumi program in YAML, Go, Python or TypeScript/JavaScript) or
portico.yaml; FILE is a spec, or a Pulumi.yaml. With neither, portico.yaml in this
directory, else a Pulumi program here.`,
		Example: `  portico up
  portico up examples/seed
  portico up -f portico.yaml --listen 127.0.0.1:8080 --aws-listen 127.0.0.1:4566
  portico up examples/pulumi-go --stack dev --watch=false`,
		RunE: func(cmd *cobra.Command, pos []string) error {
			f.fs = cmd.Flags()
			return cmdUp(cmd.Context(), f, pos, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&f.o.File, "file", "f", "portico.yaml", "spec file")
	fs.StringVar(&f.o.Listen, "listen", "127.0.0.1:8080", "address of the HTTP APIs (port 0 picks a free port)")
	fs.StringVar(&f.o.AWSListen, "aws-listen", "127.0.0.1:4566", "address of the AWS-compatible endpoint: Lambda Invoke API, S3, management API")
	fs.StringVar(&f.o.AdminListen, "admin-listen", "127.0.0.1:9090", "address of the web console and /metrics (\"\" for none); off loopback it asks for the console token")
	fs.BoolVar(&f.o.Pprof, "pprof", false, "also serve Go's profiler (/debug/pprof/) on the admin listener")
	fs.IntVar(&f.o.MaxConcurrency, "max-concurrency", 32, "most function sandboxes running at once, across all functions")
	fs.StringVar(&f.o.LogDir, "log-dir", "", "also append function logs to files in this directory")
	fs.BoolVar(&f.o.AccessLog, "access-log", false, "write every request's access log record (JSON) to stderr, besides the stages' own access logs")
	fs.StringVar(&f.o.RedisURL, "redis", "", "keep throttle buckets, quotas and API keys in Redis (redis://host:port/db), shared by every replica")
	fs.BoolVar(&f.o.RedisFailOpen, "redis-fail-open", false, "when Redis is unreachable, let requests through instead of answering 503")
	fs.DurationVar(&f.o.RedisTimeout, "redis-timeout", throttle.DefaultRedisTimeout, "longest wait for Redis per request before the failure policy applies")
	fs.StringVar(&f.o.DataDir, "data-dir", "", "where Portico keeps its data (S3 objects, API keys created at run time); default .portico next to the spec file")
	fs.StringVar(&f.o.OTLPEndpoint, "otlp-endpoint", "", "send traces to this OpenTelemetry (OTLP/HTTP) endpoint")
	fs.Float64Var(&f.o.TraceSampleRatio, "trace-sample-ratio", 0.05, "fraction of new traces recorded (X-Ray's default rate is 5%); a caller's sampled traceparent is always recorded")
	fs.StringVar(&f.o.Stack, "stack", "dev", "for a Pulumi program: the stack it runs as (its config is Pulumi.<stack>.yaml)")
	fs.BoolVar(&f.o.Strict, "strict", false, "for a Pulumi program (any language): behave as AWS would where Portico tolerates a difference (a function without an aws:lambda:Permission for API Gateway answers 500)")
	fs.DurationVar(&f.o.ProgramTimeout, "program-timeout", pulumirun.DefaultTimeout, "for a Pulumi Go, Python or Node.js program: how long it may run (not counting its build or install) before it is stopped")
	fs.DurationVar(&f.o.Timeouts.Header, "header-timeout", gateway.DefaultHeaderTimeout, "gateway: longest time a client may take to send a request's head (then the connection is closed)")
	fs.DurationVar(&f.o.Timeouts.Body, "body-timeout", gateway.DefaultBodyTimeout, "gateway: time allowed for a request body before --body-min-rate extends it (then 408)")
	fs.IntVar(&f.o.Timeouts.BodyMinRate, "body-min-rate", gateway.DefaultBodyMinRate, "gateway: every this many body bytes received extend the body timeout by 1s (-1: no extension)")
	f.quiet = fs.Bool("quiet", false, "do not print functions' output (START/END/REPORT and what they print) in this terminal")
	fs.DurationVar(&f.o.AsyncRetryDelay, "async-retry-delay", time.Minute, "wait before the first retry of a failed asynchronous invocation (the second waits twice as long); Lambda's is 1m")
	fs.StringVar(&f.o.Isolation, "isolation", "", "function isolation: sandbox (required), none (plain processes); default: sandboxes where the machine allows them")
	fs.Int64Var(&f.o.WebSocketLimits.MaxMessageBytes, "websocket-max-message", websocket.DefaultMaxMessageBytes, "WebSocket APIs: largest message in bytes (AWS: 128 KB); larger closes the connection with 1009")
	fs.Int64Var(&f.o.WebSocketLimits.MaxFrameBytes, "websocket-max-frame", websocket.DefaultMaxFrameBytes, "WebSocket APIs: largest frame in bytes (AWS: 32 KB; a larger message comes in several frames); larger closes the connection with 1009")
	fs.DurationVar(&f.o.WebSocketLimits.IdleTimeout, "websocket-idle-timeout", websocket.DefaultIdleTimeout, "WebSocket APIs: close a connection without messages for this long (AWS: 10m)")
	fs.DurationVar(&f.o.WebSocketLimits.MaxDuration, "websocket-max-duration", websocket.DefaultMaxDuration, "WebSocket APIs: close every connection after this long (AWS: 2h)")
	registerTLS(fs, &f.o.TLS)
	f.watch = fs.Bool("watch", true, "redeploy auto-deploy stages when the spec file or function code changes")
	f.drain = fs.Duration("drain", 30*time.Second, "how long shutdown waits for requests in flight")
	return cmd
}

// upFlags are the flags of `portico up`.
type upFlags struct {
	fs    *pflag.FlagSet // target asks it whether -f was given
	o     system.Options
	quiet *bool
	watch *bool
	drain *time.Duration
}

func cmdUp(ctx context.Context, f *upFlags, pos []string, stdout, stderr io.Writer) error {
	o, quiet, watch, drain, fs := f.o, f.quiet, f.watch, f.drain, f.fs
	var err error
	// portico up [DIR | FILE]: a spec, or a Pulumi program (DIR/Pulumi.yaml).
	if o.File, o.Program, err = target(fs, o.File, pos); err != nil {
		return fmt.Errorf("%w\nusage: portico up [-f portico.yaml | DIR | FILE]", err)
	}
	o.LogLevel = slog.LevelInfo
	o.Admin = givenAdmin()
	o.FunctionOutput = !*quiet

	s, err := system.Start(ctx, o, stderr)
	if err != nil {
		var list spec.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(stderr, err)
			return exitError{1}
		}
		return err
	}
	for _, w := range s.Spec.Warnings {
		s.Logger.Warn(w.Error())
	}
	if *watch {
		s.Controller.Watch(ctx, 500*time.Millisecond)
	}
	if line := isolationWarning(s.Runner); line != "" {
		fmt.Fprintln(stderr, line)
	}
	fmt.Fprintf(stdout, "gateway http://%s\naws %s\n", s.GatewayAddr(), s.AWSURL)
	if s.TLSURL != "" {
		fmt.Fprintf(stdout, "gateway-tls %s\n", s.TLSURL)
	}
	if s.AdminURL != "" {
		fmt.Fprintf(stdout, "console %s\n", s.AdminURL)
		if s.TokenRequired {
			fmt.Fprintf(stdout, "console-token %s (open %s/?token=%s, or send Authorization: Bearer)\n", s.Admin.ConsoleToken, s.AdminURL, s.Admin.ConsoleToken)
		}
	}
	for _, line := range system.Endpoints(s.Spec, s.GatewayAddr()) {
		fmt.Fprintln(stdout, line)
	}
	for _, line := range domainLines(s.Spec, s.GatewayAddr().String(), s.TLSURL) {
		fmt.Fprintln(stdout, line)
	}
	if p := s.Program; p != nil {
		// As validate prints them: a warning may hold the program lines
		// to add, which a log record would escape onto one line.
		for _, w := range p.Warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		if len(p.Outputs) > 0 {
			fmt.Fprintln(stdout, "Outputs:")
			for _, out := range p.Outputs {
				fmt.Fprintf(stdout, "    %s: %q\n", out.Name, out.Value)
			}
		}
	}
	fmt.Fprintln(stdout, "ready")

	select {
	case <-ctx.Done():
	case err = <-s.Err():
	}
	s.Logger.Info("shutting down: draining requests in flight", "timeout", *drain)
	s.Stop(*drain)
	return err
}
