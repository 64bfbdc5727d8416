package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/awsauth"
	"github.com/portico-dev/portico/internal/control"
	"github.com/portico-dev/portico/internal/functionurl"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/integration/httpproxy"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/asyncq"
	"github.com/portico-dev/portico/internal/lambda/bootstrap"
	"github.com/portico-dev/portico/internal/lambda/build"
	"github.com/portico-dev/portico/internal/observe"
	"github.com/portico-dev/portico/internal/observe/accesslog"
	"github.com/portico-dev/portico/internal/observe/console"
	"github.com/portico-dev/portico/internal/observe/live"
	"github.com/portico-dev/portico/internal/observe/metrics"
	"github.com/portico-dev/portico/internal/observe/trace"
	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/pulumiyaml"
	"github.com/portico-dev/portico/internal/redisconn"
	"github.com/portico-dev/portico/internal/s3"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
	"github.com/portico-dev/portico/internal/websocket"
	"github.com/redis/go-redis/v9"
)

// Portico's local identity, used in ARNs and events.
const (
	region    = "us-east-1"
	accountID = "000000000000"
)

// options configure a running system (the flags of `portico up`).
type options struct {
	webSocketLimits   websocket.Limits // zero fields: AWS's
	file              string
	program           string // a Pulumi program's directory, instead of file
	stack             string // the Pulumi stack a Go program runs as
	programTimeout    time.Duration
	strict            bool // a Pulumi program's routes behave as on AWS where Portico would tolerate a difference
	listen, awsListen string
	adminListen       string // "" for none
	maxConcurrency    int
	logDir, dataDir   string
	accessLog         bool
	redisURL          string
	redisFailOpen     bool
	redisTimeout      time.Duration
	otlpEndpoint      string
	traceSampleRatio  float64 // 0 means every trace
	logLevel          slog.Level
	admin             awsauth.Admin    // given admin credentials and console token (else generated)
	pprof             bool             // serve /debug/pprof/ on the admin listener
	timeouts          gateway.Timeouts // how long clients may take to send requests
	functionOutput    bool             // echo functions' logs to stderr, prefixed with their names
	asyncRetryDelay   time.Duration    // first retry of a failed Event invoke; 0 means Lambda's 1m
	oneShot           bool             // portico invoke: no durable event queue (a running portico may hold it)
	isolation         string           // lambda.Config.Isolation: "" (auto), "sandbox" or "none"
	tls               tlsOptions       // the HTTPS listener, HTTP/2 without TLS
}

// system is everything `portico up` runs, wired in one place: the gateway,
// the function runner, the S3 store, the controller that keeps them in
// line with the spec, and the listeners.
type system struct {
	spec     *spec.Spec
	program  *pulumiyaml.Program // when started from a Pulumi program
	logger   *slog.Logger
	runner   *lambda.Runner
	ctl      *control.Controller
	gwLn     net.Listener
	tlsURL   string // the gateway's HTTPS listener, "" for none
	awsURL   string
	adminURL string
	admin    awsauth.Admin // the admin credentials and console token
	tokenReq bool          // the admin listener asks for the token
	servers  []*http.Server
	errc     chan error
	closers  []func() // run in reverse order by stop
}

