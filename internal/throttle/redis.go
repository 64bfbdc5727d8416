package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portico-dev/portico/internal/redisconn"
)

// DefaultRedisTimeout bounds each Redis call when RedisOptions.Timeout is 0.
const DefaultRedisTimeout = 50 * time.Millisecond

// RedisOptions configure a Redis store.
type RedisOptions struct {
	// FailOpen admits requests when Redis is unreachable or slower than
	// Timeout (the error is still returned, for logs and metrics). When
	// false (fail closed) such requests are refused; the gateway answers 503.
	FailOpen bool
	// Timeout bounds every call to Redis; 0 means DefaultRedisTimeout.
	Timeout time.Duration
	// Now is the clock that decides quota windows (token buckets use the
	// Redis server's TIME so replicas agree); nil means time.Now.
	Now func() time.Time
	// Prefix is prepended to every Redis key; "" means "portico:".
	Prefix string
}

// Redis is a Store kept in Redis so that several Portico replicas share one
// budget. A token bucket is a hash updated by one Lua script (EVALSHA) that
// reads the server's TIME, so the replicas' clocks do not matter; a quota
// counter is a string per window, incremented with INCRBY and set to expire
// a day after the window ends (EXPIRE with a TTL computed from Now, which is
// EXPIREAT on the replica's clock without trusting Redis' clock to match). Every call is bounded by the
// timeout and follows the failure policy (see RedisOptions.FailOpen). Redis
// is safe for concurrent use.
type Redis struct {
	c       *redis.Client
	opts    RedisOptions
	take    *redis.Script
	add     *redis.Script
	timeout time.Duration
}

var _ Store = (*Redis)(nil)

// takeScript refills and takes from the bucket KEYS[1]. ARGV: rate
// (tokens/s), burst. Returns {allowed 0|1, retry-after in µs (-1: never)}.
const takeScript = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local tokens = tonumber(v[1])
local ts = tonumber(v[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate / 1000000
  ts = now
end
if tokens > burst then tokens = burst end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
elseif rate > 0 and burst >= 1 then
  wait = math.ceil((1 - tokens) * 1000000 / rate)
else
  wait = -1
end
redis.call('HSET', KEYS[1], 'tk', tokens, 'ts', ts) -- numbers go out as %.17g: exact
local ttl = 86400000
if rate > 0 then ttl = math.ceil((burst - tokens) * 1000 / rate) + 1000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, wait}
`

// addScript adds ARGV[2] to the counter KEYS[1] unless that would pass the
// limit ARGV[1] (negative: none); ARGV[3] is its time to live in seconds.
// Returns {used, ok 0|1}.
const addScript = `
local limit = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if limit >= 0 and cur + n > limit then return {cur, 0} end
cur = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {cur, 1}
`

// NewRedis builds a store on c (see redisconn.Dial; the caller closes c,
// which the store shares with the process's other Redis stores) and loads
// its scripts, failing when Redis does not answer within max(Timeout, 1s),
// so a misconfigured server is reported at start-up rather than on the
// first request.
func NewRedis(ctx context.Context, c *redisconn.Client, opts RedisOptions) (*Redis, error) {
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("redis store: timeout %v: must be >= 0", opts.Timeout)
	}
	if c == nil {
		return nil, errors.New("redis store: no client")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Prefix == "" {
		opts.Prefix = "portico:"
	}
	r := &Redis{
		c:       c.Redis(),
		opts:    opts,
		take:    redis.NewScript(takeScript),
		add:     redis.NewScript(addScript),
		timeout: opts.Timeout,
	}
	start := max(opts.Timeout, time.Second)
	sctx, cancel := context.WithTimeout(ctx, start)
	defer cancel()
	for _, s := range []*redis.Script{r.take, r.add} {
		if err := s.Load(sctx, r.c).Err(); err != nil {
			return nil, fmt.Errorf("redis store: load script: %w", err)
		}
	}
	return r, nil
}

func (r *Redis) fail(op, key string, err error) error {
	return fmt.Errorf("%w: redis %s %s: %w", ErrUnavailable, op, key, err)
}

// Take implements Store.
func (r *Redis) Take(ctx context.Context, key string, l Limit) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.take.Run(ctx, r.c, []string{r.opts.Prefix + "b:" + key}, l.Rate, l.Burst).Int64Slice()
	if err == nil && len(res) != 2 {
		err = errors.New("unexpected script reply")
	}
	if err != nil {
		return Decision{Allowed: r.opts.FailOpen}, r.fail("take", key, err)
	}
	if res[0] == 1 {
		return Decision{Allowed: true}, nil
	}
	d := Decision{}
	if res[1] > 0 {
		d.RetryAfter = time.Duration(res[1]) * time.Microsecond
	}
	return d, nil
}

// quotaKey names the counter of key for the window starting at start:
// windows of a day or longer by their first day, minutes by their minute.
func (r *Redis) quotaKey(period Period, key string, start time.Time) string {
	layout := "20060102"
	if period == Minute {
		layout = "200601021504"
	}
	return r.opts.Prefix + "q:" + string(period) + ":" + key + ":" + start.Format(layout)
}

// quotaTTL is how long a counter outlives now: a day past the window's end
// (a minute for Minute windows, which are many and short).
func quotaTTL(period Period, now, reset time.Time) int64 {
	grace := 24 * time.Hour
	if period == Minute {
		grace = time.Minute
	}
	return int64((reset.Sub(now)+grace)/time.Second) + 1
}

// Add implements Store. When Redis fails, ok follows the failure policy.
func (r *Redis) Add(ctx context.Context, key string, period Period, limit, n int64) (int64, bool, time.Time, error) {
	if n < 0 {
		return 0, false, time.Time{}, fmt.Errorf("quota %s: add %d: must be >= 0", key, n)
	}
	now := r.opts.Now()
	start, reset, err := period.Window(now)
	if err != nil {
		return 0, false, time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	k := r.quotaKey(period, key, start)
	ttl := quotaTTL(period, now, reset)
	res, err := r.add.Run(ctx, r.c, []string{k}, limit, n, ttl).Int64Slice()
	if err == nil && len(res) != 2 {
		err = errors.New("unexpected script reply")
	}
	if err != nil {
		return 0, r.opts.FailOpen, reset, r.fail("add", key, err)
	}
	return res[0], res[1] == 1, reset, nil
}

// Used implements Store.
func (r *Redis) Used(ctx context.Context, key string, period Period) (int64, time.Time, error) {
	start, reset, err := period.Window(r.opts.Now())
	if err != nil {
		return 0, time.Time{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	n, err := r.c.Get(ctx, r.quotaKey(period, key, start)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, reset, nil
	}
	if err != nil {
		return 0, reset, r.fail("used", key, err)
	}
	return n, reset, nil
}
