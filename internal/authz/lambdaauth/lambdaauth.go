// Package lambdaauth is the Lambda REQUEST authorizer of HTTP APIs: it
// resolves the authorizer's identity sources, invokes the authorizer
// function with a payload format 1.0 or 2.0 authorizer event, and turns its
// simple or IAM-policy response into a decision, caching results by the
// identity-source values the way Amazon API Gateway does.
//
// docs/authorizers-lambda.md lists every rule and the AWS sources behind it.
package lambdaauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/authz"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/integration/lambdaproxy"
	"github.com/portico-dev/portico/internal/invocation"
)

// Defaults and limits of Config.
const (
	// DefaultResultTTL is API Gateway's authorizerResultTtlInSeconds when
	// a spec omits it (300 s, apigatewayv2 API model). New does not apply
	// it: a zero ResultTTL means "no caching", so the caller passes this
	// when the setting is absent.
	DefaultResultTTL = 300 * time.Second
	// MaxResultTTL is the largest authorizerResultTtlInSeconds (3600 s).
	MaxResultTTL = time.Hour
	// DefaultTimeout is how long API Gateway waits for an authorizer
	// function (10 s).
	DefaultTimeout = 10 * time.Second
	// DefaultMaxCacheEntries bounds the result cache of one authorizer.
	DefaultMaxCacheEntries = 10000
)

// Invoker runs one synchronous invocation; *lambda.Runner satisfies it.
//
// Invoke returns the function's result, including function errors (in
// Result.FunctionError), or an error when the invocation could not
// run (a *invocation.ServiceError, ctx's error, anything else). It must not
// keep req.Payload after it returns.
type Invoker interface {
	Invoke(ctx context.Context, req *invocation.Request) (*invocation.Result, error)
}

// Config is one Lambda REQUEST authorizer (an authorizer of type REQUEST in
// the spec).
type Config struct {
	// Function is the authorizer function: a name, an ARN or a partial
	// ARN, optionally with a :qualifier, passed to the Invoker unchanged.
	Function string
	// PayloadFormatVersion is authorizerPayloadFormatVersion: "1.0" or
	// "2.0" (required).
	PayloadFormatVersion string
	// EnableSimpleResponses lets a 2.0 authorizer answer
	// {"isAuthorized": bool, "context": {...}} instead of an IAM policy.
	// It is an error with payload format 1.0.
	EnableSimpleResponses bool
	// IdentitySource lists the identity source selection expressions
	// ($request.header.X, $request.querystring.X, $context.X,
	// $stageVariables.X). When any is absent or empty in a request, the
	// client gets 401 without the function being called. With none,
	// results are never cached.
	IdentitySource []string
	// ResultTTL is authorizerResultTtlInSeconds: how long a result is
	// reused for requests with the same identity-source values; 0 disables
	// caching, at most 1 h. Pass DefaultResultTTL when the spec omits it.
	ResultTTL time.Duration
	// Region and AccountID make up route ARNs
	// (arn:aws:execute-api:REGION:ACCOUNT:...). Region defaults to
	// us-east-1; AccountID stands in when the request carries none.
	Region, AccountID string
	// Now is the clock of the result cache; default time.Now.
	Now func() time.Time
	// Timeout bounds one invocation of the function; default 10 s.
	Timeout time.Duration
	// MaxCacheEntries bounds the result cache (least recently used
	// entries are evicted first); default 10 000.
	MaxCacheEntries int
}

// Authorizer is a Lambda REQUEST authorizer. It is safe for concurrent use.
type Authorizer struct {
	cfg     Config
	inv     Invoker
	sources []authz.Source
	v1      bool
	simple  bool
	caching bool
	cache   *cache
}

