package spec

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Access control and throttling: authorizers, route authorization, CORS,
// stage route settings, the account throttle, access keys, usage plans and
// API keys.

// Route authorization types.
const (
	AuthJWT    = "JWT"
	AuthCustom = "CUSTOM"
	AuthIAM    = "AWS_IAM"
)

// Limits checked by the validator (AWS's, unless noted).
const (
	MaxJWTAudiences        = 50
	MaxAuthorizationScopes = 10
	MaxAuthorizerTTL       = 3600
	MinCorsMaxAge          = -1
	MaxCorsMaxAge          = 86400
	MinAPIKeyLength        = 20
	MaxAPIKeyLength        = 128
	MinSecretKeyLength     = 16 // Portico's floor; AWS secrets are 40 characters
)

var (
	authorizationTypes = []string{AuthNone, AuthJWT, AuthCustom, AuthIAM}
	corsMethods        = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
	quotaPeriods       = []string{"DAY", "WEEK", "MONTH"}

	accessKeyID  = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	headerName   = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	originScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

	// Identity source selection expressions.
	headerSource      = regexp.MustCompile("^\\$request\\.header\\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	querySource       = regexp.MustCompile(`^\$request\.querystring\.[^\s]+$`)
	contextSource     = regexp.MustCompile(`^\$context\.[A-Za-z][A-Za-z0-9_.-]*$`)
	stageVarSource    = regexp.MustCompile(`^\$stageVariables\.[A-Za-z0-9_]+$`)
	sourcePrefixFixes = []struct{ alias, canon string }{
		{"$request.header.", "$request.header."}, {"$request.headers.", "$request.header."},
		{"$request.querystring.", "$request.querystring."}, {"$request.querystrings.", "$request.querystring."},
		{"$request.query.", "$request.querystring."}, {"$context.", "$context."},
		{"$stagevariables.", "$stageVariables."}, {"$stagevariable.", "$stageVariables."},
	}
)

// validSource reports whether s is an identity source a REQUEST
// authorizer accepts; jwt restricts it to headers and query strings.
func validSource(s string, jwt bool) bool {
	if headerSource.MatchString(s) || querySource.MatchString(s) {
		return true
	}
	return !jwt && (contextSource.MatchString(s) || stageVarSource.MatchString(s))
}

// sourceHint suggests a corrected identity source for common slips: a
// missing "$", REST's "method.request.header.X", wrong case in the prefix,
// "headers" or "query".
func sourceHint(s string, jwt bool) string {
	t := strings.TrimPrefix(s, "$")
	if low := strings.ToLower(t); strings.HasPrefix(low, "method.request.") {
		t = t[len("method."):]
	}
	t = "$" + t
	low := strings.ToLower(t)
	for _, f := range sourcePrefixFixes {
		if strings.HasPrefix(low, f.alias) {
			if c := f.canon + t[len(f.alias):]; c != s && validSource(c, jwt) {
				return fmt.Sprintf(" (did you mean %q?)", c)
			}
		}
	}
	return ""
}

func (v *validator) authorizer(au *Authorizer) {
	notFor := func(p any, field, typ string) {
		if at, ok := v.pos.at(p); ok {
			v.add(at, "%s: not used by %s authorizers", field, typ)
		}
	}
	switch au.Type {
	case "":
		v.add(au.Pos, "authorizer %q: type is required (JWT or REQUEST)", au.Name)
	case AuthorizerJWT:
		v.jwtAuthorizer(au)
		notFor(&au.Function, "function", AuthorizerJWT)
		notFor(&au.AuthorizerPayloadFormatVersion, "authorizerPayloadFormatVersion", AuthorizerJWT)
		notFor(&au.EnableSimpleResponses, "enableSimpleResponses", AuthorizerJWT)
		notFor(&au.AuthorizerResultTtlInSeconds, "authorizerResultTtlInSeconds", AuthorizerJWT)
	case AuthorizerRequest:
		v.requestAuthorizer(au)
		notFor(&au.JWTConfiguration, "jwtConfiguration", AuthorizerRequest)
	default:
		v.add(v.pos.or(&au.Type, au.Pos), "type: must be JWT or REQUEST, got %q%s", au.Type, didYouMean(au.Type, []string{AuthorizerJWT, AuthorizerRequest}))
	}
}

func (v *validator) jwtAuthorizer(au *Authorizer) {
	sp := v.pos.or(&au.IdentitySource, au.Pos)
	if len(au.IdentitySource) != 1 {
		v.add(sp, "identitySource: a JWT authorizer takes exactly one identity source, got %d", len(au.IdentitySource))
	}
	for i, s := range au.IdentitySource {
		if !validSource(s, true) {
			v.add(v.pos.entry(&au.IdentitySource, strconv.Itoa(i), sp), "identitySource[%d]: a JWT authorizer reads the token from $request.header.NAME or $request.querystring.NAME, got %q%s", i, s, sourceHint(s, true))
		}
	}
	c := au.JWTConfiguration
	if c == nil {
		v.add(au.Pos, "authorizer %q: jwtConfiguration is required for JWT authorizers", au.Name)
		return
	}
	cp := v.pos.or(&au.JWTConfiguration, au.Pos)
	if c.Issuer == "" {
		v.add(cp, "jwtConfiguration: issuer is required")
	} else if err := checkIssuer(c.Issuer); err != nil {
		v.add(v.pos.or(&c.Issuer, cp), "issuer: %v", err)
	}
	ap := v.pos.or(&c.Audience, cp)
	if n := len(c.Audience); n < 1 || n > MaxJWTAudiences {
		v.add(ap, "jwtConfiguration: audience needs 1 to %d entries, got %d", MaxJWTAudiences, n)
	}
	for i, a := range c.Audience {
		if a == "" {
			v.add(v.pos.entry(&c.Audience, strconv.Itoa(i), ap), "audience[%d]: must not be empty", i)
		}
	}
}

// checkIssuer accepts an https:// URL, or an http:// URL on a loopback host
// (localhost, 127.0.0.1, [::1]) for local identity providers.
func checkIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URL; want https://HOST[/PATH]", iss)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
			return nil
		}
		return fmt.Errorf("%q: must use https:// (http:// is accepted only for localhost, 127.0.0.1 and [::1])", iss)
	}
	return fmt.Errorf("%q: must use https://", iss)
}

