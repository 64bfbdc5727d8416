package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/integration/httpproxy"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/spec"
)

// Portico's local identity, used in ARNs and events.
const (
	region    = "us-east-1"
	accountID = "000000000000"
)

func cmdUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "portico.yaml", "spec file")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the HTTP APIs (port 0 picks a free port)")
	awsListen := fs.String("aws-listen", "127.0.0.1:4566", "address of the AWS-compatible endpoint: Lambda Invoke API, management API")
	maxConc := fs.Int("max-concurrency", 32, "most function sandboxes running at once, across all functions")
	logDir := fs.String("log-dir", "", "also append function logs to files in this directory")
	accessLog := fs.Bool("access-log", false, "write one access log record per request to stderr")
	watch := fs.Bool("watch", true, "redeploy auto-deploy stages when the spec file or function code changes")
	drain := fs.Duration("drain", 30*time.Second, "how long shutdown waits for requests in flight")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	sp, err := spec.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}
	gwLn, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	awsLn, err := net.Listen("tcp", *awsListen)
	if err != nil {
		gwLn.Close()
		return fmt.Errorf("listen: %w", err)
	}
	gwURL, awsURL := "http://"+gwLn.Addr().String(), "http://"+awsLn.Addr().String()

	runner, err := lambda.New(lambda.Config{
		Region:         region,
		AccountID:      accountID,
		MaxConcurrency: *maxConc,
		LogDir:         *logDir,
		AWSEndpoint:    awsURL,
	}, lambda.Deps{Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), *drain)
		defer cancel()
		_ = runner.Close(cctx)
	}()

	gdeps := gateway.Deps{Logger: logger}
	if *accessLog {
		gdeps.AccessLog = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	gw := gateway.New(gdeps)
	transport, err := httpproxy.NewTransport(httpproxy.TransportConfig{})
	if err != nil {
		return err
	}
	defer transport.Close()
	ctl := control.New(control.Config{SpecPath: *file, Region: region, AccountID: accountID},
		control.Deps{Logger: logger, Runner: runner, Gateway: gw, Transport: transport})
	if err := ctl.Apply(ctx, sp); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}

	awsMux := http.NewServeMux()
	awsMux.Handle("/v2/", ctl.Handler())
	awsMux.Handle("/", runner.Handler())
	gwSrv := gateway.NewHTTPServer(gw)
	awsSrv := &http.Server{Handler: awsMux, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- gwSrv.Serve(gwLn) }()
	go func() { errc <- awsSrv.Serve(awsLn) }()

	fmt.Fprintf(stdout, "gateway %s\naws %s\n", gwURL, awsURL)
	for _, line := range endpoints(sp, gwLn.Addr().(*net.TCPAddr)) {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintln(stdout, "ready")

	if *watch {
		go ctl.Watch(ctx, 500*time.Millisecond)
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	logger.Info("shutting down: draining requests in flight", "timeout", *drain)
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	_ = gwSrv.Shutdown(sctx)
	_ = awsSrv.Shutdown(sctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// endpoints lists each API stage's URL, as the seed exports api_endpoint.
// With one API the listener serves it at any host name; with several, each
// is reached through its own host name, {apiId}.execute-api.localhost.
func endpoints(sp *spec.Spec, addr *net.TCPAddr) []string {
	var lines []string
	for name, a := range sp.APIs {
		host := addr.String()
		if len(sp.APIs) > 1 {
			host = fmt.Sprintf("%s.execute-api.localhost:%d", a.ID, addr.Port)
		}
		for st := range a.Stages {
			path := "/" + st
			if st == "$default" {
				path = "/"
			}
			lines = append(lines, fmt.Sprintf("endpoint %s %s http://%s%s", name, st, host, path))
		}
	}
	sort.Strings(lines)
	return lines
}
