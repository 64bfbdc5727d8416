// Package system wires everything `portico up` runs into one value: the
// listeners, the gateway, the function runner, the S3 store, the access
// stores and the controller that keeps them in line with the spec. The
// command line and the end-to-end tests start it the same way (Start), and
// stop it with Stop.
package system

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
	"github.com/portico-dev/portico/internal/lambda/invokeapi"
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
	Region    = "us-east-1"
	AccountID = "000000000000"
)

// Options configure a running system (the flags of `portico up`). The
// zero value of a field is its flag's zero, not its flag's default: give
// Listen and AWSListen (127.0.0.1:0 picks free ports).
type Options struct {
	WebSocketLimits   websocket.Limits // zero fields: AWS's
	File              string           // the spec; its directory holds the state (.portico) unless DataDir is given
	Program           string           // a Pulumi program's directory, instead of File
	Stack             string           // the Pulumi stack a Go program runs as
	ProgramTimeout    time.Duration
	Strict            bool // a Pulumi program's routes behave as on AWS where Portico would tolerate a difference
	Listen, AWSListen string
	AdminListen       string // "" for none
	MaxConcurrency    int
	LogDir, DataDir   string
	AccessLog         bool
	RedisURL          string
	RedisFailOpen     bool
	RedisTimeout      time.Duration
	OTLPEndpoint      string
	TraceSampleRatio  float64 // 0 means every trace
	LogLevel          slog.Level
	Admin             awsauth.Admin    // given admin credentials and console token (else generated)
	Pprof             bool             // serve /debug/pprof/ on the admin listener
	Timeouts          gateway.Timeouts // how long clients may take to send requests
	FunctionOutput    bool             // echo functions' logs to stderr, prefixed with their names
	AsyncRetryDelay   time.Duration    // first retry of a failed Event invoke; 0 means Lambda's 1m
	OneShot           bool             // portico invoke: no durable event queue (a running portico may hold it)
	Isolation         string           // lambda.Config.Isolation: "" (auto), "sandbox" or "none"
	TLS               TLSOptions       // the HTTPS listener, HTTP/2 without TLS
}

// System is everything `portico up` runs, wired in one place: the gateway,
// the function runner, the S3 store, the controller that keeps them in
// line with the spec, and the listeners. Start sets the exported fields;
// they are read-only afterwards.
type System struct {
	Spec          *spec.Spec
	Program       *pulumiyaml.Program // when started from a Pulumi program
	Logger        *slog.Logger
	Runner        *lambda.Runner
	Controller    *control.Controller
	gwLn          net.Listener
	TLSURL        string // the gateway's HTTPS listener, "" for none
	AWSURL        string
	AdminURL      string
	Admin         awsauth.Admin // the admin credentials and console token
	TokenRequired bool          // the admin listener asks for the token
	servers       []*http.Server
	errc          chan error
	closers       []func() // run in reverse order by Stop
}