func (v *validator) requestAuthorizer(au *Authorizer) {
	switch {
	case au.Function == "":
		v.add(au.Pos, "authorizer %q: function is required for REQUEST authorizers", au.Name)
	case v.spec.Functions[au.Function] == nil:
		v.add(v.pos.or(&au.Function, au.Pos), "function: no function named %q%s", au.Function, didYouMean(au.Function, slices.Collect(maps.Keys(v.spec.Functions))))
	}
	pfv := au.AuthorizerPayloadFormatVersion
	if pfv != "1.0" && pfv != "2.0" {
		v.add(v.pos.or(&au.AuthorizerPayloadFormatVersion, au.Pos), "authorizerPayloadFormatVersion: must be \"1.0\" or \"2.0\", got %q", pfv)
	} else if au.EnableSimpleResponses && pfv != "2.0" {
		v.add(v.pos.or(&au.EnableSimpleResponses, au.Pos), "enableSimpleResponses: only with authorizerPayloadFormatVersion \"2.0\"")
	}
	sp := v.pos.or(&au.IdentitySource, au.Pos)
	for i, s := range au.IdentitySource {
		if !validSource(s, false) {
			v.add(v.pos.entry(&au.IdentitySource, strconv.Itoa(i), sp), "identitySource[%d]: %q is not $request.header.NAME, $request.querystring.NAME, $context.NAME or $stageVariables.NAME%s", i, s, sourceHint(s, false))
		}
	}
	if ttl := au.AuthorizerResultTtlInSeconds; ttl != nil {
		tp := v.pos.or(&au.AuthorizerResultTtlInSeconds, au.Pos)
		switch {
		case *ttl < 0 || *ttl > MaxAuthorizerTTL:
			v.add(tp, "authorizerResultTtlInSeconds: must be 0 to %d, got %d", MaxAuthorizerTTL, *ttl)
		case *ttl > 0 && len(au.IdentitySource) == 0:
			v.add(tp, "authorizerResultTtlInSeconds: caching needs at least one identitySource (the cache key); set it to 0 or add an identity source")
		}
	}
}