// start builds and starts a system for o; stop it with stop.
func start(ctx context.Context, o options, stderr io.Writer) (_ *system, err error) {
	s := &system{logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel})), errc: make(chan error, 3)}
	defer func() {
		if err != nil {
			s.stop(time.Second)
		}
	}()
	if s.gwLn, err = net.Listen("tcp", o.listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.closers = append(s.closers, func() { s.gwLn.Close() })
	load, watched := func() (*spec.Spec, error) { return spec.Load(o.file) }, o.file
	var watchDirs []string
	if o.program != "" {
		// A Pulumi program: its resources become the same model.
		var runGo bool
		if load, runGo, err = s.programLoader(ctx, o, stderr); err != nil {
			return nil, err
		}
		if runGo {
			watchDirs = []string{o.program}
		}
		watched = filepath.Join(o.program, pulumiyaml.ProjectFile)
		o.file = watched
	}
	if s.spec, err = load(); err != nil {
		return nil, err
	}
	awsLn, err := net.Listen("tcp", o.awsListen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.closers = append(s.closers, func() { awsLn.Close() })
	s.awsURL = "http://" + awsLn.Addr().String()
	dir := dataDirFor(o.file, o.dataDir)
	if s.admin, err = awsauth.LoadOrCreateAdmin(dir, o.admin); err != nil {
		return nil, err
	}

	met := metrics.New()
	tr, err := trace.New(trace.Config{Endpoint: o.otlpEndpoint, ServiceName: "portico", SampleRatio: o.traceSampleRatio}, trace.Deps{Logger: s.logger})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = tr.Shutdown(context.Background()) })

	fnCreds, err := lambda.NewFunctionCredentials(nil)
	if err != nil {
		return nil, err
	}
	var events asyncq.Store // asynchronous invocations, until delivered; nil: in memory
	if !o.oneShot {
		db, err := asyncq.Open(filepath.Join(dir, "lambda", "events.db"))
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { db.Close() })
		events = db
	}
	var ctl *control.Controller // the runner asks it for each sandbox's credentials
	cacheDir := lambda.DefaultCacheDir()
	resolver := bootstrap.NewResolver(cacheDir) // one for the runner and the builder: same interpreters
	var output io.Writer
	if o.functionOutput {
		output = stderr
	}
	s.runner, err = lambda.New(lambda.Config{
		CacheDir:         cacheDir,
		Output:           output,
		Credentials:      func(fn lambda.Function) (string, string, string) { return ctl.FunctionCredentials(fn) },
		Region:           region,
		AccountID:        accountID,
		MaxConcurrency:   o.maxConcurrency,
		LogDir:           o.logDir,
		AWSEndpoint:      s.awsURL,
		Isolation:        o.isolation,
		AsyncRetryDelays: retryDelays(o.asyncRetryDelay),
	}, lambda.Deps{Logger: s.logger, Observer: met, Tracer: tr, Resolver: lambda.BootstrapResolver{R: resolver}, EventStore: events})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.runner.Close(cctx)
	})

	limiter, keys, closer, err := accessStores(ctx, o.redisURL, o.redisFailOpen, o.redisTimeout, dir, s.logger)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { closer.Close() })
	lv := live.New(live.Config{})
	sinks := []observe.Sink{met, lv}
	if o.accessLog {
		f, _ := accesslog.Compile("") // the default JSON record
		sink := accesslog.NewSink(f, stderr, accesslog.Options{})
		s.closers = append(s.closers, func() { sink.Close() })
		sinks = append(sinks, sink)
	}
	gw := gateway.New(gateway.Deps{Logger: s.logger, Limiter: limiter, APIKeys: control.KeyChecker{Registry: keys}, Sinks: sinks, Tracer: tr, Timeouts: o.timeouts})
	transport, err := httpproxy.NewTransport(httpproxy.TransportConfig{})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, transport.Close)
	keyring := &s3.Keyring{}
	wsConns := &websocket.Registry{}
	store, err := s3.New(s3.Config{DataDir: dir, Region: region}, s3.Deps{Principals: keyring, Logger: s.logger, Notifier: control.S3Events{Runner: s.runner}})
	if err != nil {
		return nil, err
	}
	ctl = control.New(control.Config{SpecPath: watched, WatchDirs: watchDirs, Load: load, Region: region, AccountID: accountID,
		GatewayAddr: s.gwLn.Addr().String(), DataDir: dir},
		control.Deps{Logger: s.logger, Runner: s.runner, Gateway: gw, Transport: transport, APIKeys: keys, Store: limiter,
			Metrics: met, WebSockets: &control.WebSockets{Registry: wsConns, Sinks: sinks, Limits: o.webSocketLimits}, Storage: &control.Storage{Server: store, Keyring: keyring, Credentials: fnCreds,
				Admin: sigv4.Credentials{AccessKeyID: s.admin.AccessKeyID, SecretAccessKey: s.admin.SecretAccessKey}},
			Builder: build.New(build.Config{Dir: filepath.Join(cacheDir, "build")}, build.Deps{Logger: s.logger, Interpreters: build.BootstrapInterpreters{R: resolver}})})
	s.ctl = ctl
	if err := met.CounterFunc("portico_access_log_dropped_total", "Access log records dropped because their destination could not keep up.",
		func() float64 { return float64(ctl.AccessLogDropped()) }); err != nil {
		return nil, err
	}
	if err := met.Queues(s.runner.Queues); err != nil {
		return nil, err
	}
	if err := ctl.Apply(ctx, s.spec); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, ctl.Close)
	s.closers = append(s.closers, func() { // before the runner stops: $disconnect still runs
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wsConns.Close(cctx)
	})

	awsMux := http.NewServeMux()
	awsMux.Handle("/v2/", ctl.Handler())
	awsMux.Handle(apikey.HandlerPrefix, keys.Handler())
	awsMux.Handle(apikey.HandlerPrefix+"/", keys.Handler())
	awsMux.Handle("/", ctl.LambdaHandler(s.runner.Handler())) // management, else the Invoke API, else a JSON error
	gwSrv := gateway.NewHTTPServer(gw, o.timeouts)
	if o.tls.h2c {
		gwSrv = h2cServer(gwSrv)
	}
	s.serve(gwSrv, gateway.FramingListener(s.gwLn))
	if s.tlsURL, err = s.startTLS(o.tls, dir, gw, o.timeouts); err != nil {
		return nil, err
	}
	gate, err := awsauth.New(awsauth.Config{Region: region, AccountID: accountID},
		awsauth.Deps{Principals: keyring, S3: store, Next: awsMux, Logger: s.logger})
	if err != nil {
		return nil, err
	}
	s.serve(&http.Server{Handler: gate, ReadHeaderTimeout: 30 * time.Second}, awsLn)

	if o.adminListen != "" {
		adminLn, err := net.Listen("tcp", o.adminListen)
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		s.adminURL = "http://" + adminLn.Addr().String()
		con, err := console.New(console.Config{Live: lv, Topology: topology{ctl}, Functions: functions{s.runner}, Logs: logs{s.runner}, Connections: wsConnections{wsConns}})
		if err != nil {
			return nil, err
		}
		admin := http.NewServeMux()
		admin.Handle("/metrics", met.Handler())
		if o.pprof {
			admin.HandleFunc("/debug/pprof/", pprof.Index)
			admin.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		admin.Handle("/", con)
		var h http.Handler = admin
		if s.tokenReq = !isLoopback(adminLn.Addr().String()); s.tokenReq {
			h = requireToken(admin, s.admin.ConsoleToken)
		}
		// Functions share the loopback: the console (every function's
		// requests and logs) is not theirs to read.
		s.serve(&http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}, s.runner.RefuseSandboxes(adminLn))
	}
	return s, nil
}

