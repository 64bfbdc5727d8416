package control

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/portico-dev/portico/internal/apikey"
	"github.com/portico-dev/portico/internal/authz/iamauth"
	"github.com/portico-dev/portico/internal/authz/jwt"
	"github.com/portico-dev/portico/internal/authz/lambdaauth"
	"github.com/portico-dev/portico/internal/cors"
	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/iam"
	"github.com/portico-dev/portico/internal/openai"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/throttle"
)

// Compile-time checks that every authorizer fits the gateway's seam.
var (
	_ gateway.Authorizer = (*jwt.Authorizer)(nil)
	_ gateway.Authorizer = (*lambdaauth.Authorizer)(nil)
	_ gateway.Authorizer = (*iamauth.Authorizer)(nil)
)

// authorizers builds an API definition's authorizers, by name.
func (c *Controller) authorizers(a *spec.API) (map[string]gateway.Authorizer, error) {
	out := map[string]gateway.Authorizer{}
	for _, name := range sortedKeys(a.Authorizers) {
		au := a.Authorizers[name]
		var (
			g   gateway.Authorizer
			err error
		)
		switch au.Type {
		case spec.AuthorizerJWT:
			g, err = jwt.New(jwt.Config{
				Issuer:         au.JWTConfiguration.Issuer,
				Audience:       au.JWTConfiguration.Audience,
				IdentitySource: au.IdentitySource,
			})
		case spec.AuthorizerRequest:
			ttl := 0
			if au.AuthorizerResultTtlInSeconds != nil {
				ttl = *au.AuthorizerResultTtlInSeconds
			}
			g, err = lambdaauth.New(lambdaauth.Config{
				Function:              au.Function,
				PayloadFormatVersion:  au.AuthorizerPayloadFormatVersion,
				EnableSimpleResponses: au.EnableSimpleResponses,
				IdentitySource:        au.IdentitySource,
				ResultTTL:             time.Duration(ttl) * time.Second,
				Region:                c.cfg.Region,
				AccountID:             c.cfg.AccountID,
			}, c.deps.Runner)
		default:
			err = fmt.Errorf("unsupported type %q", au.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("authorizer %s: %w", name, err)
		}
		out[name] = g
	}
	return out, nil
}

// iamAuthorizer builds the AWS_IAM authorizer from the spec's access keys,
// each with the policies of its role (inline and the managed ones Portico
// knows).
func (c *Controller) iamAuthorizer(sp *spec.Spec) (gateway.Authorizer, error) {
	var ps []iamauth.Principal
	for _, name := range sortedKeys(sp.AccessKeys) {
		k := sp.AccessKeys[name]
		policies, err := c.rolePolicies(sp.Roles[k.Role])
		if err != nil {
			return nil, fmt.Errorf("access key %s: %w", name, err)
		}
		ps = append(ps, iamauth.Principal{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, RoleName: k.Role, Policies: policies})
	}
	return iamauth.New(iamauth.Config{Principals: ps, Region: c.cfg.Region, AccountID: c.cfg.AccountID})
}

// rolePolicies returns a role's inline policies and looks up its managed
// ones; a managed policy Portico does not know grants nothing and is
// logged.
func (c *Controller) rolePolicies(r *spec.Role) ([]*iam.Policy, error) {
	if r == nil {
		return nil, nil
	}
	// Policies are parsed once, by spec validation (Role.Parsed); a spec
	// built in code rather than loaded is parsed here.
	out := slices.Clone(r.Parsed)
	if len(out) != len(r.Policies) {
		out = out[:0]
		for i, doc := range r.Policies {
			p, err := iam.ParsePolicy(doc)
			if err != nil {
				return nil, fmt.Errorf("role %s: policies[%d]: %w", r.Name, i, err)
			}
			out = append(out, p)
		}
	}
	for _, arn := range r.ManagedPolicyArns {
		p, ok := iam.ManagedPolicy(arn)
		if !ok {
			c.deps.Logger.Warn("managed policy unknown to Portico grants nothing", "role", r.Name, "policy", arn)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// corsPolicy compiles an API's CORS configuration; nil without one.
func corsPolicy(a *spec.API) (*cors.Policy, error) {
	if a.Cors == nil {
		return nil, nil
	}
	p, err := cors.New(cors.Config{
		AllowOrigins:     a.Cors.AllowOrigins,
		AllowMethods:     a.Cors.AllowMethods,
		AllowHeaders:     a.Cors.AllowHeaders,
		ExposeHeaders:    a.Cors.ExposeHeaders,
		MaxAge:           a.Cors.MaxAge,
		AllowCredentials: a.Cors.AllowCredentials,
	})
	if err != nil {
		return nil, fmt.Errorf("api %s: cors: %w", a.Name, err)
	}
	return p, nil
}

// routeLimit is the token bucket of a route in a stage: its routeSettings
// entry, with a missing field taken from the stage's defaultRouteSettings,
// or the defaults alone. Each route has a bucket of its own, also when the
// limit comes from the stage defaults. nil when nothing is configured. A
// rate without a burst gets a burst of one second's worth (at least 1); a
// burst without a rate refills at the burst per second.
func routeLimit(st *spec.Stage, routeKey string) *throttle.Limit {
	var rate *float64
	var burst *int
	if d := st.DefaultRouteSettings; d != nil {
		rate, burst = d.ThrottlingRateLimit, d.ThrottlingBurstLimit
	}
	if rs := st.RouteSettings[routeKey]; rs != nil {
		if rs.ThrottlingRateLimit != nil {
			rate = rs.ThrottlingRateLimit
		}
		if rs.ThrottlingBurstLimit != nil {
			burst = rs.ThrottlingBurstLimit
		}
	}
	if rate == nil && burst == nil {
		return nil
	}
	var l throttle.Limit
	switch {
	case rate != nil && burst != nil:
		l = throttle.Limit{Rate: *rate, Burst: *burst}
	case rate != nil:
		l = throttle.Limit{Rate: *rate, Burst: max(1, int(math.Ceil(*rate)))}
	default:
		l = throttle.Limit{Rate: float64(*burst), Burst: *burst}
	}
	return &l
}

// accountLimit is the spec's account-level bucket.
func accountLimit(sp *spec.Spec) throttle.Limit {
	l := throttle.Limit{Rate: spec.DefaultAccountRateLimit, Burst: spec.DefaultAccountBurstLimit}
	if a := sp.Account; a != nil {
		if a.ThrottlingRateLimit != nil {
			l.Rate = *a.ThrottlingRateLimit
		}
		if a.ThrottlingBurstLimit != nil {
			l.Burst = *a.ThrottlingBurstLimit
		}
	}
	return l
}

// KeyChecker adapts an API key registry to the gateway's seam.
type KeyChecker struct{ Registry *apikey.Registry }

var _ gateway.KeyChecker = KeyChecker{}

// Check validates value for apiStage and charges one request to its plan.
func (k KeyChecker) Check(ctx context.Context, value, apiStage string) (string, error) {
	key, _, err := k.Registry.Check(ctx, value, apiStage)
	if err != nil {
		return "", err
	}
	return key.Name, nil
}

// usagePlans converts the spec's usage plans and API keys for the
// registry.
func usagePlans(sp *spec.Spec) ([]apikey.Plan, []apikey.Key) {
	var plans []apikey.Plan
	for _, name := range sortedKeys(sp.UsagePlans) {
		up := sp.UsagePlans[name]
		p := apikey.Plan{Name: name}
		if t := up.Throttle; t != nil {
			l := throttle.Limit{}
			switch {
			case t.RateLimit != nil && t.BurstLimit != nil:
				l = throttle.Limit{Rate: *t.RateLimit, Burst: *t.BurstLimit}
			case t.RateLimit != nil:
				l = throttle.Limit{Rate: *t.RateLimit, Burst: max(1, int(math.Ceil(*t.RateLimit)))}
			case t.BurstLimit != nil:
				l = throttle.Limit{Rate: float64(*t.BurstLimit), Burst: *t.BurstLimit}
			}
			p.Throttle = &l
		}
		if q := up.Quota; q != nil {
			p.QuotaLimit, p.QuotaPeriod = int64(q.Limit), throttle.Period(q.Period)
		}
		for _, s := range up.APIStages {
			p.Stages = append(p.Stages, s.API+"/"+s.Stage)
		}
		p.TokenLimits = openai.FromSpec(up.TokenLimits)
		plans = append(plans, p)
	}
	var keys []apikey.Key
	for _, name := range sortedKeys(sp.APIKeys) {
		k := sp.APIKeys[name]
		keys = append(keys, apikey.Key{Name: name, Value: k.Value, Plan: k.Plan, Enabled: true})
	}
	return plans, keys
}