// routeAuth checks a route's authorization settings against the API's
// authorizers.
func (v *validator) routeAuth(a *API, r *Route) {
	tp := v.pos.or(&r.AuthorizationType, r.Pos)
	ap := v.pos.or(&r.Authorizer, r.Pos)
	switch r.AuthorizationType {
	case AuthJWT, AuthCustom:
		want := AuthorizerJWT
		if r.AuthorizationType == AuthCustom {
			want = AuthorizerRequest
		}
		au := a.Authorizers[r.Authorizer]
		switch {
		case r.Authorizer == "":
			v.add(tp, "route %q: authorizer is required for authorizationType %s", r.Key, r.AuthorizationType)
		case au == nil:
			v.add(ap, "authorizer: no authorizer named %q in api %q%s", r.Authorizer, a.Name, didYouMean(r.Authorizer, slices.Collect(maps.Keys(a.Authorizers))))
		case au.Type != want && (au.Type == AuthorizerJWT || au.Type == AuthorizerRequest):
			fix := AuthCustom
			if au.Type == AuthorizerJWT {
				fix = AuthJWT
			}
			v.add(ap, "authorizer: authorizationType %s needs a %s authorizer; %q is a %s authorizer (use authorizationType %s)", r.AuthorizationType, want, r.Authorizer, au.Type, fix)
		}
	case AuthNone, AuthIAM:
		if r.Authorizer != "" {
			v.add(ap, "authorizer: not used with authorizationType %s; set authorizationType to JWT or CUSTOM", r.AuthorizationType)
		}
	default:
		hint := didYouMean(r.AuthorizationType, authorizationTypes)
		switch strings.ToUpper(r.AuthorizationType) {
		case AuthorizerRequest, "LAMBDA":
			hint = " (a Lambda REQUEST authorizer is used with CUSTOM)"
		case "IAM", "SIGV4":
			hint = ` (did you mean "AWS_IAM"?)`
		}
		v.add(tp, "authorizationType: must be NONE, JWT, CUSTOM or AWS_IAM, got %q%s", r.AuthorizationType, hint)
	}
	if sp, given := v.pos.at(&r.AuthorizationScopes); given {
		if r.AuthorizationType != AuthJWT {
			v.add(sp, "authorizationScopes: only for authorizationType JWT")
		} else if len(r.AuthorizationScopes) > MaxAuthorizationScopes {
			v.add(sp, "authorizationScopes: at most %d, got %d", MaxAuthorizationScopes, len(r.AuthorizationScopes))
		}
		for i, s := range r.AuthorizationScopes {
			if s == "" || strings.ContainsAny(s, " \t\r\n") {
				v.add(v.pos.entry(&r.AuthorizationScopes, strconv.Itoa(i), sp), "authorizationScopes[%d]: %q: a scope is a non-empty word without spaces", i, s)
			}
		}
	}
}

// apiKeyCoverage reports routes that require an API key in an API that no
// usage plan covers: no key could ever be accepted there.
func (v *validator) apiKeyCoverage(a *API) {
	covered := false
	for _, p := range v.spec.UsagePlans {
		for _, s := range p.APIStages {
			covered = covered || s.API == a.Name
		}
	}
	if covered {
		return
	}
	for _, r := range sorted(a.Routes, func(r *Route) Pos { return r.Pos }) {
		if r.APIKeyRequired {
			v.add(v.pos.or(&r.APIKeyRequired, r.Pos), "apiKeyRequired: no usage plan covers api %q; keys could never be accepted", a.Name)
		}
	}
}