// serve runs srv on ln until stop.
func (s *system) serve(srv *http.Server, ln net.Listener) {
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
}

// stop drains the servers for at most drain, then releases everything in
// reverse order of creation: deployments (flushing access logs), function
// processes, stores.
func (s *system) stop(drain time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// accessStores opens where throttle buckets, quotas and API keys live: in
// this process (run-time keys persisted under dataDir), or in Redis.
func accessStores(ctx context.Context, redisURL string, failOpen bool, timeout time.Duration, dataDir string, logger *slog.Logger) (throttle.Store, *apikey.Registry, io.Closer, error) {
	if redisURL == "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, nil, nil, fmt.Errorf("data dir: %w", err)
		}
		local := throttle.NewLocal(nil)
		keys, err := apikey.New(apikey.Config{Store: local, DataFile: filepath.Join(dataDir, "apikeys.json"), Logger: logger})
		return local, keys, keys, err
	}
	redis.SetLogger(redisLog{logger})
	rc, err := redisconn.Dial(ctx, redisURL, timeout) // one client for every Redis store
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := throttle.NewRedis(ctx, rc, throttle.RedisOptions{FailOpen: failOpen, Timeout: timeout})
	if err != nil {
		rc.Close()
		return nil, nil, nil, fmt.Errorf("redis: %w", err)
	}
	keys, err := apikey.New(apikey.Config{Store: store, Redis: rc, RedisTimeout: timeout, Logger: logger})
	if err != nil {
		rc.Close()
		return nil, nil, nil, err
	}
	return store, keys, closeBoth{keys, rc}, nil
}

