package lambdaauth

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/invocation"
	"github.com/portico-dev/portico/internal/testtool"
)

// cachedConfig is baseConfig with a 300 s cache on a fake clock.
func cachedConfig(clk *fakeClock) Config {
	cfg := baseConfig()
	cfg.ResultTTL = 300 * time.Second
	cfg.Now = clk.Now
	return cfg
}

func TestCache(t *testing.T) {
	allowGetOrders := answer(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:*/*/GET/orders/*"}]}}`)
	type step struct {
		req       *integration.Request
		advance   time.Duration // clock moves before the request
		flush     bool          // FlushCache before the request
		wantKind  edge.Kind     // -1: allowed
		wantCalls int           // invocations so far, after the request
	}
	get := func(token string) *integration.Request { return tokenRequest(token) }
	post := func(token string) *integration.Request {
		return newRequest("POST", "/v1/orders/42", "v1", "POST /orders/{id}", "X-Token", token)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		respond respondFunc
		steps   []step
	}{
		{
			name: "hit within ttl", respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: get("good"), advance: 299 * time.Second, wantKind: -1, wantCalls: 1}},
		},
		{
			name: "expired after ttl", respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: get("good"), advance: 300 * time.Second, wantKind: -1, wantCalls: 2}},
		},
		{
			name: "different identity misses", respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: get("bad"), wantKind: edge.Forbidden, wantCalls: 2}, {req: get("bad"), wantKind: edge.Forbidden, wantCalls: 2}},
		},
		{
			name: "cached simple answer applies to every route", respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: post("good"), wantKind: -1, wantCalls: 1}},
		},
		{
			name: "cached policy is re-evaluated per route", edit: func(c *Config) { c.EnableSimpleResponses = false }, respond: allowGetOrders,
			steps: []step{{req: get("t"), wantKind: -1, wantCalls: 1}, {req: post("t"), wantKind: edge.Forbidden, wantCalls: 1}, {req: get("t"), wantKind: -1, wantCalls: 1}},
		},
		{
			name: "routeKey source separates routes", edit: func(c *Config) { c.IdentitySource = append(c.IdentitySource, "$context.routeKey") }, respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: post("good"), wantKind: -1, wantCalls: 2}, {req: get("good"), wantKind: -1, wantCalls: 2}},
		},
		{
			name: "stages do not share results", respond: byToken(),
			steps: []step{
				{req: get("good"), wantKind: -1, wantCalls: 1},
				{req: newRequest("GET", "/v2/orders/42", "v2", "GET /orders/{id}", "X-Token", "good"), wantKind: -1, wantCalls: 2},
			},
		},
		{
			name: "ttl 0 disables caching", edit: func(c *Config) { c.ResultTTL = 0 }, respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: get("good"), wantKind: -1, wantCalls: 2}},
		},
		{
			name: "no identity sources disables caching", edit: func(c *Config) { c.IdentitySource = nil }, respond: answer(`{"isAuthorized":true}`),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: get("good"), wantKind: -1, wantCalls: 2}},
		},
		{
			name: "deny is cached", respond: byToken(),
			steps: []step{{req: get("bad"), wantKind: edge.Forbidden, wantCalls: 1}, {req: get("bad"), wantKind: edge.Forbidden, wantCalls: 1}},
		},
		{
			name: "failures are not cached", respond: answer(`oops`),
			steps: []step{{req: get("good"), wantKind: edge.InternalError, wantCalls: 1}, {req: get("good"), wantKind: edge.InternalError, wantCalls: 2}},
		},
		{
			name: "missing identity is not cached or invoked", respond: byToken(),
			steps: []step{{req: get(""), wantKind: edge.Unauthorized, wantCalls: 0}, {req: get(""), wantKind: edge.Unauthorized, wantCalls: 0}},
		},
		{
			name: "flush", respond: byToken(),
			steps: []step{{req: get("good"), wantKind: -1, wantCalls: 1}, {req: get("good"), flush: true, wantKind: -1, wantCalls: 2}, {req: get("good"), wantKind: -1, wantCalls: 2}},
		},
		{
			name: "least recently used is evicted", edit: func(c *Config) { c.MaxCacheEntries = 2 }, respond: byToken(),
			steps: []step{
				{req: get("a"), wantKind: edge.Forbidden, wantCalls: 1},
				{req: get("b"), wantKind: edge.Forbidden, wantCalls: 2},
				{req: get("a"), wantKind: edge.Forbidden, wantCalls: 2}, // a is now newer than b
				{req: get("c"), wantKind: edge.Forbidden, wantCalls: 3}, // evicts b
				{req: get("a"), wantKind: edge.Forbidden, wantCalls: 3},
				{req: get("b"), wantKind: edge.Forbidden, wantCalls: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: testTime}
			cfg := cachedConfig(clk)
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			inv := &fakeInvoker{respond: tt.respond}
			a := mustNew(t, cfg, inv)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if s.flush {
					a.FlushCache()
				}
				got, err := a.Authorize(context.Background(), s.req, nil)
				if s.wantKind == -1 {
					if err != nil || got == nil {
						t.Fatalf("step %d: Authorize = %v, %v; want allowed", i, got, err)
					}
				} else if got != nil || kindOf(err) != s.wantKind {
					t.Fatalf("step %d: Authorize = %v, %v; want kind %d", i, got, err, s.wantKind)
				}
				if n := inv.calls(); n != s.wantCalls {
					t.Fatalf("step %d: invocations = %d, want %d", i, n, s.wantCalls)
				}
			}
			if n := a.cache.len(); n > cfg.MaxCacheEntries && cfg.MaxCacheEntries > 0 {
				t.Fatalf("cache holds %d entries, cap %d", n, cfg.MaxCacheEntries)
			}
		})
	}
}

// TestCacheCoalesces checks that concurrent misses of one identity share a
// single invocation.
func TestCacheCoalesces(t *testing.T) {
	release := make(chan struct{})
	inv := &fakeInvoker{respond: func(ctx context.Context, p []byte) (*invocation.Result, error) {
		<-release
		return byToken()(ctx, p)
	}}
	clk := &fakeClock{t: testTime}
	a := mustNew(t, cachedConfig(clk), inv)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := a.Authorize(context.Background(), tokenRequest("good"), nil)
			errs <- err
		})
	}
	// Wait until the invocation started and every caller is waiting on it.
	testtool.Eventually(t, "every caller to wait on the invocation", func() bool { return waiters(a) == n })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := inv.calls(); c != 1 {
		t.Fatalf("invocations = %d, want 1", c)
	}
}

// waiters is the number of callers waiting on shared invocations.
func waiters(a *Authorizer) int {
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	n := 0
	for _, c := range a.cache.calls {
		n += c.waiters
	}
	return n
}

// TestCacheWaiterLeaves checks that one client going away does not fail
// the others sharing its invocation, and that the invocation is cancelled
// once nobody waits for it.
func TestCacheWaiterLeaves(t *testing.T) {
	release := make(chan struct{})
	cancelled := make(chan struct{})
	inv := &fakeInvoker{respond: func(ctx context.Context, p []byte) (*invocation.Result, error) {
		if bytes.Contains(p, []byte(`"x-token":"other"`)) {
			<-ctx.Done()
			close(cancelled)
			return nil, ctx.Err()
		}
		<-release
		return byToken()(ctx, p)
	}}
	a := mustNew(t, cachedConfig(&fakeClock{t: testTime}), inv)

	// Two callers; the first leaves, the second still gets the answer.
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error, 1)
	go func() { _, err := a.Authorize(ctx1, tokenRequest("good"), nil); done1 <- err }()
	done2 := make(chan error, 1)
	go func() { _, err := a.Authorize(context.Background(), tokenRequest("good"), nil); done2 <- err }()
	testtool.Eventually(t, "both callers to wait", func() bool { return waiters(a) == 2 })
	cancel1()
	if err := <-done1; err == nil || kindOf(err) != -1 {
		t.Fatalf("leaving caller got %v, want its context error", err)
	}
	close(release)
	if err := <-done2; err != nil {
		t.Fatalf("remaining caller: %v", err)
	}
	if c := inv.calls(); c != 1 {
		t.Fatalf("invocations = %d, want 1", c)
	}

	// A single caller leaving cancels the invocation.
	ctx3, cancel3 := context.WithCancel(context.Background())
	done3 := make(chan error, 1)
	go func() { _, err := a.Authorize(ctx3, tokenRequest("other"), nil); done3 <- err }()
	testtool.Eventually(t, "the caller to wait", func() bool { return waiters(a) == 1 })
	cancel3()
	<-done3
	testtool.Await(t, "the invocation to be cancelled after its only caller left", cancelled)
}
