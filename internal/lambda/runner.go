package lambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/lambda/asyncq"
	"github.com/portico-dev/portico/internal/lambda/bootstrap"
	"github.com/portico-dev/portico/internal/lambda/execenv"
)

// Config configures a Runner. Zero values mean the documented defaults.
type Config struct {
	// Region of the function ARNs and AWS_REGION. Default us-east-1.
	Region string
	// AccountID of the function ARNs. Default 000000000000.
	AccountID string
	// MaxConcurrency caps the sandboxes (runtime processes) across all
	// functions. Default 32.
	MaxConcurrency int
	// IdleTimeout stops a sandbox that has been idle this long. Default 10m.
	IdleTimeout time.Duration
	// InitTimeout bounds a runtime's init phase (until its first /next) on
	// top of the function timeout, as Lambda retries a slow init within the
	// first invocation. Default 10s.
	InitTimeout time.Duration
	// LogDir, when set, receives one append-only file per function
	// (NAME.log) besides the in-memory buffer.
	LogDir string
	// LogBufferBytes bounds each function's in-memory log. Default 1 MiB.
	LogBufferBytes int
	// CacheDir is for runtime artefacts (bootstrap scripts, Go builds) of
	// the default resolver. Default: the user's cache directory + /portico.
	CacheDir string
	// AWSEndpoint, when set, is given to functions as AWS_ENDPOINT_URL so
	// AWS SDKs talk to Portico.
	AWSEndpoint string
	// Credentials, when set, returns the AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN a function's sandboxes
	// receive (an empty token leaves AWS_SESSION_TOKEN unset); see
	// FunctionCredentials. Nil: New uses a FunctionCredentials with a
	// random secret (credentials no other service knows; none is a
	// constant another function could guess).
	Credentials func(fn Function) (id, secret, token string)
	// AsyncRetryDelays are the waits before each retry of a failed Event
	// invocation. Default [1m, 2m] (Lambda retries twice); empty non-nil
	// means no retries.
	AsyncRetryDelays []time.Duration
	// AsyncThrottleDelay is the first wait before retrying an Event
	// invocation that was throttled; it doubles with each throttle up to
	// AsyncMaxThrottleDelay. Default 1s.
	AsyncThrottleDelay time.Duration
	// AsyncMaxThrottleDelay caps the throttle back-off. Default 5m (as
	// Lambda documents).
	AsyncMaxThrottleDelay time.Duration
	// AsyncMaxEventAge is the maximum event age of functions without an
	// invocation.EventInvokeConfig that sets one. Default 6h.
	AsyncMaxEventAge time.Duration
	// MaxQueuedEvents caps Event invocations held (queued, waiting for a
	// retry or running); beyond it Event invokes get 429. Default 10000.
	MaxQueuedEvents int
	// Output, when set, receives every line of every function's log
	// (START, END, REPORT and what the function prints), each prefixed
	// with the function's name in brackets, as `sam local start-api` shows
	// them; writes are whole lines, serialised.
	Output io.Writer
	// MemoryLimit forces a memory enforcement mode (MemoryCgroup2,
	// MemoryCgroup1, MemoryRlimit, MemoryNone); "" picks the best the
	// machine allows.
	MemoryLimit string
	// Isolation chooses how functions are isolated from each other and
	// from the runner: IsolationAuto (sandboxes where the machine allows
	// them), IsolationSandbox (required) or IsolationNone.
	Isolation string
	// SandboxUIDs are the UIDs of sandboxes when the runner is root.
	// Default 2000000000 and the 65535 after it.
	SandboxUIDs UIDRange
	// SandboxPids caps the processes and threads of one sandbox. Default
	// 1024, as Lambda.
	SandboxPids int
}