// retryDelays are the waits before the two retries of a failed
// asynchronous invocation: first, then twice that (nil: Lambda's).
func retryDelays(first time.Duration) []time.Duration {
	if first <= 0 {
		return nil
	}
	return []time.Duration{first, 2 * first}
}

// programLoader returns the loader of the Pulumi program in o.program: a
// YAML program is read; a Go, Python or Node.js program is built (or its
// dependencies installed) and run against Portico's resource monitor on
// every load (runGo).
func (s *system) programLoader(ctx context.Context, o options, stderr io.Writer) (load func() (*spec.Spec, error), runGo bool, err error) {
	proj, err := pulumirun.ReadProject(o.program)
	if err != nil {
		return nil, false, err
	}
	gwURL := "http://" + s.gwLn.Addr().String()
	endpoint := func(string) string { return gwURL }
	keep := func(p *pulumiyaml.Program, err error) (*spec.Spec, error) {
		if err != nil {
			return nil, err
		}
		s.program = p
		return p.Spec, nil
	}
	switch proj.Runtime {
	case "yaml":
		return func() (*spec.Spec, error) {
			return keep(pulumiyaml.Load(o.program, pulumiyaml.Options{APIEndpoint: endpoint}))
		}, false, nil
	case "go", "python", "nodejs":
		cfg := pulumirun.Config{
			Dir:         o.program,
			Stack:       o.stack,
			BuildDir:    filepath.Join(dataDirFor(filepath.Join(o.program, pulumiyaml.ProjectFile), o.dataDir), "pulumi"),
			Timeout:     o.programTimeout,
			Strict:      o.strict,
			APIEndpoint: endpoint,
			Output:      stderr,
		}
		return func() (*spec.Spec, error) { return keep(pulumirun.Run(ctx, cfg)) }, true, nil
	}
	return nil, false, fmt.Errorf("%s: runtime %q: Portico runs Pulumi programs written in YAML, Go, Python or TypeScript/JavaScript (nodejs)", filepath.Join(o.program, pulumiyaml.ProjectFile), proj.Runtime)
}

// dataDirFor is the data directory: the flag's, or .portico beside the
// spec file.
func dataDirFor(specFile, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return filepath.Join(filepath.Dir(specFile), ".portico")
}

// closeBoth closes the API key registry, then the Redis client it shares.
type closeBoth struct{ keys, rc io.Closer }

func (c closeBoth) Close() error { return errors.Join(c.keys.Close(), c.rc.Close()) }

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
			scheme := "http"
			if a.ProtocolType == spec.WebSocket {
				scheme = "ws"
			}
			lines = append(lines, fmt.Sprintf("endpoint %s %s %s://%s%s", name, st, scheme, host, path))
		}
	}
	for _, name := range sortedNames(sp.Functions) {
		if sp.Functions[name].URL != nil {
			id := spec.DeriveURLID(name)
			lines = append(lines, fmt.Sprintf("function-url %s http://%s/ http://%s%s%s/", name,
				net.JoinHostPort(functionurl.Host(id, region), strconv.Itoa(addr.Port)), addr, functionurl.PathPrefix, name))
		}
	}
	sort.Strings(lines)
	return lines
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
