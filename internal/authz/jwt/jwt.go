// Package jwt is API Gateway's JWT authorizer for HTTP APIs: it reads a token
// from one identity source, verifies its signature with the issuer's
// published keys (OpenID Connect discovery, then JWKS), checks issuer,
// audience, lifetime and route scopes, and hands the token's claims to the
// integration.
//
// Refusals are *edge.Error values: Unauthorized (401) for a missing or
// invalid token, with API Gateway's www-authenticate header when a token was
// presented, and Forbidden (403) for a valid token that lacks the route's
// scopes. See docs/authorizers-jwt.md for the behaviour and its sources.
package jwt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/portico-dev/portico/internal/authz"
	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

// Defaults and AWS quotas (reference aws-http-api.md §5).
const (
	// DefaultIdentitySource is where the token is read when
	// Config.IdentitySource is empty.
	DefaultIdentitySource = "$request.header.Authorization"
	// DefaultFetchTimeout bounds each discovery and JWKS fetch (AWS quota).
	DefaultFetchTimeout = 1500 * time.Millisecond
	// MaxDocumentBytes bounds discovery documents and key sets (AWS quota).
	MaxDocumentBytes = 150_000
	// DefaultClockSkew is the leeway on exp, nbf and iat.
	DefaultClockSkew = 5 * time.Second
	// DefaultCacheTTL is how long a fetched key set is used before it is
	// refreshed in the background.
	DefaultCacheTTL = time.Hour
	// DefaultMinRefreshInterval is the least time between two key fetches.
	DefaultMinRefreshInterval = 10 * time.Second
	// DefaultMaxTokenBytes caps the identity source value; longer ones are
	// refused before any decoding.
	DefaultMaxTokenBytes = 16 << 10
	// MaxAudiences is API Gateway's quota of audiences per authorizer.
	MaxAudiences = 50
)

// algorithms are the signature algorithms accepted: API Gateway supports
// only RSA-based algorithms.
var algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
}

// Config configures one JWT authorizer. Its fields are the authorizer's
// spec properties plus tuning knobs with documented defaults.
type Config struct {
	// Issuer is jwtConfiguration.issuer: the token's iss must equal it, and
	// {Issuer}/.well-known/openid-configuration must name the jwks_uri.
	// Required; an absolute http or https URL.
	Issuer string
	// Audience is jwtConfiguration.audience: the token's aud (or client_id
	// when aud is absent) must match one entry. 1 to 50 entries.
	Audience []string
	// IdentitySource is the one selection expression the token is read
	// from: $request.header.NAME or $request.querystring.NAME. Default
	// $request.header.Authorization.
	IdentitySource []string
	// Client fetches the discovery document and the key set. Default: a
	// client with a FetchTimeout timeout. Fetches are bounded by FetchTimeout
	// whatever the client.
	Client *http.Client
	// Now is the clock for token lifetimes and the key cache. Default
	// time.Now.
	Now func() time.Time
	// ClockSkew is the leeway on exp, nbf and iat. Zero means
	// DefaultClockSkew (5 s); negative means none.
	ClockSkew time.Duration
	// FetchTimeout bounds each of the discovery and JWKS fetches. Default
	// 1500 ms, API Gateway's quota.
	FetchTimeout time.Duration
	// CacheTTL is how long a key set is used before a request triggers a
	// background refresh (the old keys keep working meanwhile). Default 1 h.
	CacheTTL time.Duration
	// MinRefreshInterval is the least time between two fetches of the key
	// set, however many tokens with unknown key IDs arrive. Default 10 s.
	MinRefreshInterval time.Duration
	// MaxTokenBytes caps the identity source value. Default 16 KiB.
	MaxTokenBytes int
}

// Authorizer is a JWT authorizer. It is safe for concurrent use. Its key
// cache lives as long as it does; it starts no goroutine except bounded
// key fetches.
type Authorizer struct {
	issuer       string
	discoveryURL string
	audience     map[string]struct{}
	source       authz.Source
	client       *http.Client
	now          func() time.Time
	skew         time.Duration
	fetchTimeout time.Duration
	ttl          time.Duration
	minRefresh   time.Duration
	maxToken     int

	keys     atomic.Pointer[keySet]
	verified tokenCache

	mu        sync.Mutex
	inflight  *fetchCall // the fetch in progress, if any
	lastFetch time.Time  // when the last fetch started (a.now)
	jwksURI   string     // from discovery; empty until discovered
}

