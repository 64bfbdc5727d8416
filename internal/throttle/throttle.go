// Package throttle implements API Gateway's throttling: token buckets
// (account, stage, route and API-key buckets) and request quotas counted per
// calendar window, either in process memory (Local) or shared by several
// Portico replicas through Redis (Redis).
//
// A Store is safe for concurrent use. Buckets and quota counters are named by
// the caller; the package gives no meaning to a key beyond its bytes.
package throttle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/edge"
)

// Limit is a token bucket: Burst is the bucket size and Rate the refill in
// tokens per second; each request takes one token, as in API Gateway.
//
// A bucket is created full. Burst 0 means the bucket can never hold a token,
// so every request is refused whatever Rate says: with Rate 0 and Burst 0 a
// bucket blocks all traffic, as API Gateway does for a throttle set to 0.
// Rate 0 with Burst > 0 admits Burst requests and then nothing more.
type Limit struct {
	Rate  float64 // tokens added per second, >= 0
	Burst int     // bucket size, >= 0
}

// Validate reports a negative, NaN or infinite field.
func (l Limit) Validate() error {
	if math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) || l.Rate < 0 {
		return fmt.Errorf("throttle limit: rate %v: must be a finite number >= 0", l.Rate)
	}
	if l.Burst < 0 {
		return fmt.Errorf("throttle limit: burst %d: must be >= 0", l.Burst)
	}
	return nil
}

// Decision is the outcome of taking a token.
type Decision struct {
	Allowed bool
	// RetryAfter is, when not Allowed, how long until a token (or the next
	// quota window) is available; zero when that is unknown or never (a
	// bucket with Rate 0, or a store that failed).
	RetryAfter time.Duration
}

// Store holds token buckets and quota counters.
//
// Errors: a store that cannot reach its backend (Redis down or slower than
// its timeout) returns an error wrapping ErrUnavailable together with the
// decision its failure policy dictates: Allowed when failing open (the error
// is then for logs and metrics only), not Allowed when failing closed. Use
// Refusal to turn a result into the gateway's response.
type Store interface {
	// Take takes one token from the bucket key, created full on first use.
	// A bucket whose limit changes (a redeploy) keeps its tokens, capped at
	// the new burst.
	Take(ctx context.Context, key string, l Limit) (Decision, error)
	// Add counts n requests against the quota counter key for the current
	// window of period and reports whether the count stays within limit.
	// When used+n would exceed limit nothing is added and ok is false; a
	// negative limit means unlimited (the counter still counts, for usage
	// reports). reset is the end of the current window.
	Add(ctx context.Context, key string, period Period, limit int64, n int64) (used int64, ok bool, reset time.Time, err error)
	// Used is the count of key in the current window of period and the end
	// of that window.
	Used(ctx context.Context, key string, period Period) (int64, time.Time, error)
}

// ErrUnavailable is wrapped by the errors of a Store whose backend failed.
var ErrUnavailable = errors.New("throttle store unavailable")

// Refusal maps the result of Take or Add to the gateway's response: nil when
// the request may go on (including a store failing open: log err yourself),
// 503 Service Unavailable when the store failed closed, and 429 Too Many
// Requests when the bucket is empty. Like API Gateway, the 429 carries no
// Retry-After header; set withRetryAfter to add one (whole seconds, rounded
// up) when RetryAfter is known.
func Refusal(d Decision, err error, withRetryAfter bool) error {
	if d.Allowed {
		return nil
	}
	if err != nil {
		return &edge.Error{Kind: edge.ServiceUnavailable, Cause: err}
	}
	e := &edge.Error{Kind: edge.TooManyRequests, Cause: errThrottled}
	if withRetryAfter && d.RetryAfter > 0 {
		secs := int64((d.RetryAfter + time.Second - 1) / time.Second)
		e.Header = http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
	}
	return e
}

var errThrottled = errors.New("throttled")

// Period is a quota window. Windows are calendar-aligned in UTC, as API
// Gateway usage plans count them: a DAY runs from 00:00 UTC, a WEEK from
// Sunday 00:00 UTC (QuotaSettings offset 0), a MONTH from the 1st 00:00 UTC.
// A MINUTE (Portico's, for token limits) runs from second 0 of a UTC minute.
type Period string

// The quota periods of API Gateway usage plans, and Portico's Minute.
const (
	Minute Period = "MINUTE" // not a usage-plan quota period: ParsePeriod rejects it
	Day    Period = "DAY"
	Week   Period = "WEEK"
	Month  Period = "MONTH"
)

// ParsePeriod parses DAY, WEEK or MONTH (exactly, as the AWS API spells them).
func ParsePeriod(s string) (Period, error) {
	switch p := Period(s); p {
	case Day, Week, Month:
		return p, nil
	}
	return "", fmt.Errorf("quota period %q: must be DAY, WEEK or MONTH", s)
}

// Window is the window of p that contains t: its start and its end (the
// reset time), both in UTC.
func (p Period) Window(t time.Time) (start, reset time.Time, err error) {
	t = t.UTC()
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch p {
	case Minute:
		start = t.Truncate(time.Minute)
		return start, start.Add(time.Minute), nil
	case Day:
		return day, day.AddDate(0, 0, 1), nil
	case Week:
		start = day.AddDate(0, 0, -int(day.Weekday()))
		return start, start.AddDate(0, 0, 7), nil
	case Month:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0), nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("quota period %q: must be MINUTE, DAY, WEEK or MONTH", string(p))
}
