package iamauth

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/iam"
)

// TestAuthorizeConditions checks that the route authorizer fills the
// global condition keys: the caller's address, the time (from Config.Now)
// and the role's ARN.
func TestAuthorizeConditions(t *testing.T) {
	tests := []struct {
		name   string
		cond   string
		remote string
		allow  bool
	}{
		{"source in block", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "10.9.8.7:4444", true},
		{"source outside block", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, "192.0.2.1:4444", false},
		{"before the deadline", `{"DateLessThan":{"aws:CurrentTime":"2026-03-15T00:00:00Z"}}`, "10.9.8.7:1", true},
		{"after the deadline", `{"DateLessThan":{"aws:CurrentTime":"2026-03-14T00:00:00Z"}}`, "10.9.8.7:1", false},
		{"the role's ARN", `{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/caller*"}}`, "10.9.8.7:1", true},
		{"another role's ARN", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/other"}}`, "10.9.8.7:1", false},
		{"TLS required, plain HTTP", `{"Bool":{"aws:SecureTransport":"true"}}`, "10.9.8.7:1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":`+tt.cond+`}}`)
			a := newAuthorizer(t, []Principal{{AccessKeyID: "AKIAALICE", SecretAccessKey: "alice-secret", RoleName: "callerRole", Policies: []*iam.Policy{p}}})
			r := signed(t, "AKIAALICE", "alice-secret", "GET", "/v1/orders", nil, now.Add(-time.Minute))
			r.HTTP.RemoteAddr = tt.remote
			_, err := a.Authorize(context.Background(), r, nil)
			if (err == nil) != tt.allow {
				t.Errorf("Authorize = %v, want allowed %v", err, tt.allow)
			}
		})
	}
}