// New validates cfg, applies defaults and returns an Authorizer. It does not
// contact the issuer: keys are fetched on first use (or by Prefetch).
func New(cfg Config) (*Authorizer, error) {
	var errs []error
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("jwt authorizer: issuer %q: want an absolute http(s) URL without query or fragment", cfg.Issuer))
	}
	switch n := len(cfg.Audience); {
	case n == 0:
		errs = append(errs, errors.New("jwt authorizer: audience: at least one entry required"))
	case n > MaxAudiences:
		errs = append(errs, fmt.Errorf("jwt authorizer: audience: %d entries, at most %d allowed", n, MaxAudiences))
	}
	aud := make(map[string]struct{}, len(cfg.Audience))
	for _, a := range cfg.Audience {
		if a == "" {
			errs = append(errs, errors.New("jwt authorizer: audience: empty entry"))
		}
		aud[a] = struct{}{}
	}
	srcs := cfg.IdentitySource
	if len(srcs) == 0 {
		srcs = []string{DefaultIdentitySource}
	}
	var src authz.Source
	if len(srcs) != 1 {
		errs = append(errs, fmt.Errorf("jwt authorizer: identitySource: exactly one expression required, got %d", len(srcs)))
	} else if src, err = authz.ParseSource(srcs[0]); err != nil {
		errs = append(errs, fmt.Errorf("jwt authorizer: %w", err))
	} else if !src.IsHeader() && !src.IsQueryString() {
		errs = append(errs, fmt.Errorf("jwt authorizer: identitySource %q: must be $request.header.NAME or $request.querystring.NAME", srcs[0]))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"fetch timeout", cfg.FetchTimeout}, {"cache TTL", cfg.CacheTTL}, {"min refresh interval", cfg.MinRefreshInterval}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("jwt authorizer: %s %v: must not be negative", d.name, d.v))
		}
	}
	if cfg.MaxTokenBytes < 0 {
		errs = append(errs, fmt.Errorf("jwt authorizer: max token bytes %d: must not be negative", cfg.MaxTokenBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	a := &Authorizer{
		issuer:       cfg.Issuer,
		discoveryURL: strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration",
		audience:     aud,
		source:       src,
		client:       cfg.Client,
		now:          cfg.Now,
		skew:         cfg.ClockSkew,
		fetchTimeout: cfg.FetchTimeout,
		ttl:          cfg.CacheTTL,
		minRefresh:   cfg.MinRefreshInterval,
		maxToken:     cfg.MaxTokenBytes,
	}
	if a.fetchTimeout == 0 {
		a.fetchTimeout = DefaultFetchTimeout
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: a.fetchTimeout}
	}
	if a.now == nil {
		a.now = time.Now
	}
	switch {
	case a.skew == 0:
		a.skew = DefaultClockSkew
	case a.skew < 0:
		a.skew = 0
	}
	if a.ttl == 0 {
		a.ttl = DefaultCacheTTL
	}
	if a.minRefresh == 0 {
		a.minRefresh = DefaultMinRefreshInterval
	}
	if a.maxToken == 0 {
		a.maxToken = DefaultMaxTokenBytes
	}
	return a, nil
}

// Error descriptions sent in www-authenticate. "the token does not have a
// valid audience" is API Gateway's documented wording; the others follow
// its style (see docs/authorizers-jwt.md).
const (
	descMalformed    = "the token is malformed"
	descTooLarge     = "the token is too large"
	descNoKID        = "the token has no kid header"
	descUnknownKID   = "the token's kid does not match any key of the issuer"
	descSignature    = "the token signature is invalid"
	descIssuer       = "the token does not have a valid issuer"
	descAudience     = "the token does not have a valid audience"
	descExpired      = "the token has expired"
	descNoExpiry     = "the token has no exp claim"
	descNotYetValid  = "the token is not valid yet"
	descIssuedFuture = "the token was issued in the future"
)

// Authorize verifies the request's token and returns its claims and scopes.
// scopes are the route's authorizationScopes; when there are any, the token
// must carry at least one of them. It never reads r.Body. A missing token
// is a 401 without www-authenticate; an invalid one a 401 with it; a valid
// token without a route scope a 403.
func (a *Authorizer) Authorize(ctx context.Context, r *integration.Request, scopes []string) (*integration.Authorizer, error) {
	raw, ok := a.source.Value(r)
	if !ok {
		return nil, &edge.Error{Kind: edge.Unauthorized, Cause: fmt.Errorf("jwt authorizer: identity source %s is missing", a.source)}
	}
	if len(raw) > a.maxToken {
		return nil, invalid(descTooLarge, fmt.Errorf("%d bytes, limit %d", len(raw), a.maxToken))
	}
	token := stripBearer(raw)
	if token == "" {
		return nil, &edge.Error{Kind: edge.Unauthorized, Cause: fmt.Errorf("jwt authorizer: identity source %s has no token", a.source)}
	}
	v := a.verified.get(token)
	if v == nil || !a.stillPublished(v.key) {
		var err error
		if v, err = a.verify(ctx, token); err != nil {
			return nil, err
		}
	}
	c := v.claims
	if err := a.check(c); err != nil {
		return nil, err
	}
	var granted []string
	if len(scopes) > 0 {
		granted = c.scopes()
		if !anyIn(scopes, granted) {
			return nil, &edge.Error{
				Kind:   edge.Forbidden,
				Cause:  fmt.Errorf("jwt authorizer: token scopes %q hold none of the route's %q", granted, scopes),
				Header: http.Header{"Www-Authenticate": {`Bearer scope="` + quoteSafe(strings.Join(scopes, " ")) + `" error="insufficient_scope" error_description="the token does not have a valid scope"`}},
			}
		}
	}
	return &integration.Authorizer{JWT: &integration.JWTAuthorizer{Claims: v.claimStrings(), Scopes: granted}}, nil
}

// verify parses token, checks its signature with the issuer's key and
// decodes its claims, remembering the result for later requests.
func (a *Authorizer) verify(ctx context.Context, token string) (*verified, error) {
	if strings.Count(token, ".") != 2 {
		return nil, invalid(descMalformed, errors.New("want 3 dot-separated parts"))
	}
	tok, err := josejwt.ParseSigned(token, algorithms)
	if err != nil {
		if alg := headerAlg(token); alg != "" && !allowedAlg(alg) {
			return nil, invalid(fmt.Sprintf("signing method %s is invalid", alg), err)
		}
		return nil, invalid(descMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, invalid(descMalformed, errors.New("want exactly one signature"))
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return nil, invalid(descNoKID, errors.New("no kid"))
	}
	key, err := a.key(ctx, h.KeyID)
	if err != nil {
		return nil, invalid(descUnknownKID, err)
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, invalid(descSignature, fmt.Errorf("key %q is for %s, token uses %s", h.KeyID, key.Algorithm, h.Algorithm))
	}
	var payload rawJSON
	if err := tok.Claims(key.Key, &payload); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, invalid(descSignature, err)
		}
		return nil, invalid(descMalformed, err)
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return nil, invalid(descMalformed, err)
	}
	v := &verified{key: key, claims: c, str: c.strings()}
	a.verified.put(token, v)
	return v, nil
}

