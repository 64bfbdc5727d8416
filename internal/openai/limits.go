package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
)

// TokenLimit caps the tokens (total: prompt plus completion, as the upstream
// reports it) used per UTC calendar minute and per UTC day. 0 means no limit.
type TokenLimit struct {
	PerMinute int64
	PerDay    int64
}

// IsZero reports a limit that limits nothing.
func (l TokenLimit) IsZero() bool { return l.PerMinute <= 0 && l.PerDay <= 0 }

// Validate reports a negative field.
func (l TokenLimit) Validate() error {
	var errs []error
	if l.PerMinute < 0 {
		errs = append(errs, fmt.Errorf("token limit per minute %d: must be >= 0 (0: none)", l.PerMinute))
	}
	if l.PerDay < 0 {
		errs = append(errs, fmt.Errorf("token limit per day %d: must be >= 0 (0: none)", l.PerDay))
	}
	return errors.Join(errs...)
}

// FromSpec converts the spec's tokenLimits; nil or unset fields mean no limit.
func FromSpec(s *spec.TokenLimits) TokenLimit {
	var l TokenLimit
	if s == nil {
		return l
	}
	if s.PerMinute != nil {
		l.PerMinute = *s.PerMinute
	}
	if s.PerDay != nil {
		l.PerDay = *s.PerDay
	}
	return l
}

// Limits are the token limits of one route.
type Limits struct {
	// Store holds the token counters (quota counters of throttle.Minute
	// and throttle.Day windows); nil enforces no limit and counts nothing.
	// Use the gateway's Redis store so that replicas share the budgets.
	Store throttle.Store
	// Route is the route's budget, shared by every caller.
	Route TokenLimit
	// RouteID names the route's counters and must be unique across APIs
	// and stages; "" means APIID/Stage/RouteKey of the request.
	RouteID string
	// APIKey returns the budget of the API key name (its usage plan's
	// tokenLimits); nil means no per-key limit. A key's tokens are counted
	// whenever Store is set, limit or not, for usage reports.
	APIKey func(ctx context.Context, name string) (TokenLimit, error)
}

// Counter is one of the token counters kept per API key.
type Counter string

// The counters. Routes keep only Total.
const (
	Prompt     Counter = "prompt"
	Completion Counter = "completion"
	Total      Counter = "total"
)

// APIKeyCounter is the throttle.Store quota key of an API key's token
// counter, counted in throttle.Minute and throttle.Day windows:
// "tokens:apikey:NAME:prompt|completion|total".
func APIKeyCounter(name string, c Counter) string { return "tokens:apikey:" + name + ":" + string(c) }

// RouteCounter is the throttle.Store quota key of a route's total tokens,
// counted in throttle.Minute and throttle.Day windows:
// "tokens:route:ROUTEID:total".
func RouteCounter(routeID string, c Counter) string {
	return "tokens:route:" + routeID + ":" + string(c)
}

func (w *wrapper) routeID(r *integration.Request) string {
	if w.lim.RouteID != "" {
		return w.lim.RouteID
	}
	return r.APIID + "/" + r.Stage + "/" + r.RouteKey
}

var errTokensSpent = errors.New("token limit reached")

// admit refuses the request when the route's or the key's budget for the
// current minute or day is spent.
func (w *wrapper) admit(ctx context.Context, r *integration.Request, key string) error {
	st := w.lim.Store
	if st == nil {
		return nil
	}
	var reset time.Time
	var spent []string
	check := func(counter string, l TokenLimit) error {
		for _, pl := range [...]struct {
			p     throttle.Period
			limit int64
		}{{throttle.Minute, l.PerMinute}, {throttle.Day, l.PerDay}} {
			if pl.limit <= 0 {
				continue
			}
			// Adding 0 against limit-1 is refused exactly when used >= limit,
			// and follows the store's failure policy.
			_, ok, rs, err := st.Add(ctx, counter, pl.p, pl.limit-1, 0)
			switch {
			case err != nil && ok:
				w.log.WarnContext(ctx, "token limit store failed open", "counter", counter, "err", err)
			case err != nil:
				return &edge.Error{Kind: edge.ServiceUnavailable, Cause: fmt.Errorf("openai: token limit %s: %w", counter, err)}
			case !ok:
				spent = append(spent, fmt.Sprintf("%s per %s (%d)", counter, pl.p, pl.limit))
				if rs.After(reset) {
					reset = rs
				}
			}
		}
		return nil
	}
	if !w.lim.Route.IsZero() {
		if err := check(RouteCounter(w.routeID(r), Total), w.lim.Route); err != nil {
			return err
		}
	}
	if key != "" && w.lim.APIKey != nil {
		l, err := w.lim.APIKey(ctx, key)
		if err != nil {
			return &edge.Error{Kind: edge.ServiceUnavailable, Cause: fmt.Errorf("openai: token limit of api key %s: %w", key, err)}
		}
		if err := check(APIKeyCounter(key, Total), l); err != nil {
			return err
		}
	}
	if len(spent) == 0 {
		return nil
	}
	secs := int64(1)
	if d := reset.Sub(w.now()); d > 0 {
		secs = int64((d + time.Second - 1) / time.Second)
	}
	return &edge.Error{
		Kind:   edge.TooManyRequests,
		Cause:  fmt.Errorf("openai: %w: %v until %s", errTokensSpent, spent, reset.UTC().Format(time.RFC3339)),
		Header: http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}},
	}
}

// charge adds the request's tokens to the route's and the key's counters.
// Counters are never refused (the request has already been served).
func (w *wrapper) charge(ctx context.Context, r *integration.Request, key string, u Usage) {
	st := w.lim.Store
	if st == nil || !u.Known {
		return
	}
	add := func(counter string, n int64) {
		if n <= 0 {
			return
		}
		for _, p := range [...]throttle.Period{throttle.Minute, throttle.Day} {
			if _, _, _, err := st.Add(ctx, counter, p, -1, n); err != nil {
				w.log.WarnContext(ctx, "token counter not charged", "counter", counter, "period", p, "tokens", n, "err", err)
			}
		}
	}
	if !w.lim.Route.IsZero() {
		add(RouteCounter(w.routeID(r), Total), u.TotalTokens)
	}
	if key != "" {
		add(APIKeyCounter(key, Prompt), u.PromptTokens)
		add(APIKeyCounter(key, Completion), u.CompletionTokens)
		add(APIKeyCounter(key, Total), u.TotalTokens)
	}
}
