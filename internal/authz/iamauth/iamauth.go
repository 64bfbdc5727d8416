// Package iamauth is the AWS_IAM route authorizer: the caller signs the
// request with Signature Version 4 (service "execute-api") using an access
// key declared in the spec, and the role bound to that key must allow
// execute-api:Invoke on the route ARN.
//
// Every refusal (no signature, a malformed, expired or wrong signature, an
// unknown key, a role without permission) is a 403 {"message":"Forbidden"}
// edge error whose Cause says what failed; see docs/authorizers-iam.md.
package iamauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/authz"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/integration"
	"github.com/portico-dev/portico/internal/sigv4"
)

// InvokeAction is the action a caller needs on the route ARN.
const InvokeAction = "execute-api:Invoke"

// Principal is one access key declared in the spec and the role it acts as.
type Principal struct {
	AccessKeyID     string
	SecretAccessKey string
	// RoleName is the role the key is bound to; it names the caller in
	// the identity (userArn arn:aws:iam::ACCOUNT:role/ROLE).
	RoleName string
	// Policies are the role's policies, evaluated together.
	Policies []*iam.Policy
}

// Config configures an Authorizer. It is read once by New.
type Config struct {
	// Principals are the access keys that may sign requests. A key absent
	// here (for example deleted by a redeploy) is unknown.
	Principals []Principal
	// Region is the region of the route ARN and the only region a signature
	// may be scoped to. AccountID is the account in ARNs.
	Region, AccountID string
	// Now is the clock for the signature window; nil means time.Now.
	Now func() time.Time
}

// Authorizer verifies SigV4 signatures and evaluates the signer's role. It
// is immutable and safe for concurrent use.
type Authorizer struct {
	region, account string
	keys            map[string]*Principal
	verifier        sigv4.Verifier
	now             func() time.Time // condition keys' clock
}

// New validates cfg (non-empty region and account, every key with an ID,
// a secret and a role, no key twice) and returns the authorizer.
func New(cfg Config) (*Authorizer, error) {
	var errs []error
	if cfg.Region == "" {
		errs = append(errs, errors.New("region is empty"))
	}
	if cfg.AccountID == "" {
		errs = append(errs, errors.New("account ID is empty"))
	}
	a := &Authorizer{region: cfg.Region, account: cfg.AccountID, keys: make(map[string]*Principal, len(cfg.Principals))}
	for i := range cfg.Principals {
		p := cfg.Principals[i]
		switch {
		case p.AccessKeyID == "":
			errs = append(errs, fmt.Errorf("principal %d: access key ID is empty", i))
			continue
		case p.SecretAccessKey == "":
			errs = append(errs, fmt.Errorf("access key %s: secret access key is empty", p.AccessKeyID))
		case p.RoleName == "":
			errs = append(errs, fmt.Errorf("access key %s: role name is empty", p.AccessKeyID))
		}
		if _, dup := a.keys[p.AccessKeyID]; dup {
			errs = append(errs, fmt.Errorf("access key %s: declared twice", p.AccessKeyID))
			continue
		}
		p.Policies = append([]*iam.Policy(nil), p.Policies...)
		a.keys[p.AccessKeyID] = &p
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("iamauth: %w", errors.Join(errs...))
	}
	a.verifier = sigv4.Verifier{Lookup: a.lookup, Now: cfg.Now, Region: cfg.Region}
	a.now = cfg.Now
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

func (a *Authorizer) lookup(id string) (sigv4.Credentials, bool) {
	p, ok := a.keys[id]
	if !ok {
		return sigv4.Credentials{}, false
	}
	return sigv4.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}, true
}

// Authorize verifies r's signature over r.HTTP and r.Body (the gateway must
// have read the body before calling it) and requires an Allow for
// execute-api:Invoke on the route ARN. scopes are ignored (AWS_IAM routes
// have none). Refusals are *edge.Error of kind Forbidden.
func (a *Authorizer) Authorize(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error) {
	if r == nil || r.HTTP == nil {
		return nil, errors.New("iamauth: request without HTTP request")
	}
	id, err := a.verifier.Verify(r.HTTP, r.Body, "execute-api")
	if err != nil {
		return nil, forbidden(err)
	}
	p := a.keys[id.AccessKeyID]
	arn := authz.RouteARN(a.region, r)
	var keys iam.Keys // built only when a condition reads them
	if iam.AnyConditions(p.Policies) {
		keys = iam.NewKeys(r.HTTP.RemoteAddr, r.HTTP.TLS != nil, a.now(), "arn:aws:iam::"+a.account+":role/"+p.RoleName)
	}
	if d := iam.EvaluateWith(p.Policies, InvokeAction, arn, keys); d != iam.Allow {
		return nil, forbidden(fmt.Errorf("role %s: %s on %s: %s", p.RoleName, InvokeAction, arn, d))
	}
	return &integration.Authorizer{IAM: a.identity(p)}, nil
}

func forbidden(cause error) error {
	return &edge.Error{Kind: edge.Forbidden, Cause: fmt.Errorf("iamauth: %w", cause)}
}

// identity is requestContext.authorizer.iam for a key bound to a role,
// shaped as API Gateway reports callers using role credentials.
func (a *Authorizer) identity(p *Principal) map[string]any {
	return map[string]any{
		"accessKey":       p.AccessKeyID,
		"accountId":       a.account,
		"callerId":        roleID(p.RoleName) + ":" + p.AccessKeyID,
		"cognitoIdentity": nil,
		"principalOrgId":  nil,
		"userArn":         "arn:aws:iam::" + a.account + ":role/" + p.RoleName,
		"userId":          roleID(p.RoleName) + ":" + p.AccessKeyID,
	}
}

// roleID is a stable pseudo role ID ("AROA" + upper-cased hex of a hash of
// the name), standing in for the unique ID IAM assigns to a role.
func roleID(name string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("AROA%016X", h)
}