// stillPublished reports whether k is in the current key set.
func (a *Authorizer) stillPublished(k *jose.JSONWebKey) bool {
	ks := a.keys.Load()
	return ks != nil && ks.keys[k.KeyID] == k
}

// check validates issuer, audience and lifetime.
func (a *Authorizer) check(c *claims) error {
	if iss, _ := c.m["iss"].(string); iss != a.issuer {
		return invalid(descIssuer, fmt.Errorf("iss %q, want %q", iss, a.issuer))
	}
	if !a.audienceOK(c) {
		return invalid(descAudience, fmt.Errorf("aud %v / client_id %v not in the configured audience", c.m["aud"], c.m["client_id"]))
	}
	now := a.now()
	exp, ok, err := c.time("exp")
	switch {
	case err != nil:
		return invalid(descMalformed, err)
	case !ok:
		return invalid(descNoExpiry, errors.New("no exp"))
	case !now.Before(exp.Add(a.skew)):
		return invalid(descExpired, fmt.Errorf("expired at %s, now %s", exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if nbf, ok, err := c.time("nbf"); err != nil {
		return invalid(descMalformed, err)
	} else if ok && now.Add(a.skew).Before(nbf) {
		return invalid(descNotYetValid, fmt.Errorf("nbf %s, now %s", nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if iat, ok, err := c.time("iat"); err != nil {
		return invalid(descMalformed, err)
	} else if ok && now.Add(a.skew).Before(iat) {
		return invalid(descIssuedFuture, fmt.Errorf("iat %s, now %s", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	return nil
}

// audienceOK applies API Gateway's rule: aud when present (string or
// array, any entry matching), client_id only when aud is absent.
func (a *Authorizer) audienceOK(c *claims) bool {
	if aud, present := c.m["aud"]; present {
		switch v := aud.(type) {
		case string:
			_, ok := a.audience[v]
			return ok
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					if _, ok := a.audience[s]; ok {
						return true
					}
				}
			}
		}
		return false
	}
	cid, ok := c.m["client_id"].(string)
	if !ok {
		return false
	}
	_, ok = a.audience[cid]
	return ok
}

// invalid is a 401 with API Gateway's invalid_token challenge.
func invalid(desc string, cause error) *edge.Error {
	return &edge.Error{
		Kind:   edge.Unauthorized,
		Cause:  fmt.Errorf("jwt authorizer: %s: %w", desc, cause),
		Header: http.Header{"Www-Authenticate": {`Bearer scope="" error="invalid_token" error_description="` + quoteSafe(desc) + `"`}},
	}
}

// quoteSafe drops characters that cannot appear in a quoted-string header
// parameter, so nothing from a token can break the header.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

// stripBearer returns the token from "Bearer <token>" (scheme matched
// case-insensitively) or the bare value.
func stripBearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return v
}

// headerAlg decodes only the alg of a compact token's header, for error
// messages; it is called on the failure path only. It returns "" when the
// header cannot be decoded or alg is not a short printable name.
func headerAlg(token string) string {
	seg, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || len(h.Alg) > 16 || quoteSafe(h.Alg) != h.Alg {
		return ""
	}
	return h.Alg
}

func allowedAlg(alg string) bool {
	for _, a := range algorithms {
		if string(a) == alg {
			return true
		}
	}
	return false
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}

// rawJSON captures the verified payload bytes so they can be decoded with
// number precision kept.
type rawJSON []byte

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = bytes.Clone(b)
	return nil
}
