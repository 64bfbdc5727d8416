package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
	"github.com/portico-dev/portico/internal/websocket"
)

func cmdUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.file, "f", "portico.yaml", "spec file")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the HTTP APIs (port 0 picks a free port)")
	fs.StringVar(&o.awsListen, "aws-listen", "127.0.0.1:4566", "address of the AWS-compatible endpoint: Lambda Invoke API, S3, management API")
	fs.StringVar(&o.adminListen, "admin-listen", "127.0.0.1:9090", "address of the web console and /metrics (\"\" for none); off loopback it asks for the console token")
	fs.BoolVar(&o.pprof, "pprof", false, "also serve Go's profiler (/debug/pprof/) on the admin listener")
	fs.IntVar(&o.maxConcurrency, "max-concurrency", 32, "most function sandboxes running at once, across all functions")
	fs.StringVar(&o.logDir, "log-dir", "", "also append function logs to files in this directory")
	fs.BoolVar(&o.accessLog, "access-log", false, "write every request's access log record (JSON) to stderr, besides the stages' own access logs")
	fs.StringVar(&o.redisURL, "redis", "", "keep throttle buckets, quotas and API keys in Redis (redis://host:port/db), shared by every replica")
	fs.BoolVar(&o.redisFailOpen, "redis-fail-open", false, "when Redis is unreachable, let requests through instead of answering 503")
	fs.DurationVar(&o.redisTimeout, "redis-timeout", throttle.DefaultRedisTimeout, "longest wait for Redis per request before the failure policy applies")
	fs.StringVar(&o.dataDir, "data-dir", "", "where Portico keeps its data (S3 objects, API keys created at run time); default .portico next to the spec file")
	fs.StringVar(&o.otlpEndpoint, "otlp-endpoint", "", "send traces to this OpenTelemetry (OTLP/HTTP) endpoint")
	fs.Float64Var(&o.traceSampleRatio, "trace-sample-ratio", 0.05, "fraction of new traces recorded (X-Ray's default rate is 5%); a caller's sampled traceparent is always recorded")
	fs.StringVar(&o.stack, "stack", "dev", "for a Pulumi program: the stack it runs as (its config is Pulumi.<stack>.yaml)")
	fs.BoolVar(&o.strict, "strict", false, "for a Pulumi program (any language): behave as AWS would where Portico tolerates a difference (a function without an aws:lambda:Permission for API Gateway answers 500)")
	fs.DurationVar(&o.programTimeout, "program-timeout", pulumirun.DefaultTimeout, "for a Pulumi Go, Python or Node.js program: how long it may run (not counting its build or install) before it is stopped")
	fs.DurationVar(&o.timeouts.Header, "header-timeout", gateway.DefaultHeaderTimeout, "gateway: longest time a client may take to send a request's head (then the connection is closed)")
	fs.DurationVar(&o.timeouts.Body, "body-timeout", gateway.DefaultBodyTimeout, "gateway: time allowed for a request body before -body-min-rate extends it (then 408)")
	fs.IntVar(&o.timeouts.BodyMinRate, "body-min-rate", gateway.DefaultBodyMinRate, "gateway: every this many body bytes received extend the body timeout by 1s (-1: no extension)")
	quiet := fs.Bool("quiet", false, "do not print functions' output (START/END/REPORT and what they print) in this terminal")
	fs.DurationVar(&o.asyncRetryDelay, "async-retry-delay", time.Minute, "wait before the first retry of a failed asynchronous invocation (the second waits twice as long); Lambda's is 1m")
	fs.StringVar(&o.isolation, "isolation", "", "function isolation: sandbox (required), none (plain processes); default: sandboxes where the machine allows them")
	fs.Int64Var(&o.webSocketLimits.MaxMessageBytes, "websocket-max-message", websocket.DefaultMaxMessageBytes, "WebSocket APIs: largest message in bytes (AWS: 128 KB); larger closes the connection with 1009")
	fs.DurationVar(&o.webSocketLimits.IdleTimeout, "websocket-idle-timeout", websocket.DefaultIdleTimeout, "WebSocket APIs: close a connection without messages for this long (AWS: 10m)")
	fs.DurationVar(&o.webSocketLimits.MaxDuration, "websocket-max-duration", websocket.DefaultMaxDuration, "WebSocket APIs: close every connection after this long (AWS: 2h)")
	o.tls.register(fs)
	watch := fs.Bool("watch", true, "redeploy auto-deploy stages when the spec file or function code changes")
	drain := fs.Duration("drain", 30*time.Second, "how long shutdown waits for requests in flight")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	// portico up [DIR | FILE]: a spec, or a Pulumi program (DIR/Pulumi.yaml).
	if o.file, o.program, err = target(fs, o.file, pos); err != nil {
		return fmt.Errorf("%w\nusage: portico up [-f portico.yaml | DIR | FILE]", err)
	}
	o.logLevel = slog.LevelInfo
	o.admin = givenAdmin()
	o.functionOutput = !*quiet

	s, err := start(ctx, o, stderr)
	if err != nil {
		var list spec.ErrorList
		if errors.As(err, &list) {
			fmt.Fprintln(stderr, err)
			return exitError{1}
		}
		return err
	}
	for _, w := range s.spec.Warnings {
		s.logger.Warn(w.Error())
	}
	if *watch {
		s.ctl.Watch(ctx, 500*time.Millisecond)
	}
	if line := isolationWarning(s.runner); line != "" {
		fmt.Fprintln(stderr, line)
	}
	fmt.Fprintf(stdout, "gateway http://%s\naws %s\n", s.gwLn.Addr(), s.awsURL)
	if s.tlsURL != "" {
		fmt.Fprintf(stdout, "gateway-tls %s\n", s.tlsURL)
	}
	if s.adminURL != "" {
		fmt.Fprintf(stdout, "console %s\n", s.adminURL)
		if s.tokenReq {
			fmt.Fprintf(stdout, "console-token %s (open %s/?token=%s, or send Authorization: Bearer)\n", s.admin.ConsoleToken, s.adminURL, s.admin.ConsoleToken)
		}
	}
	for _, line := range endpoints(s.spec, s.gwLn.Addr().(*net.TCPAddr)) {
		fmt.Fprintln(stdout, line)
	}
	for _, line := range domainLines(s.spec, s.gwLn.Addr().String(), s.tlsURL) {
		fmt.Fprintln(stdout, line)
	}
	if p := s.program; p != nil {
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
	case err = <-s.errc:
	}
	s.logger.Info("shutting down: draining requests in flight", "timeout", *drain)
	s.stop(*drain)
	return err
}
