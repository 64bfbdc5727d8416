package lambdaauth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// cache holds authorizer results by key, bounded to max entries with least
// recently used eviction, and coalesces concurrent misses of one key into a
// single invocation. It is safe for concurrent use.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*entry
	head    entry // sentinel of the recency list: head.next is the newest
	calls   map[string]*call
	gen     uint64 // bumped by flush; results of older calls are not stored
}

type entry struct {
	key        string
	res        *result
	expires    time.Time
	prev, next *entry
}

// call is one invocation shared by every request waiting for the same key.
type call struct {
	done    chan struct{}
	res     *result
	err     error
	waiters int
	cancel  context.CancelFunc
}

func newCache(max int) *cache {
	c := &cache{max: max, entries: make(map[string]*entry), calls: make(map[string]*call)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// get returns the unexpired result under key, or nil. A hit becomes the
// most recently used entry; an expired entry is removed.
func (c *cache) get(key []byte, now time.Time) *result {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[string(key)]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		c.remove(e)
		return nil
	}
	if c.head.next != e {
		unlink(e)
		c.pushFront(e)
	}
	return e.res
}

// do returns the result of fn for key, running fn once for all concurrent
// callers of the same key and caching a successful result until the time fn
// returns. fn's context is not the caller's: it ends when every waiting
// caller has gone away, so one client leaving does not fail the others, and
// a function nobody waits for any more is cancelled. Each caller returns
// when fn is done or its own ctx ends, whichever is first.
func (c *cache) do(ctx context.Context, key string, fn func(context.Context) (*result, time.Time, error)) (*result, error) {
	c.mu.Lock()
	cl := c.calls[key]
	if cl == nil {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		cl = &call{done: make(chan struct{}), cancel: cancel}
		c.calls[key] = cl
		gen := c.gen
		go c.run(fctx, key, cl, gen, fn)
	}
	cl.waiters++
	c.mu.Unlock()

	select {
	case <-cl.done:
		return cl.res, cl.err
	case <-ctx.Done():
		c.mu.Lock()
		cl.waiters--
		if cl.waiters == 0 {
			cl.cancel()
		}
		c.mu.Unlock()
		return nil, fmt.Errorf("lambda authorizer: waiting for the authorizer: %w", ctx.Err())
	}
}

// run executes a shared call and publishes its result.
func (c *cache) run(ctx context.Context, key string, cl *call, gen uint64, fn func(context.Context) (*result, time.Time, error)) {
	defer cl.cancel()
	res, expires, err := fn(ctx)
	c.mu.Lock()
	cl.res, cl.err = res, err
	delete(c.calls, key)
	if err == nil && c.gen == gen {
		c.put(key, res, expires)
	}
	c.mu.Unlock()
	close(cl.done)
}

// put stores res under key; c.mu is held.
func (c *cache) put(key string, res *result, expires time.Time) {
	if e := c.entries[key]; e != nil {
		e.res, e.expires = res, expires
		unlink(e)
		c.pushFront(e)
		return
	}
	for len(c.entries) >= c.max && c.head.prev != &c.head {
		c.remove(c.head.prev)
	}
	e := &entry{key: key, res: res, expires: expires}
	c.entries[key] = e
	c.pushFront(e)
}

// flush drops every entry and keeps calls in flight from storing theirs.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.head.prev, c.head.next = &c.head, &c.head
}

// len is the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *cache) remove(e *entry) {
	unlink(e)
	delete(c.entries, e.key)
}

func (c *cache) pushFront(e *entry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}