// New validates cfg, applies its defaults and returns the authorizer, which
// invokes the function through inv. The error lists every problem of cfg.
func New(cfg Config, inv Invoker) (*Authorizer, error) {
	var errs []error
	if cfg.Function == "" {
		errs = append(errs, errors.New("lambda authorizer: function is required"))
	}
	switch cfg.PayloadFormatVersion {
	case "2.0":
	case "1.0":
		if cfg.EnableSimpleResponses {
			errs = append(errs, errors.New("lambda authorizer: enableSimpleResponses needs authorizerPayloadFormatVersion \"2.0\""))
		}
	default:
		errs = append(errs, fmt.Errorf("lambda authorizer: authorizerPayloadFormatVersion %q: must be \"1.0\" or \"2.0\"", cfg.PayloadFormatVersion))
	}
	sources, err := authz.ParseSources(cfg.IdentitySource)
	if err != nil {
		errs = append(errs, fmt.Errorf("lambda authorizer: %w", err))
	}
	if cfg.ResultTTL < 0 || cfg.ResultTTL > MaxResultTTL {
		errs = append(errs, fmt.Errorf("lambda authorizer: authorizerResultTtlInSeconds %v: must be between 0 and 3600 seconds", cfg.ResultTTL.Seconds()))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("lambda authorizer: timeout %v: must not be negative", cfg.Timeout))
	}
	if cfg.MaxCacheEntries < 0 {
		errs = append(errs, fmt.Errorf("lambda authorizer: max cache entries %d: must not be negative", cfg.MaxCacheEntries))
	}
	if inv == nil {
		errs = append(errs, errors.New("lambda authorizer: no invoker"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxCacheEntries == 0 {
		cfg.MaxCacheEntries = DefaultMaxCacheEntries
	}
	cfg.IdentitySource = append([]string(nil), cfg.IdentitySource...)
	return &Authorizer{
		cfg:     cfg,
		inv:     inv,
		sources: sources,
		v1:      cfg.PayloadFormatVersion == "1.0",
		simple:  cfg.EnableSimpleResponses,
		caching: cfg.ResultTTL > 0 && len(sources) > 0,
		cache:   newCache(cfg.MaxCacheEntries),
	}, nil
}

// Authorize decides whether r may proceed to its integration. scopes are
// ignored (Lambda authorizers have no authorization scopes).
//
// On success it returns the caller identity for the integration: Lambda is
// the context the function returned (an empty map when it returned none;
// with payload format 1.0 every value is a string) and PrincipalID is the
// principalId of an IAM-policy response. The value may be shared with other
// requests and must not be modified.
//
// Otherwise it returns nil and an error, never having written anything:
// an *edge.Error of kind Unauthorized (401) when an identity source is
// absent or empty (the function is not called), Forbidden (403) when the
// function denied the request, InternalError (500) when the function
// failed, timed out, could not be invoked or answered something that is not
// a valid authorizer response. When ctx ends first (the client went away)
// the error wraps ctx's error and is not an *edge.Error.
func (a *Authorizer) Authorize(ctx context.Context, r *integration.Request, _ []string) (*integration.Authorizer, error) {
	if r.AccountID == "" && a.cfg.AccountID != "" {
		rr := *r
		rr.AccountID = a.cfg.AccountID
		r = &rr
	}
	var vbuf [4]string
	values := vbuf[:0]
	for _, s := range a.sources {
		v, ok := s.Value(r)
		if !ok {
			return nil, edge.New(edge.Unauthorized, fmt.Errorf("lambda authorizer %s: identity source %s is missing or empty", a.cfg.Function, s))
		}
		values = append(values, v)
	}
	routeARN := authz.RouteARN(a.cfg.Region, r)

	var res *result
	var err error
	if a.caching {
		res, err = a.cached(ctx, r, routeARN, values)
	} else {
		res, err = a.invoke(ctx, r, routeARN, values)
	}
	if err != nil {
		return nil, err
	}
	return a.decide(res, routeARN)
}

// decide applies a (possibly cached) result to the request's route ARN.
func (a *Authorizer) decide(res *result, routeARN string) (*integration.Authorizer, error) {
	if !res.allows(routeARN) {
		return nil, edge.New(edge.Forbidden, fmt.Errorf("lambda authorizer %s: denied %s", a.cfg.Function, routeARN))
	}
	return res.identity, nil
}

// FlushCache drops every cached result; invocations in flight when it is
// called are not cached either. Use it for ResetAuthorizersCache and
// redeploys.
func (a *Authorizer) FlushCache() { a.cache.flush() }

// cached returns the cached result for the request's identity, or invokes
// the function once for all concurrent requests with the same identity and
// caches what it answered.
func (a *Authorizer) cached(ctx context.Context, r *integration.Request, routeARN string, values []string) (*result, error) {
	var kbuf [128]byte
	key := appendKey(kbuf[:0], r, values)
	if res := a.cache.get(key, a.cfg.Now()); res != nil {
		return res, nil
	}
	// The event is built here, while r is certainly alive: the shared
	// invocation may outlive this request.
	payload, traceID := a.event(r, routeARN, values), lambdaproxy.TraceID(r)
	return a.cache.do(ctx, string(key), func(ctx context.Context) (*result, time.Time, error) {
		res, err := a.call(ctx, payload, traceID)
		return res, a.cfg.Now().Add(a.cfg.ResultTTL), err
	})
}

// appendKey appends the cache key of a request: its API, stage and
// identity-source values, each length-prefixed so that no two different
// value lists share a key. ($context.routeKey, when it is an identity
// source, puts the route key in the values.)
func appendKey(dst []byte, r *integration.Request, values []string) []byte {
	dst = appendField(dst, r.APIID)
	dst = appendField(dst, r.Stage)
	for _, v := range values {
		dst = appendField(dst, v)
	}
	return dst
}

func appendField(dst []byte, s string) []byte {
	n := len(s)
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	dst = append(dst, byte(n))
	return append(dst, s...)
}

// invoke calls the function for r and parses its answer.
func (a *Authorizer) invoke(ctx context.Context, r *integration.Request, routeARN string, values []string) (*result, error) {
	return a.call(ctx, a.event(r, routeARN, values), lambdaproxy.TraceID(r))
}

// event encodes the authorizer event for r.
func (a *Authorizer) event(r *integration.Request, routeARN string, values []string) []byte {
	if a.v1 {
		return lambdaproxy.AppendAuthorizerEventV1(make([]byte, 0, 2048), r, routeARN, values)
	}
	return lambdaproxy.AppendAuthorizerEventV2(make([]byte, 0, 2048), r, routeARN, values)
}

// call invokes the function with payload and parses its answer. The
// function's own time limit is applied here; ctx ending first means nobody
// waits for the answer any more.
func (a *Authorizer) call(ctx context.Context, payload []byte, traceID string) (*result, error) {
	ictx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	out, err := a.inv.Invoke(ictx, &invocation.Request{
		FunctionName: a.cfg.Function,
		Payload:      payload,
		TraceID:      traceID,
	})
	if err != nil {
		err = fmt.Errorf("lambda authorizer %s: invoke: %w", a.cfg.Function, err)
		if ctx.Err() != nil {
			return nil, err // the client went away: nothing to render
		}
		return nil, edge.New(edge.InternalError, err)
	}
	if out == nil {
		return nil, edge.New(edge.InternalError, fmt.Errorf("lambda authorizer %s: invoke returned no result", a.cfg.Function))
	}
	if out.FunctionError != "" {
		return nil, edge.New(edge.InternalError, fmt.Errorf("lambda authorizer %s: function error %s: %s", a.cfg.Function, out.FunctionError, truncate(out.Payload)))
	}
	res, err := parseResponse(out.Payload, a.simple, a.v1)
	if err != nil {
		return nil, edge.New(edge.InternalError, fmt.Errorf("lambda authorizer %s: %w", a.cfg.Function, err))
	}
	return res, nil
}

// truncate shortens a payload quoted in an error.
func truncate(b []byte) string {
	const max = 256
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
