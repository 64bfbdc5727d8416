package lambdaauth

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCachedDecision is the cost of a decision served from the result
// cache (goal: under 10 µs), for a simple response and for a cached policy
// that is re-evaluated against the route ARN.
func BenchmarkCachedDecision(b *testing.B) {
	policy := answer(`{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:a1b2c3d4e5/*/GET/orders/*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"arn:aws:execute-api:*:*:a1b2c3d4e5/*/DELETE/*"}]},"context":{"user":"alice"}}`)
	for _, bc := range []struct {
		name   string
		simple bool
		inv    respondFunc
	}{
		{"simple", true, byToken()},
		{"policy", false, policy},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := baseConfig()
			cfg.EnableSimpleResponses = bc.simple
			cfg.ResultTTL = time.Hour
			inv := &fakeInvoker{respond: bc.inv}
			a := mustNew(b, cfg, inv)
			r := tokenRequest("good")
			ctx := context.Background()
			if _, err := a.Authorize(ctx, r, nil); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authorize(ctx, r, nil); err != nil {
					b.Fatal(err)
				}
			}
			if inv.calls() != 1 {
				b.Fatalf("invocations = %d, want 1", inv.calls())
			}
		})
	}
}
