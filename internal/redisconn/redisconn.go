// Package redisconn opens the one Redis client that Portico's shared stores
// (throttle buckets and quotas, run-time API keys) use, so that one place
// decides how a call is bounded and retried and a process holds one pool of
// connections. The client is go-redis, reached through Client.Redis: the
// stores that use it keep it unexported.
package redisconn

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client is one pool of connections to a Redis server, shared by every
// store of a process. It is safe for concurrent use. The stores built on it
// do not close it: its opener does, once, after them.
type Client struct {
	rc *redis.Client
}

// Redis returns the go-redis client, for the stores' commands and scripts.
func (c *Client) Redis() *redis.Client { return c.rc }

// Close closes the connections.
func (c *Client) Close() error { return c.rc.Close() }

// Dial opens a client for url (redis://[user:pass@]host:port/db, or
// rediss:// for TLS) and checks that the server answers within
// max(timeout, 1s), so a wrong URL is reported at start-up rather than on
// the first request. Every later call, connecting included, is bounded by
// timeout (which must be > 0) and by its context, and is not retried: the
// caller's failure policy decides. The client speaks RESP2 and does not
// send CLIENT SETINFO, so any Redis-compatible server (Redis 5+, Valkey,
// KeyDB) works. The caller closes the client.
func Dial(ctx context.Context, url string, timeout time.Duration) (*Client, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("redis: timeout %v: must be > 0", timeout)
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: url: %w", err)
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = timeout, timeout, timeout, timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1
	ro.Protocol = 2
	ro.DisableIdentity = true
	c := redis.NewClient(ro)
	pctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second))
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", ro.Addr, err)
	}
	return &Client{rc: c}, nil
}
