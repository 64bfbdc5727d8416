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
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/integration/httpproxy"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/observe/accesslog"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
	"github.com/redis/go-redis/v9"
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
	accessLog := fs.Bool("access-log", false, "write every request's access log record (JSON) to stderr, besides the stages' own access logs")
	watch := fs.Bool("watch", true, "redeploy auto-deploy stages when the spec file or function code changes")
	drain := fs.Duration("drain", 30*time.Second, "how long shutdown waits for requests in flight")
	redisURL := fs.String("redis", "", "keep throttle buckets, quotas and API keys in Redis (redis://host:port/db), shared by every replica")
	failOpen := fs.Bool("redis-fail-open", false, "when Redis is unreachable, let requests through instead of answering 503")
	redisTimeout := fs.Duration("redis-timeout", throttle.DefaultRedisTimeout, "longest wait for Redis per request before the failure policy applies")
	dataDir := fs.String("data-dir", "", "where Portico keeps its data (API keys created at run time); default .portico next to the spec file")
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

	limiter, keys, err := accessStores(ctx, *redisURL, *failOpen, *redisTimeout, dataDirFor(*file, *dataDir), logger)
	if err != nil {
		return err
	}
	defer keys.Close()
	gdeps := gateway.Deps{Logger: logger, Limiter: limiter, APIKeys: control.KeyChecker{Registry: keys}}
	if *accessLog {
		f, _ := accesslog.Compile("") // the default JSON record
		sink := accesslog.NewSink(f, stderr, accesslog.Options{})
		defer sink.Close()
		gdeps.Sinks = append(gdeps.Sinks, sink)
	}
	gw := gateway.New(gdeps)
	transport, err := httpproxy.NewTransport(httpproxy.TransportConfig{})
	if err != nil {
		return err
	}
	defer transport.Close()
	ctl := control.New(control.Config{SpecPath: *file, Region: region, AccountID: accountID},
		control.Deps{Logger: logger, Runner: runner, Gateway: gw, Transport: transport, APIKeys: keys, Store: limiter})
	if err := ctl.Apply(ctx, sp); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError{1}
	}

	awsMux := http.NewServeMux()
	awsMux.Handle("/v2/", ctl.Handler())
	awsMux.Handle(apikey.HandlerPrefix, keys.Handler())
	awsMux.Handle(apikey.HandlerPrefix+"/", keys.Handler())
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
	ctl.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// accessStores opens where throttle buckets, quotas and API keys live: in
// this process (run-time keys persisted under dataDir), or in Redis.
func accessStores(ctx context.Context, redisURL string, failOpen bool, timeout time.Duration, dataDir string, logger *slog.Logger) (throttle.Store, *apikey.Registry, error) {
	if redisURL == "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("data dir: %w", err)
		}
		local := throttle.NewLocal(nil)
		keys, err := apikey.New(apikey.Config{Store: local, DataFile: filepath.Join(dataDir, "apikeys.json"), Logger: logger})
		return local, keys, err
	}
	redis.SetLogger(redisLog{logger})
	store, err := throttle.NewRedis(ctx, redisURL, throttle.RedisOptions{FailOpen: failOpen, Timeout: timeout})
	if err != nil {
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	keys, err := apikey.New(apikey.Config{Store: store, RedisURL: redisURL, RedisTimeout: timeout, Logger: logger})
	return store, keys, err
}

// dataDirFor is the data directory: the flag's, or .portico beside the
// spec file.
func dataDirFor(specFile, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(filepath.Dir(specFile), ".portico")
}

// redisLog sends go-redis's own messages (reconnect attempts) to the
// logger at debug level instead of stderr.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
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
