// Package apikey implements API keys and usage plans, borrowed from API
// Gateway's REST APIs (HTTP APIs lack them): a route that requires a key is
// served only to requests whose x-api-key names an enabled key whose usage
// plan covers the API stage, within the plan's per-key throttle and quota.
//
// Keys come from the spec (immutable, never persisted) or are created at run
// time; run-time keys live in memory, optionally persisted to a JSON file, or
// in Redis so that several replicas share them. A Registry is safe for
// concurrent use.
package apikey

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/redisconn"
	"github.com/portico-dev/portico/internal/throttle"
)

// Plan is a usage plan.
type Plan struct {
	// Name identifies the plan; keys refer to it.
	Name string
	// Throttle is the per-key token bucket; nil means no per-key throttle.
	Throttle *throttle.Limit
	// QuotaLimit is the number of requests a key may make per QuotaPeriod
	// (0 refuses every request); ignored when QuotaPeriod is "".
	QuotaLimit int64
	// QuotaPeriod is DAY, WEEK or MONTH (UTC calendar windows), or "" for
	// no quota (requests are then still counted per DAY for Usage).
	QuotaPeriod throttle.Period
	// Stages are the "apiName/stageName" pairs the plan's keys may call.
	Stages []string
	// TokenLimits caps each key's model tokens on OpenAI-compatible routes
	// (the spec's tokenLimits); the zero value limits nothing.
	TokenLimits openai.TokenLimit
}

// Key is an API key.
type Key struct {
	Name    string    `json:"name"`
	Value   string    `json:"value,omitempty"`
	Plan    string    `json:"plan"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"created"`
}

// Config configures a Registry.
type Config struct {
	// Plans are the usage plans (from the spec).
	Plans []Plan
	// Keys are the spec's keys. They are never written to DataFile or Redis
	// and cannot be deleted at run time. Enabled must be true for a key to
	// be usable. An empty Value gets a random one at New (it then changes
	// on every start: set it when clients must keep their key).
	Keys []Key
	// Store holds per-key buckets and quota counters; nil means an
	// in-memory throttle.Local. Use the gateway's Redis store to share them.
	Store throttle.Store
	// DataFile persists run-time keys as JSON (written atomically); ""
	// keeps them in memory only. Exclusive with Redis.
	DataFile string
	// Redis keeps run-time keys in Redis, shared by every Registry using
	// the same server and RedisPrefix. The client is the process's one
	// (redisconn.Dial); the Registry does not close it.
	Redis *redisconn.Client
	// RedisPrefix is prepended to the Redis keys; "" means "portico:".
	RedisPrefix string
	// RedisTimeout bounds each call to Redis; 0 means 200 ms.
	RedisTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives store errors tolerated by a fail-open Store; nil
	// discards them.
	Logger *slog.Logger
}

// Usage is a key's consumption in the current quota window.
type Usage struct {
	Key    string          `json:"key"`
	Plan   string          `json:"plan"`
	Period throttle.Period `json:"period"`
	Used   int64           `json:"used"`
	// Limit is the quota, or -1 when the plan has none.
	Limit int64 `json:"limit"`
	// Remaining is Limit-Used, or -1 when the plan has no quota.
	Remaining int64     `json:"remaining"`
	Reset     time.Time `json:"reset"`
	// Tokens are the key's model tokens on OpenAI-compatible routes.
	Tokens TokenUsage `json:"tokens"`
}

// TokenUsage is a key's model tokens in the current UTC minute and day.
type TokenUsage struct {
	Minute TokenWindow `json:"minute"`
	Day    TokenWindow `json:"day"`
}

// TokenWindow is a key's model tokens in one window.
type TokenWindow struct {
	Prompt     int64 `json:"prompt"`
	Completion int64 `json:"completion"`
	Total      int64 `json:"total"`
	// Limit is the plan's token limit for the window, or -1 for none.
	Limit int64     `json:"limit"`
	Reset time.Time `json:"reset"`
}

