// Package cors implements the CORS behaviour of Amazon API Gateway HTTP APIs
// (an API's corsConfiguration): the gateway answers preflight requests itself
// and sets the configured CORS headers on every other response, replacing any
// CORS headers the integration returned.
//
// A Policy is compiled once by New from a Config and is immutable afterwards,
// so it is safe for concurrent use. Neither Preflight nor Apply writes to the
// client: Preflight describes the response and the gateway writes it; Apply
// edits a header map the gateway is about to write. See docs/cors.md for the
// behaviour and the sources of each decision.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/httptoken"
)

// Config is an API's CORS configuration, field for field API Gateway's
// corsConfiguration (the Cors shape of the apigatewayv2 API).
type Config struct {
	// AllowOrigins lists the origins allowed to read responses: "*" (any
	// origin), "https://*" or "http://*" (any origin of that scheme), or exact
	// origins such as "https://www.example.com" or "http://localhost:3000"
	// (scheme://host[:port], no path). Matching is case-insensitive. Empty
	// means no origin is allowed.
	AllowOrigins []string
	// AllowMethods lists the methods sent in Access-Control-Allow-Methods on
	// preflights, or "*" to allow the method the browser asks for. Methods
	// are upper-cased.
	AllowMethods []string
	// AllowHeaders lists the request headers sent in
	// Access-Control-Allow-Headers on preflights, or "*" to allow whatever
	// headers the browser asks for. Header names are case-insensitive.
	AllowHeaders []string
	// ExposeHeaders lists the response headers browsers may expose to
	// scripts (Access-Control-Expose-Headers), "*" included.
	ExposeHeaders []string
	// MaxAge is how many seconds browsers may cache a preflight result
	// (Access-Control-Max-Age), -1 to 86400; nil sends no header.
	MaxAge *int
	// AllowCredentials sends Access-Control-Allow-Credentials: true. It
	// cannot be combined with a "*" origin.
	AllowCredentials bool
}

// PreflightResponse is the complete response to a preflight: its status and
// headers. It has no body.
type PreflightResponse struct {
	Status int
	Header http.Header
}

// Policy is a compiled CORS configuration. It is immutable and safe for
// concurrent use.
type Policy struct {
	anyOrigin   bool                // "*" configured
	httpsAny    bool                // "https://*" configured
	httpAny     bool                // "http://*" configured
	exact       map[string]struct{} // lower-case exact origins
	credentials bool

	methodsAny bool
	headersAny bool

	// Precomputed header values. Each slice has len == cap, so an append by
	// a caller reallocates instead of writing into the shared array.
	allowMethods []string // nil when none configured
	allowHeaders []string // nil when none configured
	expose       []string // nil when none configured
	maxAge       []string // nil when unset
	star         []string // {"*"}
	yes          []string // {"true"}
	varyOrigin   []string // {"Origin"}
}

// Canonical header names.
const (
	hOrigin           = "Origin"
	hVary             = "Vary"
	hRequestMethod    = "Access-Control-Request-Method"
	hRequestHeaders   = "Access-Control-Request-Headers"
	hAllowOrigin      = "Access-Control-Allow-Origin"
	hAllowCredentials = "Access-Control-Allow-Credentials"
	hAllowMethods     = "Access-Control-Allow-Methods"
	hAllowHeaders     = "Access-Control-Allow-Headers"
	hExposeHeaders    = "Access-Control-Expose-Headers"
	hMaxAge           = "Access-Control-Max-Age"
)

// MaxAge bounds of the corsConfiguration model.
const (
	MinMaxAge = -1
	MaxMaxAge = 86400
)