func (v *validator) cors(c *Cors, cp Pos) {
	for i, o := range c.AllowOrigins {
		if err := checkOrigin(o); err != nil {
			v.add(v.pos.entry(&c.AllowOrigins, strconv.Itoa(i), v.pos.or(&c.AllowOrigins, cp)), "allowOrigins[%d]: %v", i, err)
		}
	}
	for i, m := range c.AllowMethods {
		if m != "*" && !slices.Contains(corsMethods, m) {
			hint := ""
			if slices.Contains(corsMethods, strings.ToUpper(m)) {
				hint = fmt.Sprintf(" (methods are upper case: %s)", strings.ToUpper(m))
			}
			v.add(v.pos.entry(&c.AllowMethods, strconv.Itoa(i), v.pos.or(&c.AllowMethods, cp)), "allowMethods[%d]: must be one of %s or \"*\", got %q%s", i, strings.Join(corsMethods, " "), m, hint)
		}
	}
	headers := func(field string, l *[]string) {
		for i, h := range *l {
			if h != "*" && !headerName.MatchString(h) {
				v.add(v.pos.entry(l, strconv.Itoa(i), v.pos.or(l, cp)), "%s[%d]: %q is not a header name (or \"*\")", field, i, h)
			}
		}
	}
	headers("allowHeaders", &c.AllowHeaders)
	headers("exposeHeaders", &c.ExposeHeaders)
	if c.AllowCredentials && slices.Contains(c.AllowOrigins, "*") {
		// API Gateway's own message for this, as the cors package says it.
		v.add(v.pos.or(&c.AllowCredentials, cp), "allowCredentials: allow-credentials is not supported if 'allow-origin' is *")
	}
	if c.MaxAge != nil && (*c.MaxAge < MinCorsMaxAge || *c.MaxAge > MaxCorsMaxAge) {
		v.add(v.pos.or(&c.MaxAge, cp), "maxAge: must be %d to %d seconds, got %d", MinCorsMaxAge, MaxCorsMaxAge, *c.MaxAge)
	}
}

// checkOrigin accepts "*", "http://*", "https://*" and scheme://host[:port].
func checkOrigin(o string) error {
	switch o {
	case "*", "http://*", "https://*":
		return nil
	}
	const want = `want "*", "http://*", "https://*" or scheme://host[:port] with no path`
	scheme, hostport, ok := strings.Cut(o, "://")
	if !ok || !originScheme.MatchString(scheme) || hostport == "" {
		return fmt.Errorf("%q is not an origin; %s", o, want)
	}
	if trimmed, cut := strings.CutSuffix(hostport, "/"); cut && !strings.ContainsAny(trimmed, "/?#") && trimmed != "" {
		return fmt.Errorf("%q is not an origin: an origin has no path (drop the trailing \"/\")", o)
	}
	if strings.Contains(hostport, "*") {
		return fmt.Errorf("%q: wildcard hosts are not supported; list each origin, or use \"%s://*\"", o, scheme)
	}
	if strings.ContainsAny(hostport, "/?#@ \t") {
		return fmt.Errorf("%q is not an origin; %s", o, want)
	}
	u, err := url.Parse(o)
	if err != nil || u.Host != hostport || u.Hostname() == "" {
		return fmt.Errorf("%q is not an origin; %s", o, want)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port must be 1 to 65535", o)
		}
	}
	return nil
}

// settings checks a stage's default or per-route throttle.
func (v *validator) settings(rs *RouteSettings, base Pos) {
	v.throttleAt(&rs.ThrottlingRateLimit, &rs.ThrottlingBurstLimit, "throttlingRateLimit", "throttlingBurstLimit", base)
	if rs.TokenLimits != nil {
		v.tokenLimits(rs.TokenLimits, v.pos.or(&rs.TokenLimits, base))
	}
}