// Errors. Check wraps the first four in an *edge.Error of kind Forbidden;
// the management methods return the others wrapped.
var (
	ErrMissingKey   = errors.New("api key missing")
	ErrUnknownKey   = errors.New("api key unknown")
	ErrDisabledKey  = errors.New("api key disabled")
	ErrStageDenied  = errors.New("api key's usage plan does not cover the stage")
	ErrQuotaSpent   = errors.New("api key quota exceeded")
	ErrNotFound     = errors.New("no such api key")
	ErrExists       = errors.New("api key already exists")
	ErrSpecKey      = errors.New("api key is defined in the spec")
	ErrInvalid      = errors.New("invalid")
	ErrUnknownPlan  = errors.New("unknown usage plan")
	errUnavailable  = errors.New("api key store unavailable")
	nameRE          = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	defaultRedisTTL = 200 * time.Millisecond
)

// Registry holds the plans and keys and enforces them.
type Registry struct {
	cur   atomic.Pointer[specSet] // replaced by Update on redeploys
	rt    keyring
	store throttle.Store
	now   func() time.Time
	log   *slog.Logger
}

type plan struct {
	Plan
	stages map[string]bool
}

// specSet is what the spec defines: the plans and the spec's keys.
type specSet struct {
	plans map[string]*plan
	spec  map[string]*Key // by value
	specN map[string]*Key // by name
}

// keyring holds the run-time keys.
type keyring interface {
	byValue(ctx context.Context, value string) (*Key, error) // nil, nil: none
	byName(ctx context.Context, name string) (*Key, error)   // nil, nil: none
	create(ctx context.Context, k Key) error                 // ErrExists
	delete(ctx context.Context, name string) error           // ErrNotFound
	list(ctx context.Context) ([]Key, error)
	close() error
}