// Start builds and starts a system for o, writing its logs (and, with
// o.FunctionOutput, functions' output) to stderr. On an error nothing is
// left running. Stop it with Stop; Err reports a listener that failed.
func Start(ctx context.Context, o Options, stderr io.Writer) (_ *System, err error) {
	s := &System{Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.LogLevel})), errc: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.Stop(time.Second)
		}
	}()
	if s.gwLn, err = net.Listen("tcp", o.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.closers = append(s.closers, func() { s.gwLn.Close() })
	load, watched := func() (*spec.Spec, error) { return spec.Load(o.File) }, o.File
	var watchDirs []string
	if o.Program != "" {
		// A Pulumi program: its resources become the same model.
		var runGo bool
		if load, runGo, err = s.programLoader(ctx, o, stderr); err != nil {
			return nil, err
		}
		if runGo {
			watchDirs = []string{o.Program}
		}
		watched = filepath.Join(o.Program, pulumiyaml.ProjectFile)
		o.File = watched
	}
	if s.Spec, err = load(); err != nil {
		return nil, err
	}
	awsLn, err := net.Listen("tcp", o.AWSListen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.closers = append(s.closers, func() { awsLn.Close() })
	s.AWSURL = "http://" + awsLn.Addr().String()
	dir := DataDir(o.File, o.DataDir)
	if s.Admin, err = awsauth.LoadOrCreateAdmin(dir, o.Admin); err != nil {
		return nil, err
	}

	met := metrics.New()
	tr, err := trace.New(trace.Config{Endpoint: o.OTLPEndpoint, ServiceName: "portico", SampleRatio: o.TraceSampleRatio}, trace.Deps{Logger: s.Logger})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = tr.Shutdown(context.Background()) })

	fnCreds, err := lambda.NewFunctionCredentials(nil)
	if err != nil {
		return nil, err
	}
	var events asyncq.Store // asynchronous invocations, until delivered; nil: in memory
	if !o.OneShot {
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
	if o.FunctionOutput {
		output = stderr
	}
	s.Runner, err = lambda.New(lambda.Config{
		CacheDir:         cacheDir,
		Output:           output,
		Credentials:      func(fn lambda.Function) (string, string, string) { return ctl.FunctionCredentials(fn) },
		Region:           Region,
		AccountID:        AccountID,
		MaxConcurrency:   o.MaxConcurrency,
		LogDir:           o.LogDir,
		AWSEndpoint:      s.AWSURL,
		Isolation:        o.Isolation,
		AsyncRetryDelays: retryDelays(o.AsyncRetryDelay),
	}, lambda.Deps{Logger: s.Logger, Observer: met, Tracer: tr, Resolver: lambda.BootstrapResolver{R: resolver}, EventStore: events})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Runner.Close(cctx)
	})

	limiter, keys, closer, err := accessStores(ctx, o.RedisURL, o.RedisFailOpen, o.RedisTimeout, dir, s.Logger)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { closer.Close() })
	lv := live.New(live.Config{})
	sinks := []observe.Sink{met, lv}
	if o.AccessLog {
		f, _ := accesslog.Compile("") // the default JSON record
		sink := accesslog.NewSink(f, stderr, accesslog.Options{})
		s.closers = append(s.closers, func() { sink.Close() })
		sinks = append(sinks, sink)
	}
	gw := gateway.New(gateway.Deps{Logger: s.Logger, Limiter: limiter, APIKeys: control.KeyChecker{Registry: keys}, Sinks: sinks, Tracer: tr, Timeouts: o.Timeouts})
	transport, err := httpproxy.NewTransport(httpproxy.TransportConfig{})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, transport.Close)
	keyring := &s3.Keyring{}
	wsConns := &websocket.Registry{}
	store, err := s3.New(s3.Config{DataDir: dir, Region: Region}, s3.Deps{Principals: keyring, Logger: s.Logger, Notifier: control.S3Events{Runner: s.Runner}})
	if err != nil {
		return nil, err
	}
	ctl = control.New(control.Config{SpecPath: watched, WatchDirs: watchDirs, Load: load, Region: Region, AccountID: AccountID,
		GatewayAddr: s.gwLn.Addr().String(), DataDir: dir},
		control.Deps{Logger: s.Logger, Runner: s.Runner, Gateway: gw, Transport: transport, APIKeys: keys, Store: limiter,
			Metrics: met, WebSockets: &control.WebSockets{Registry: wsConns, Sinks: sinks, Limits: o.WebSocketLimits}, Storage: &control.Storage{Server: store, Keyring: keyring, Credentials: fnCreds,
				Admin: sigv4.Credentials{AccessKeyID: s.Admin.AccessKeyID, SecretAccessKey: s.Admin.SecretAccessKey}},
			Builder: build.New(build.Config{Dir: filepath.Join(cacheDir, "build")}, build.Deps{Logger: s.Logger, Interpreters: build.BootstrapInterpreters{R: resolver}})})
	s.Controller = ctl
	if err := met.CounterFunc("portico_access_log_dropped_total", "Access log records dropped because their destination could not keep up.",
		func() float64 { return float64(ctl.AccessLogDropped()) }); err != nil {
		return nil, err
	}
	if err := met.Queues(s.Runner.Queues); err != nil {
		return nil, err
	}
	if err := ctl.Apply(ctx, s.Spec); err != nil {
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
	awsMux.Handle("/", ctl.LambdaHandler(invokeapi.New(s.Runner))) // management, else the Invoke API, else a JSON error
	gwSrv := gateway.NewHTTPServer(gw, o.Timeouts)
	if o.TLS.H2C {
		gwSrv = h2cServer(gwSrv)
	}
	s.serve(gwSrv, gateway.FramingListener(s.gwLn))
	if s.TLSURL, err = s.startTLS(o.TLS, dir, gw, o.Timeouts); err != nil {
		return nil, err
	}
	gate, err := awsauth.New(awsauth.Config{Region: Region, AccountID: AccountID},
		awsauth.Deps{Principals: keyring, S3: store, Next: awsMux, Logger: s.Logger})
	if err != nil {
		return nil, err
	}
	s.serve(&http.Server{Handler: gate, ReadHeaderTimeout: 30 * time.Second}, awsLn)

	if o.AdminListen != "" {
		adminLn, err := net.Listen("tcp", o.AdminListen)
		if err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
		s.AdminURL = "http://" + adminLn.Addr().String()
		con, err := console.New(console.Config{Live: lv, Topology: topology{ctl}, Functions: functions{s.Runner}, Logs: logs{s.Runner}, Connections: wsConnections{wsConns}})
		if err != nil {
			return nil, err
		}
		admin := http.NewServeMux()
		admin.Handle("/metrics", met.Handler())
		if o.Pprof {
			admin.HandleFunc("/debug/pprof/", pprof.Index)
			admin.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		admin.Handle("/", con)
		var h http.Handler = admin
		if s.TokenRequired = !isLoopback(adminLn.Addr().String()); s.TokenRequired {
			h = requireToken(admin, s.Admin.ConsoleToken)
		}
		// Functions share the loopback: the console (every function's
		// requests and logs) is not theirs to read.
		s.serve(&http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}, s.Runner.RefuseSandboxes(adminLn))
	}
	return s, nil
}