// throttleAt checks a rate (requests per second) and a burst (bucket
// size); rate and burst point at the spec fields, whose positions the
// decoder recorded.
func (v *validator) throttleAt(rate **float64, burst **int, rateName, burstName string, base Pos) {
	if *rate != nil && **rate < 0 {
		v.add(v.pos.or(rate, base), "%s: must be 0 or more, got %s", rateName, strconv.FormatFloat(**rate, 'g', -1, 64))
	}
	if *burst != nil && **burst < 0 {
		v.add(v.pos.or(burst, base), "%s: must be 0 or more, got %d", burstName, **burst)
	}
}

func (v *validator) routeSettings(a *API, s *Stage) {
	if d := s.DefaultRouteSettings; d != nil {
		v.settings(d, v.pos.or(&s.DefaultRouteSettings, s.Pos))
	}
	if d := s.DefaultRouteSettings; d != nil && d.TokenLimits != nil {
		v.defaultTokenLimits(a, d)
	}
	keys := slices.Collect(maps.Keys(a.Routes))
	for _, rs := range sorted(s.RouteSettings, func(rs *RouteSettings) Pos { return rs.Pos }) {
		if rs.Key != DefaultRouteKey && a.Routes[rs.Key] == nil {
			v.add(rs.Pos, "routeSettings: no route %q in api %q%s", rs.Key, a.Name, didYouMean(rs.Key, keys))
		}
		if !v.broken[rs] {
			v.settings(rs, rs.Pos)
			if rs.TokenLimits != nil {
				v.routeTokenLimits(a, rs)
			}
		}
	}
}

func (v *validator) account() {
	ac := v.spec.Account
	v.throttleAt(&ac.ThrottlingRateLimit, &ac.ThrottlingBurstLimit, "throttlingRateLimit", "throttlingBurstLimit", v.pos.or(&v.spec.Account, Pos{1, 1}))
}

func (v *validator) accessKey(k *AccessKey) {
	switch {
	case k.AccessKeyID == "":
		v.add(k.Pos, "access key %q: accessKeyId is required", k.Name)
	case !accessKeyID.MatchString(k.AccessKeyID):
		v.add(v.pos.or(&k.AccessKeyID, k.Pos), "accessKeyId: must be 16 to 128 upper-case letters and digits, got %q", k.AccessKeyID)
	}
	switch {
	case k.SecretAccessKey == "":
		v.add(k.Pos, "access key %q: secretAccessKey is required", k.Name)
	case len(k.SecretAccessKey) < MinSecretKeyLength:
		v.add(v.pos.or(&k.SecretAccessKey, k.Pos), "secretAccessKey: must be at least %d characters, got %d", MinSecretKeyLength, len(k.SecretAccessKey))
	}
	switch {
	case k.Role == "":
		v.add(k.Pos, "access key %q: role is required (its policies decide what the key may invoke)", k.Name)
	case v.spec.Roles[k.Role] == nil:
		v.add(v.pos.or(&k.Role, k.Pos), "role: no role named %q%s", k.Role, didYouMean(k.Role, slices.Collect(maps.Keys(v.spec.Roles))))
	}
}

func (v *validator) uniqueAccessKeyIDs() {
	seen := map[string]*AccessKey{}
	for _, k := range sorted(v.spec.AccessKeys, func(k *AccessKey) Pos { return k.Pos }) {
		if k.AccessKeyID == "" {
			continue
		}
		if first, dup := seen[k.AccessKeyID]; dup {
			v.add(v.pos.or(&k.AccessKeyID, k.Pos), "accessKeyId: %q is also the id of access key %q", k.AccessKeyID, first.Name)
		} else {
			seen[k.AccessKeyID] = k
		}
	}
}