// Deps are the Runner's collaborators.
type Deps struct {
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default: time.Now
	// Resolver says how to start runtimes; default: the bootstrap package
	// over Config.CacheDir (python, node, provided).
	Resolver Resolver
	// Observer, when set, receives invocations, throttles and sandbox
	// state changes (metrics).
	Observer Observer
	// Tracer, when set, wraps each invocation in a trace span and gives the
	// function its trace header.
	Tracer InvokeTracer
	// EventStore keeps asynchronous invocations until they are done (see
	// package asyncq); the Runner does not close it. Nil: in memory, lost
	// with the process.
	EventStore asyncq.Store
}

// Runner runs Lambda functions as local sandboxes and serves the Invoke
// API. It is safe for concurrent use.
type Runner struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	resolver Resolver
	host     *execenv.Host // isolation, limits: the execution environments' side
	obs      Observer      // nil: no observation
	tracer   InvokeTracer  // nil: no tracing
	output   *output       // nil: logs are not echoed

	deployMu sync.Mutex
	pools    atomic.Pointer[map[string]*pool]
	slots    atomic.Int64 // sandboxes alive or starting, all functions

	logsMu sync.Mutex
	logs   map[string]*logBuffer

	wg           sync.WaitGroup // the reaper (sandboxes' goroutines: host.Wait)
	closeStarted atomic.Bool
	closing      atomic.Bool // set once queued events are done
	stop         chan struct{}

	events   eventQueue
	policies policies
}