// New validates cfg and compiles it into a Policy. Every problem found is
// reported, joined, in one error.
func New(cfg Config) (*Policy, error) {
	var errs []error
	p := &Policy{
		exact:      make(map[string]struct{}, len(cfg.AllowOrigins)),
		star:       []string{"*"},
		yes:        []string{"true"},
		varyOrigin: []string{"Origin"},
	}

	for i, o := range cfg.AllowOrigins {
		switch {
		case o == "*":
			p.anyOrigin = true
		case strings.EqualFold(o, "https://*"):
			p.httpsAny = true
		case strings.EqualFold(o, "http://*"):
			p.httpAny = true
		default:
			if err := checkOrigin(o); err != nil {
				errs = append(errs, fmt.Errorf("cors: allowOrigins[%d] %q: %w", i, o, err))
				continue
			}
			p.exact[strings.ToLower(o)] = struct{}{}
		}
	}
	if cfg.AllowCredentials && p.anyOrigin {
		// API Gateway's own message for this (aws-cdk issue 9076).
		errs = append(errs, errors.New("cors: allow-credentials is not supported if 'allow-origin' is *"))
	}
	p.credentials = cfg.AllowCredentials

	var methods []string
	for i, m := range cfg.AllowMethods {
		if m == "*" {
			p.methodsAny = true
			continue
		}
		if !httptoken.Valid(m) {
			errs = append(errs, fmt.Errorf("cors: allowMethods[%d] %q: not an HTTP method (a token such as GET, or *)", i, m))
			continue
		}
		methods = appendUnique(methods, strings.ToUpper(m))
	}
	if !p.methodsAny && len(methods) > 0 {
		p.allowMethods = []string{strings.Join(methods, ",")}
	}

	headers, wild, herrs := headerList("allowHeaders", cfg.AllowHeaders)
	errs = append(errs, herrs...)
	p.headersAny = wild
	if !wild && len(headers) > 0 {
		p.allowHeaders = []string{strings.Join(headers, ",")}
	}

	expose, exposeAny, eerrs := headerList("exposeHeaders", cfg.ExposeHeaders)
	errs = append(errs, eerrs...)
	if exposeAny {
		expose = append([]string{"*"}, expose...)
	}
	if len(expose) > 0 {
		p.expose = []string{strings.Join(expose, ",")}
	}

	if cfg.MaxAge != nil {
		if v := *cfg.MaxAge; v < MinMaxAge || v > MaxMaxAge {
			errs = append(errs, fmt.Errorf("cors: maxAge %d: out of range %d to %d", v, MinMaxAge, MaxMaxAge))
		} else {
			p.maxAge = []string{strconv.Itoa(v)}
		}
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// headerList validates a list of header names; "*" is reported separately.
func headerList(field string, in []string) (out []string, wild bool, errs []error) {
	for i, h := range in {
		if h == "*" {
			wild = true
			continue
		}
		if !httptoken.Valid(h) {
			errs = append(errs, fmt.Errorf("cors: %s[%d] %q: not a header name (a token such as content-type, or *)", field, i, h))
			continue
		}
		out = appendUnique(out, h)
	}
	return out, wild, errs
}

// appendUnique appends s unless an equal (case-insensitively) entry exists.
func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return list
		}
	}
	return append(list, s)
}

// checkOrigin accepts scheme://host[:port] with no user info, path, query or
// fragment. Other wildcard forms (such as https://*.example.com) are not
// supported by API Gateway and are rejected.
func checkOrigin(o string) error {
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || !isScheme(scheme) {
		return errors.New("want \"*\", \"https://*\", \"http://*\" or scheme://host[:port]")
	}
	if strings.Contains(rest, "*") {
		return errors.New("wildcards are only allowed as \"*\", \"https://*\" or \"http://*\"")
	}
	if strings.HasSuffix(rest, "/") {
		return errors.New("an origin has no path; remove the trailing slash")
	}
	if !isHostPort(rest) {
		return errors.New("want scheme://host[:port] with no path, query or user info")
	}
	return nil
}

func isScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// isHostPort reports whether s is a plausible host[:port] (including an IPv6
// literal in brackets): non-empty, with no path, query, fragment, user info,
// whitespace or control characters.
func isHostPort(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) {
			continue
		}
		switch c {
		case '.', '-', '_', '~', '%', ':', '[', ']':
			continue
		}
		return false
	}
	return s[0] != ':'
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Allowed reports whether origin (a request's Origin header value) is allowed
// by the policy.
func (p *Policy) Allowed(origin string) bool {
	if origin == "" {
		return false
	}
	if p.anyOrigin {
		return true
	}
	if p.httpsAny && hasPrefixFold(origin, "https://") && isHostPort(origin[len("https://"):]) {
		return true
	}
	if p.httpAny && hasPrefixFold(origin, "http://") && isHostPort(origin[len("http://"):]) {
		return true
	}
	if len(p.exact) == 0 {
		return false
	}
	if _, ok := p.exact[origin]; ok { // the common case: already lower-case
		return true
	}
	if hasUpper(origin) {
		_, ok := p.exact[strings.ToLower(origin)]
		return ok
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

// echoesOrigin reports whether Access-Control-Allow-Origin carries the
// request's origin rather than "*", so the response varies by Origin.
func (p *Policy) echoesOrigin() bool { return !p.anyOrigin || p.credentials }

// IsPreflight reports whether r is a CORS preflight: an OPTIONS request
// carrying both Origin and Access-Control-Request-Method.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions &&
		r.Header.Get(hOrigin) != "" &&
		r.Header.Get(hRequestMethod) != ""
}

// Preflight reports whether r is a CORS preflight (see IsPreflight) and, if
// so, returns the complete response to send: status 204, no body, and the
// CORS headers when r's origin is allowed. A preflight from an origin that is
// not allowed still gets a 204, without any Access-Control-* header, so the
// browser refuses the actual request. The requested method and headers are
// not checked against the configuration: the configured lists are sent and
// the browser decides, except that a "*" in AllowMethods or AllowHeaders
// echoes what the browser asked for. The returned header map is new on each
// call and owned by the caller.
func (p *Policy) Preflight(r *http.Request) (resp *PreflightResponse, ok bool) {
	if !IsPreflight(r) {
		return nil, false
	}
	origin := r.Header.Get(hOrigin)
	h := make(http.Header, 6)
	resp = &PreflightResponse{Status: http.StatusNoContent, Header: h}
	if p.echoesOrigin() {
		h[hVary] = p.varyOrigin
	}
	if !p.Allowed(origin) {
		return resp, true
	}
	p.setOrigin(h, origin)
	if p.methodsAny {
		if m := r.Header.Get(hRequestMethod); httptoken.Valid(m) {
			h[hAllowMethods] = []string{m}
		}
	} else if p.allowMethods != nil {
		h[hAllowMethods] = p.allowMethods
	}
	if p.headersAny {
		if hs := requestedHeaders(r.Header.Values(hRequestHeaders)); hs != "" {
			h[hAllowHeaders] = []string{hs}
		}
	} else if p.allowHeaders != nil {
		h[hAllowHeaders] = p.allowHeaders
	}
	if p.maxAge != nil {
		h[hMaxAge] = p.maxAge
	}
	return resp, true
}

// requestedHeaders rebuilds an Access-Control-Request-Headers value from its
// valid header names only, lower-cased and comma-separated, so that nothing
// but tokens is ever echoed.
func requestedHeaders(values []string) string {
	var b strings.Builder
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			if !httptoken.Valid(f) {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.ToLower(f))
		}
	}
	return b.String()
}

// setOrigin sets Access-Control-Allow-Origin and -Allow-Credentials for an
// allowed origin.
func (p *Policy) setOrigin(h http.Header, origin string) {
	if p.echoesOrigin() {
		h[hAllowOrigin] = []string{origin}
	} else {
		h[hAllowOrigin] = p.star
	}
	if p.credentials {
		h[hAllowCredentials] = p.yes
	}
}

// Apply fixes the headers of a non-preflight response (from an integration
// or generated by the gateway) to a request whose Origin header was origin
// ("" when absent). It always removes every Access-Control-* header already
// in h, since API Gateway ignores the integration's CORS headers once CORS is
// configured. When origin is allowed it then sets Access-Control-Allow-Origin,
// -Allow-Credentials (if configured) and -Expose-Headers (if configured).
// When the answer depends on the origin, "Origin" is added to Vary (keeping
// any Vary values already there). No Origin header: nothing is added.
//
// Values Apply stores may be shared between responses: callers may append to
// or replace h's values but must not modify them in place.
func (p *Policy) Apply(h http.Header, origin string) {
	for k := range h {
		if len(k) >= len("Access-Control-") && strings.EqualFold(k[:len("Access-Control-")], "Access-Control-") {
			delete(h, k)
		}
	}
	if origin == "" {
		return
	}
	if p.echoesOrigin() {
		addVaryOrigin(h, p.varyOrigin)
	}
	if !p.Allowed(origin) {
		return
	}
	p.setOrigin(h, origin)
	if p.expose != nil {
		h[hExposeHeaders] = p.expose
	}
}

// addVaryOrigin adds Origin to h's Vary header unless it (or "*") is there.
func addVaryOrigin(h http.Header, varyOrigin []string) {
	vs := h[hVary]
	if len(vs) == 0 {
		h[hVary] = varyOrigin
		return
	}
	for _, v := range vs {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, hOrigin) {
				return
			}
		}
	}
	h[hVary] = append(vs[:len(vs):len(vs)], hOrigin)
}