// GatewayAddr is the address the HTTP APIs are served on (--listen).
func (s *System) GatewayAddr() *net.TCPAddr { return s.gwLn.Addr().(*net.TCPAddr) }

// Err receives the error of a listener that stopped serving before Stop.
func (s *System) Err() <-chan error { return s.errc }

// serve runs srv on ln until Stop.
func (s *System) serve(srv *http.Server, ln net.Listener) {
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case s.errc <- err:
			default: // one stopped listener is enough to report; never block
			}
		}
	}()
}

// Stop drains the servers for at most drain, then releases everything in
// reverse order of creation: deployments (flushing access logs), function
// processes, stores.
func (s *System) Stop(drain time.Duration) {
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

// programLoader returns the loader of the Pulumi program in o.Program: a
// YAML program is read; a Go, Python or Node.js program is built (or its
// dependencies installed) and run against Portico's resource monitor on
// every load (runGo).
func (s *System) programLoader(ctx context.Context, o Options, stderr io.Writer) (load func() (*spec.Spec, error), runGo bool, err error) {
	proj, err := pulumirun.ReadProject(o.Program)
	if err != nil {
		return nil, false, err
	}
	gwURL := "http://" + s.gwLn.Addr().String()
	endpoint := func(string) string { return gwURL }
	keep := func(p *pulumiyaml.Program, err error) (*spec.Spec, error) {
		if err != nil {
			return nil, err
		}
		s.Program = p
		return p.Spec, nil
	}
	switch proj.Runtime {
	case "yaml":
		return func() (*spec.Spec, error) {
			return keep(pulumiyaml.Load(o.Program, pulumiyaml.Options{APIEndpoint: endpoint, Strict: o.Strict}))
		}, false, nil
	case "go", "python", "nodejs":
		cfg := pulumirun.Config{
			Dir:         o.Program,
			Stack:       o.Stack,
			BuildDir:    filepath.Join(DataDir(filepath.Join(o.Program, pulumiyaml.ProjectFile), o.DataDir), "pulumi"),
			Timeout:     o.ProgramTimeout,
			Strict:      o.Strict,
			APIEndpoint: endpoint,
			Output:      stderr,
		}
		return func() (*spec.Spec, error) { return keep(pulumirun.Run(ctx, cfg)) }, true, nil
	}
	return nil, false, fmt.Errorf("%s: runtime %q: Portico runs Pulumi programs written in YAML, Go, Python or TypeScript/JavaScript (nodejs)", filepath.Join(o.Program, pulumiyaml.ProjectFile), proj.Runtime)
}

// DataDir is the data directory: the flag's, or .portico beside the
// spec file.
func DataDir(specFile, flagValue string) string {
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

// Endpoints lists each API stage's URL, as the seed exports api_endpoint.
// With one API the listener serves it at any host name; with several, each
// is reached through its own host name, {apiId}.execute-api.localhost.
func Endpoints(sp *spec.Spec, addr *net.TCPAddr) []string {
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
				net.JoinHostPort(functionurl.Host(id, Region), strconv.Itoa(addr.Port)), addr, functionurl.PathPrefix, name))
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