// New returns a Runner with no functions; call Deploy.
func New(cfg Config, deps Deps) (*Runner, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = 32
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.InitTimeout == 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	if cfg.LogBufferBytes == 0 {
		cfg.LogBufferBytes = 1 << 20
	}
	if cfg.AsyncRetryDelays == nil {
		cfg.AsyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}
	}
	if cfg.AsyncThrottleDelay == 0 {
		cfg.AsyncThrottleDelay = time.Second
	}
	if cfg.AsyncMaxThrottleDelay == 0 {
		cfg.AsyncMaxThrottleDelay = 5 * time.Minute
	}
	if cfg.AsyncMaxEventAge == 0 {
		cfg.AsyncMaxEventAge = 6 * time.Hour
	}
	if cfg.MaxQueuedEvents == 0 {
		cfg.MaxQueuedEvents = 10000
	}
	if cfg.Credentials == nil {
		fc, err := NewFunctionCredentials(nil)
		if err != nil {
			return nil, err
		}
		cfg.Credentials = fc.For
	}
	if cfg.SandboxUIDs == (UIDRange{}) {
		cfg.SandboxUIDs = UIDRange{First: 2000000000, Count: 65536}
	}
	if cfg.SandboxPids == 0 {
		cfg.SandboxPids = execenv.DefaultSandboxPids
	}
	var errs []error
	if cfg.MaxConcurrency < 0 {
		errs = append(errs, fmt.Errorf("max concurrency %d: must be positive", cfg.MaxConcurrency))
	}
	if cfg.IdleTimeout < 0 || cfg.InitTimeout < 0 {
		errs = append(errs, errors.New("idle and init timeouts must be positive"))
	}
	if cfg.LogBufferBytes < 0 {
		errs = append(errs, fmt.Errorf("log buffer bytes %d: must be positive", cfg.LogBufferBytes))
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(cfg.AccountID) {
		errs = append(errs, fmt.Errorf("account id %q: must be 12 digits", cfg.AccountID))
	}
	switch cfg.MemoryLimit {
	case "", MemoryCgroup1, MemoryCgroup2, MemoryRlimit, MemoryNone:
	default:
		errs = append(errs, fmt.Errorf("memory limit mode %q: unknown", cfg.MemoryLimit))
	}
	switch cfg.Isolation {
	case IsolationAuto, IsolationSandbox, IsolationNone:
	default:
		errs = append(errs, fmt.Errorf("isolation %q: must be sandbox or none", cfg.Isolation))
	}
	if u := cfg.SandboxUIDs; u.First < 1 || u.Count < 1 || u.First+u.Count-1 > 1<<31-2 {
		errs = append(errs, fmt.Errorf("sandbox UIDs %d+%d: must be a range of positive 31-bit IDs", u.First, u.Count))
	}
	if cfg.SandboxPids < 0 {
		errs = append(errs, fmt.Errorf("sandbox pids %d: must be positive", cfg.SandboxPids))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("lambda runner config: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = defaultCacheDir()
	}
	if deps.Resolver == nil {
		deps.Resolver = BootstrapResolver{R: bootstrap.NewResolver(cfg.CacheDir)}
	}
	host, err := execenv.NewHost(execenv.HostConfig{Isolation: cfg.Isolation, MemoryLimit: cfg.MemoryLimit,
		CacheDir: cfg.CacheDir, SandboxUIDs: cfg.SandboxUIDs, SandboxPids: cfg.SandboxPids}, deps.Now)
	if err != nil {
		return nil, fmt.Errorf("lambda runner: isolation: %w", err)
	}
	r := &Runner{
		cfg:      cfg,
		log:      deps.Logger,
		now:      deps.Now,
		resolver: deps.Resolver,
		obs:      deps.Observer,
		tracer:   deps.Tracer,
		host:     host,
		logs:     map[string]*logBuffer{},
		stop:     make(chan struct{}),
	}
	if cfg.Output != nil {
		r.output = &output{w: cfg.Output}
	}
	r.pools.Store(&map[string]*pool{})
	if err := r.events.init(r, deps.EventStore); err != nil {
		return nil, err
	}
	isolated, isoDetail := r.IsolationStatus()
	if !isolated {
		isoDetail = "none (" + isoDetail + ")"
	}
	r.log.Info("lambda runner", "memory_limit", r.host.MemoryMode(), "max_concurrency", cfg.MaxConcurrency, "isolation", isoDetail)
	r.wg.Add(1)
	go r.reaper()
	return r, nil
}

// MemoryLimitMode is the memory enforcement mode in use (see MemoryCgroup2
// and friends).
func (r *Runner) MemoryLimitMode() string { return r.host.MemoryMode() }

// functionNameRE is Lambda's function name constraint.
var functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// prepare defaults and validates one function.
func (r *Runner) prepare(fn Function) (Function, error) {
	if fn.Timeout == 0 {
		fn.Timeout = 3 * time.Second
	}
	if fn.MemoryMB == 0 {
		fn.MemoryMB = 128
	}
	if fn.EphemeralStorageMB == 0 {
		fn.EphemeralStorageMB = execenv.DefaultEphemeralMB
	}
	var errs []error
	if !functionNameRE.MatchString(fn.Name) {
		errs = append(errs, fmt.Errorf("name %q: must be 1-64 letters, digits, - or _", fn.Name))
	}
	if fn.Runtime == "" {
		errs = append(errs, errors.New("runtime: missing"))
	}
	if fn.Timeout < time.Second && fn.Timeout > 0 || fn.Timeout > 900*time.Second || fn.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: must be between 1s and 900s", fn.Timeout))
	}
	if fn.MemoryMB < 128 || fn.MemoryMB > 10240 {
		errs = append(errs, fmt.Errorf("memory %d MB: must be between 128 and 10240", fn.MemoryMB))
	}
	if st, err := os.Stat(fn.CodeDir); err != nil {
		errs = append(errs, fmt.Errorf("code directory %q: %w", fn.CodeDir, err))
	} else if !st.IsDir() {
		errs = append(errs, fmt.Errorf("code directory %q: not a directory", fn.CodeDir))
	}
	if err := r.host.CheckReadable("code directory", fn.CodeDir); err != nil {
		errs = append(errs, err)
	}
	if fn.OptDir != "" {
		if st, err := os.Stat(fn.OptDir); err != nil {
			errs = append(errs, fmt.Errorf("layers directory %q: %w", fn.OptDir, err))
		} else if !st.IsDir() {
			errs = append(errs, fmt.Errorf("layers directory %q: not a directory", fn.OptDir))
		} else if err := r.host.CheckReadable("layers directory", fn.OptDir); err != nil {
			errs = append(errs, err)
		}
	}
	if fn.EphemeralStorageMB < 512 || fn.EphemeralStorageMB > 10240 {
		errs = append(errs, fmt.Errorf("ephemeral storage %d MB: must be between 512 and 10240", fn.EphemeralStorageMB))
	}
	if err := validateEnv(fn.Environment); err != nil {
		errs = append(errs, fmt.Errorf("environment: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fn, fmt.Errorf("function %s: %w", fn.Name, err)
	}
	return fn, nil
}

// Deploy sets the whole function set. Every function is validated first;
// if any is invalid nothing changes and the error lists every problem.
// Unchanged functions (same configuration and Revision) keep their warm
// sandboxes; changed and removed ones are drained: in-flight invocations
// finish, then their sandboxes stop.
func (r *Runner) Deploy(ctx context.Context, fns []Function) error {
	if r.closing.Load() {
		return errors.New("lambda deploy: runner closed")
	}
	prepared := make([]Function, 0, len(fns))
	seen := map[string]bool{}
	var errs []error
	for _, fn := range fns {
		p, err := r.prepare(fn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("function %s: defined twice", p.Name))
		}
		seen[p.Name] = true
		prepared = append(prepared, p)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lambda deploy: %w", err)
	}
	r.deployMu.Lock()
	defer r.deployMu.Unlock()
	old := *r.pools.Load()
	next := make(map[string]*pool, len(prepared))
	for _, fn := range prepared {
		if p := old[fn.Name]; p != nil && reflect.DeepEqual(p.fn, fn) {
			next[fn.Name] = p
			continue
		}
		logs, err := r.logBufferFor(fn.Name)
		if err != nil {
			return fmt.Errorf("lambda deploy: %w", err)
		}
		p := r.newPool(fn, logs)
		// Resolve the runtime now (interpreter lookup, Go build): a
		// missing interpreter or bootstrap fails the deploy with a clear
		// error, and the first invocation's cold start does not pay for it.
		if _, err := p.resolve(ctx); err != nil {
			return fmt.Errorf("lambda deploy: function %s: %w", fn.Name, err)
		}
		next[fn.Name] = p
	}
	r.pools.Store(&next)
	for name, p := range old {
		if next[name] != p {
			p.Drain()
		}
	}
	r.events.deployedOnce()
	return nil
}

// lookup returns the pool of a function name, nil if unknown.
func (r *Runner) lookup(name string) *pool { return (*r.pools.Load())[name] }

// reaper stops idle sandboxes after the idle timeout.
func (r *Runner) reaper() {
	defer r.wg.Done()
	every := r.cfg.IdleTimeout / 2
	if every < 10*time.Millisecond {
		every = 10 * time.Millisecond
	}
	if every > 30*time.Second {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			cutoff := r.now().Add(-r.cfg.IdleTimeout)
			for _, p := range *r.pools.Load() {
				p.Reap(cutoff)
			}
		}
	}
}

// Close stops the runner: running Event invocations (and, without a disk
// EventStore, the queued ones that are due) get until ctx ends to finish,
// then every sandbox is killed and every goroutine waited for. It
// returns ctx's error if that wait was cut short.
func (r *Runner) Close(ctx context.Context) error {
	if !r.closeStarted.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	if err := r.events.close(ctx); err != nil {
		errs = append(errs, err)
	}
	r.closing.Store(true)
	r.deployMu.Lock()
	pools := *r.pools.Load()
	r.pools.Store(&map[string]*pool{})
	r.deployMu.Unlock()
	for _, p := range pools {
		p.Drain()
		p.KillBusy()
	}
	close(r.stop)
	done := make(chan struct{})
	go func() { r.wg.Wait(); r.host.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("lambda close: waiting for sandboxes: %w", ctx.Err()))
	}
	r.host.Close()
	r.logsMu.Lock()
	for _, b := range r.logs {
		if err := b.close(); err != nil {
			errs = append(errs, err)
		}
	}
	r.logsMu.Unlock()
	return errors.Join(errs...)
}