func (v *validator) usagePlan(p *UsagePlan) {
	if t := p.Throttle; t != nil {
		v.throttleAt(&t.RateLimit, &t.BurstLimit, "rateLimit", "burstLimit", v.pos.or(&p.Throttle, p.Pos))
	}
	if p.TokenLimits != nil {
		v.tokenLimits(p.TokenLimits, v.pos.or(&p.TokenLimits, p.Pos))
	}
	if q := p.Quota; q != nil {
		qp := v.pos.or(&p.Quota, p.Pos)
		if lp, given := v.pos.at(&q.Limit); !given {
			v.add(qp, "quota: limit is required (requests per period, 1 or more)")
		} else if q.Limit < 1 {
			v.add(lp, "limit: must be 1 or more, got %d", q.Limit)
		}
		switch {
		case q.Period == "":
			v.add(qp, "quota: period is required (DAY, WEEK or MONTH)")
		case !slices.Contains(quotaPeriods, q.Period):
			v.add(v.pos.or(&q.Period, qp), "period: must be DAY, WEEK or MONTH, got %q%s", q.Period, didYouMean(q.Period, quotaPeriods))
		}
	}
	type apiStage struct{ api, stage string }
	seen := map[apiStage]int{}
	for i, s := range p.APIStages {
		ep := v.pos.entry(&p.APIStages, strconv.Itoa(i), p.Pos)
		a := v.spec.APIs[s.API]
		switch {
		case s.API == "":
			v.add(ep, "apiStages[%d]: api is required", i)
		case a == nil:
			v.add(v.pos.or(&s.API, ep), "apiStages[%d].api: no api named %q%s", i, s.API, didYouMean(s.API, slices.Collect(maps.Keys(v.spec.APIs))))
		}
		switch {
		case s.Stage == "":
			v.add(ep, "apiStages[%d]: stage is required", i)
		case a != nil && a.Stages[s.Stage] == nil:
			v.add(v.pos.or(&s.Stage, ep), "apiStages[%d].stage: no stage named %q in api %q%s", i, s.Stage, s.API, didYouMean(s.Stage, slices.Collect(maps.Keys(a.Stages))))
		}
		k := apiStage{s.API, s.Stage}
		if first, dup := seen[k]; dup && s.API != "" && s.Stage != "" {
			v.add(ep, "apiStages[%d]: api %q stage %q is already listed at apiStages[%d]", i, s.API, s.Stage, first)
		} else if !dup {
			seen[k] = i
		}
	}
}

func (v *validator) apiKey(k *APIKey) {
	switch {
	case k.Plan == "":
		v.add(k.Pos, "api key %q: plan is required (a key on no usage plan is never accepted)", k.Name)
	case v.spec.UsagePlans[k.Plan] == nil:
		v.add(v.pos.or(&k.Plan, k.Pos), "plan: no usage plan named %q%s", k.Plan, didYouMean(k.Plan, slices.Collect(maps.Keys(v.spec.UsagePlans))))
	}
	vp := v.pos.or(&k.Value, k.Pos)
	if n := len(k.Value); n < MinAPIKeyLength || n > MaxAPIKeyLength {
		v.add(vp, "value: must be %d to %d printable ASCII characters without spaces, got %d characters", MinAPIKeyLength, MaxAPIKeyLength, n)
		return
	}
	for i := 0; i < len(k.Value); i++ {
		if c := k.Value[i]; c < 0x21 || c > 0x7e {
			v.add(vp, "value: must be printable ASCII without spaces; byte %d is %q", i, c)
			return
		}
	}
}

func (v *validator) uniqueAPIKeyValues() {
	seen := map[string]*APIKey{}
	for _, k := range sorted(v.spec.APIKeys, func(k *APIKey) Pos { return k.Pos }) {
		if first, dup := seen[k.Value]; dup {
			v.add(v.pos.or(&k.Value, k.Pos), "value: same value as api key %q", first.Name)
		} else {
			seen[k.Value] = k
		}
	}
}