// New validates cfg, collecting every problem, and builds a Registry,
// loading the run-time keys from DataFile or connecting to Redis.
func New(cfg Config) (*Registry, error) {
	r := &Registry{
		store: cfg.Store,
		now:   cfg.Now,
		log:   cfg.Logger,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.store == nil {
		r.store = throttle.NewLocal(r.now)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	set, err := r.compile(cfg.Plans, cfg.Keys)
	if err != nil {
		errs = append(errs, err)
	}
	r.cur.Store(set)
	if cfg.DataFile != "" && cfg.Redis != nil {
		errs = append(errs, errors.New("api keys: DataFile and Redis are exclusive"))
	}
	if cfg.RedisTimeout < 0 {
		errs = append(errs, fmt.Errorf("api keys: redis timeout %v: must be >= 0", cfg.RedisTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	switch {
	case cfg.Redis != nil:
		t := cfg.RedisTimeout
		if t == 0 {
			t = defaultRedisTTL
		}
		prefix := cfg.RedisPrefix
		if prefix == "" {
			prefix = "portico:"
		}
		r.rt = newRedisKeys(cfg.Redis, prefix, t)
	default:
		r.rt, err = newMemKeys(cfg.DataFile)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Update replaces the spec's plans and keys (a redeploy); run-time keys,
// buckets and quota counters stay. On error nothing changes.
func (r *Registry) Update(plans []Plan, keys []Key) error {
	set, err := r.compile(plans, keys)
	if err != nil {
		return err
	}
	r.cur.Store(set)
	return nil
}

// compile validates plans and spec keys, collecting every problem.
func (r *Registry) compile(plans []Plan, keys []Key) (*specSet, error) {
	set := &specSet{plans: map[string]*plan{}, spec: map[string]*Key{}, specN: map[string]*Key{}}
	var errs []error
	for i, p := range plans {
		if err := validatePlan(p); err != nil {
			errs = append(errs, fmt.Errorf("usage plan %d (%q): %w", i, p.Name, err))
			continue
		}
		if set.plans[p.Name] != nil {
			errs = append(errs, fmt.Errorf("usage plan %q: defined twice", p.Name))
			continue
		}
		cp := &plan{Plan: p, stages: map[string]bool{}}
		for _, s := range p.Stages {
			cp.stages[s] = true
		}
		set.plans[p.Name] = cp
	}
	for i, k := range keys {
		if k.Value == "" {
			v, err := NewValue()
			if err != nil {
				return nil, err
			}
			k.Value = v
		}
		if err := validateKey(k); err != nil {
			errs = append(errs, fmt.Errorf("api key %d (%q): %w", i, k.Name, err))
			continue
		}
		if set.plans[k.Plan] == nil {
			errs = append(errs, fmt.Errorf("api key %q: plan %q: %w", k.Name, k.Plan, ErrUnknownPlan))
			continue
		}
		if set.specN[k.Name] != nil {
			errs = append(errs, fmt.Errorf("api key %q: defined twice", k.Name))
			continue
		}
		if set.spec[k.Value] != nil {
			errs = append(errs, fmt.Errorf("api key %q: same value as key %q", k.Name, set.spec[k.Value].Name))
			continue
		}
		if k.Created.IsZero() {
			k.Created = r.now().UTC()
		}
		kp := &k
		set.spec[k.Value], set.specN[k.Name] = kp, kp
	}
	return set, errors.Join(errs...)
}

// Close releases what the Registry holds (not the shared Redis client).
func (r *Registry) Close() error { return r.rt.close() }

func validatePlan(p Plan) error {
	var errs []error
	if !nameRE.MatchString(p.Name) {
		errs = append(errs, fmt.Errorf("name %q: %w: want 1-128 letters, digits, '.', '_' or '-'", p.Name, ErrInvalid))
	}
	if p.Throttle != nil {
		if err := p.Throttle.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.TokenLimits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if p.QuotaPeriod != "" {
		if _, err := throttle.ParsePeriod(string(p.QuotaPeriod)); err != nil {
			errs = append(errs, err)
		}
		if p.QuotaLimit < 0 {
			errs = append(errs, fmt.Errorf("quota limit %d: must be >= 0", p.QuotaLimit))
		}
	} else if p.QuotaLimit != 0 {
		errs = append(errs, fmt.Errorf("quota limit %d without a period (DAY, WEEK or MONTH)", p.QuotaLimit))
	}
	for _, s := range p.Stages {
		api, stage, ok := strings.Cut(s, "/")
		if !ok || api == "" || stage == "" || strings.Contains(stage, "/") {
			errs = append(errs, fmt.Errorf("stage %q: want \"api/stage\"", s))
		}
	}
	return errors.Join(errs...)
}

func validateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("key name %q: %w: want 1-128 letters, digits, '.', '_' or '-', not starting with a symbol", name, ErrInvalid)
	}
	return nil
}

func validateKey(k Key) error {
	if err := validateName(k.Name); err != nil {
		return err
	}
	if n := len(k.Value); n < 20 || n > 128 {
		return fmt.Errorf("value: %w: %d characters, want 20 to 128 (as API Gateway)", ErrInvalid, n)
	}
	for _, c := range k.Value {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("value: %w: want printable ASCII without spaces", ErrInvalid)
		}
	}
	return nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewValue returns a random 40-character alphanumeric key value, the shape
// of the values API Gateway generates.
func NewValue() (string, error) {
	out := make([]byte, 0, 40)
	buf := make([]byte, 64)
	for len(out) < 40 {
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			return "", fmt.Errorf("api key value: random: %w", err)
		}
		for _, b := range buf {
			if b < 248 && len(out) < 40 { // 248 = 4*62: no modulo bias
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out), nil
}

func forbidden(err error) error { return &edge.Error{Kind: edge.Forbidden, Cause: err} }

// Check authorizes a request carrying the x-api-key value to apiStage
// ("apiName/stageName"). It returns the key and nil when the request may go
// on. Otherwise the error is an *edge.Error: Forbidden (403) for a missing,
// unknown, disabled or deleted key or a plan without this stage (wrapping
// ErrMissingKey, ErrUnknownKey, ErrDisabledKey or ErrStageDenied);
// TooManyRequests (429) when the plan's per-key bucket is empty or its
// quota is spent (wrapping ErrQuotaSpent; d.RetryAfter then runs to the
// window's reset); ServiceUnavailable (503) when a store failed closed.
// Errors of a fail-open store are logged and the request goes on.
func (r *Registry) Check(ctx context.Context, value string, apiStage string) (*Key, throttle.Decision, error) {
	if value == "" {
		return nil, throttle.Decision{}, forbidden(ErrMissingKey)
	}
	k := r.cur.Load().spec[value]
	if k == nil {
		rk, err := r.rt.byValue(ctx, value)
		if err != nil {
			return nil, throttle.Decision{}, &edge.Error{Kind: edge.ServiceUnavailable, Cause: err}
		}
		if rk == nil {
			return nil, throttle.Decision{}, forbidden(ErrUnknownKey)
		}
		k = rk
	}
	if !k.Enabled {
		return nil, throttle.Decision{}, forbidden(fmt.Errorf("%w: %s", ErrDisabledKey, k.Name))
	}
	p := r.cur.Load().plans[k.Plan]
	if p == nil || !p.stages[apiStage] {
		return nil, throttle.Decision{}, forbidden(fmt.Errorf("%w: key %s, stage %s", ErrStageDenied, k.Name, apiStage))
	}
	bucket := "apikey:" + k.Name
	d := throttle.Decision{Allowed: true}
	if p.Throttle != nil {
		var err error
		d, err = r.store.Take(ctx, bucket, *p.Throttle)
		if err != nil && d.Allowed {
			r.log.WarnContext(ctx, "api key throttle store failed open", "key", k.Name, "err", err)
		}
		if e := throttle.Refusal(d, err, false); e != nil {
			return nil, d, e
		}
	}
	period, limit := p.QuotaPeriod, p.QuotaLimit
	if period == "" {
		period, limit = throttle.Day, -1
	}
	_, ok, reset, err := r.store.Add(ctx, bucket, period, limit, 1)
	switch {
	case err != nil && ok:
		r.log.WarnContext(ctx, "api key quota store failed open", "key", k.Name, "err", err)
	case err != nil:
		return nil, throttle.Decision{}, &edge.Error{Kind: edge.ServiceUnavailable, Cause: err}
	case !ok:
		d = throttle.Decision{RetryAfter: max(reset.Sub(r.now()), 0)}
		return nil, d, &edge.Error{Kind: edge.TooManyRequests, Cause: fmt.Errorf("%w: key %s until %s", ErrQuotaSpent, k.Name, reset.Format(time.RFC3339))}
	}
	kc := *k
	return &kc, d, nil
}

// Create creates an enabled run-time key named name in plan, with a random
// 40-character value. Errors wrap ErrInvalid (bad name), ErrUnknownPlan,
// ErrExists (a spec or run-time key has that name) or a storage failure.
func (r *Registry) Create(ctx context.Context, name, planName string) (*Key, error) {
	if err := validateName(name); err != nil {
		return nil, fmt.Errorf("create api key: %w", err)
	}
	if r.cur.Load().plans[planName] == nil {
		return nil, fmt.Errorf("create api key %s: plan %q: %w", name, planName, ErrUnknownPlan)
	}
	if r.cur.Load().specN[name] != nil {
		return nil, fmt.Errorf("create api key %s: %w (in the spec)", name, ErrExists)
	}
	v, err := NewValue()
	if err != nil {
		return nil, err
	}
	k := Key{Name: name, Value: v, Plan: planName, Enabled: true, Created: r.now().UTC().Truncate(time.Second)}
	if err := r.rt.create(ctx, k); err != nil {
		return nil, fmt.Errorf("create api key %s: %w", name, err)
	}
	return &k, nil
}

// Delete deletes the run-time key name; requests carrying it are refused
// from the next Check on. Errors wrap ErrSpecKey, ErrNotFound or a storage
// failure.
func (r *Registry) Delete(ctx context.Context, name string) error {
	if r.cur.Load().specN[name] != nil {
		return fmt.Errorf("delete api key %s: %w; remove it from the spec", name, ErrSpecKey)
	}
	if err := r.rt.delete(ctx, name); err != nil {
		return fmt.Errorf("delete api key %s: %w", name, err)
	}
	return nil
}

// List returns the spec keys and then the run-time keys, each group sorted
// by name.
func (r *Registry) List(ctx context.Context) ([]Key, error) {
	out := make([]Key, 0, len(r.cur.Load().specN))
	for _, k := range r.cur.Load().specN {
		out = append(out, *k)
	}
	sortKeys(out)
	rt, err := r.rt.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	sortKeys(rt)
	return append(out, rt...), nil
}

// byName finds a spec or run-time key; errors wrap ErrNotFound.
func (r *Registry) byName(ctx context.Context, name string) (*Key, error) {
	if k := r.cur.Load().specN[name]; k != nil {
		return k, nil
	}
	rk, err := r.rt.byName(ctx, name)
	if err != nil {
		return nil, err
	}
	if rk == nil {
		return nil, ErrNotFound
	}
	return rk, nil
}

// TokenLimit returns the token limits of key name's usage plan, for
// openai.Limits.APIKey. A spec key costs a map lookup; a run-time key a
// lookup in its store. Errors wrap ErrNotFound or a storage failure.
func (r *Registry) TokenLimit(ctx context.Context, name string) (openai.TokenLimit, error) {
	k, err := r.byName(ctx, name)
	if err != nil {
		return openai.TokenLimit{}, fmt.Errorf("api key %s token limit: %w", name, err)
	}
	if p := r.cur.Load().plans[k.Plan]; p != nil {
		return p.TokenLimits, nil
	}
	return openai.TokenLimit{}, nil
}

// Usage reports the requests key name made in the current quota window
// (the current UTC day when its plan has no quota), and its model tokens
// in the current UTC minute and day, read from the Store under the
// counters package openai charges (openai.APIKeyCounter). Errors wrap
// ErrNotFound.
func (r *Registry) Usage(ctx context.Context, name string) (Usage, error) {
	k, err := r.byName(ctx, name)
	if err != nil {
		return Usage{}, fmt.Errorf("api key %s usage: %w", name, err)
	}
	u := Usage{Key: k.Name, Plan: k.Plan, Period: throttle.Day, Limit: -1, Remaining: -1}
	if p := r.cur.Load().plans[k.Plan]; p != nil && p.QuotaPeriod != "" {
		u.Period, u.Limit = p.QuotaPeriod, p.QuotaLimit
	}
	used, reset, err := r.store.Used(ctx, "apikey:"+k.Name, u.Period)
	if err != nil {
		return Usage{}, fmt.Errorf("api key %s usage: %w", name, err)
	}
	u.Used, u.Reset = used, reset
	if u.Limit >= 0 {
		u.Remaining = max(u.Limit-used, 0)
	}
	var tl openai.TokenLimit
	if p := r.cur.Load().plans[k.Plan]; p != nil {
		tl = p.TokenLimits
	}
	for _, w := range []struct {
		win   *TokenWindow
		p     throttle.Period
		limit int64
	}{{&u.Tokens.Minute, throttle.Minute, tl.PerMinute}, {&u.Tokens.Day, throttle.Day, tl.PerDay}} {
		w.win.Limit = -1
		if w.limit > 0 {
			w.win.Limit = w.limit
		}
		for _, c := range []struct {
			dst *int64
			c   openai.Counter
		}{{&w.win.Prompt, openai.Prompt}, {&w.win.Completion, openai.Completion}, {&w.win.Total, openai.Total}} {
			n, reset, err := r.store.Used(ctx, openai.APIKeyCounter(k.Name, c.c), w.p)
			if err != nil {
				return Usage{}, fmt.Errorf("api key %s token usage: %w", name, err)
			}
			*c.dst, w.win.Reset = n, reset
		}
	}
	return u, nil
}
