package spec

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// KnownRuntime reports whether Portico can run functions with the Lambda
// runtime identifier id: python3.6 to python3.14, nodejs18.x, nodejs20.x,
// nodejs22.x, nodejs24.x, provided.al2023, provided.al2 and provided.
func KnownRuntime(id string) bool {
	switch id {
	case "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "provided", "provided.al2", "provided.al2023":
		return true
	}
	if minor, ok := strings.CutPrefix(id, "python3."); ok {
		n, err := strconv.Atoi(minor)
		return err == nil && strconv.Itoa(n) == minor && n >= 6 && n <= 14
	}
	return false
}

// RuntimeFamily is "python", "nodejs" or "provided" for a known runtime,
// "" otherwise.
func RuntimeFamily(id string) string {
	if !KnownRuntime(id) {
		return ""
	}
	switch {
	case strings.HasPrefix(id, "python"):
		return "python"
	case strings.HasPrefix(id, "nodejs"):
		return "nodejs"
	}
	return "provided"
}

// knownRuntimeList is for messages and suggestions.
var knownRuntimeList = func() []string {
	l := []string{}
	for i := 6; i <= 14; i++ {
		l = append(l, "python3."+strconv.Itoa(i))
	}
	return append(l, "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "provided.al2023", "provided.al2", "provided")
}()

// ReservedEnv reports whether Lambda reserves the environment variable
// name (sets it itself and refuses it in function configuration).
func ReservedEnv(name string) bool {
	switch name {
	case "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
		"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR":
		return true
	}
	return false
}

var (
	functionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	roleName     = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	bucketName   = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	apiID        = regexp.MustCompile(`^[a-z0-9]{1,63}$`)
	envName      = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)
	pyIdent      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	jsIdent      = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)
	stageName    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	stageVarName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	stageVarVal  = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#&=,]+$`)
	stageVarRef  = regexp.MustCompile(`\$\{stageVariables\.([A-Za-z0-9_]+)\}`)
)

// Limits checked by the validator.
const (
	MaxStages         = 10
	MaxStageVariables = 100
	maxEnvBytes       = 4096 // Lambda's limit on all variables together
)

type validator struct {
	*errs
	pos    positions
	broken map[any]bool
	spec   *Spec

	anyNodes nodeMap // see decoder.anyNodes
}

// sorted returns a map's values ordered by position, so that "first"
// means first in the file.
func sorted[T any](m map[string]*T, pos func(*T) Pos) []*T {
	l := slices.Collect(maps.Values(m))
	slices.SortFunc(l, func(a, b *T) int {
		pa, pb := pos(a), pos(b)
		return cmp.Or(cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Col, pb.Col))
	})
	return l
}

func (v *validator) validate() {
	for _, f := range sorted(v.spec.Functions, func(f *Function) Pos { return f.Pos }) {
		if !v.broken[f] {
			v.function(f)
			v.eventInvokeConfig(f)
			v.permissions(f)
		}
	}
	for _, r := range sorted(v.spec.Roles, func(r *Role) Pos { return r.Pos }) {
		if !v.broken[r] {
			v.role(r)
		}
	}
	for _, b := range sorted(v.spec.Buckets, func(b *Bucket) Pos { return b.Pos }) {
		if !bucketName.MatchString(b.Name) || strings.Contains(b.Name, "..") {
			v.add(b.Pos, "bucket name %q: must be 3 to 63 lower-case letters, digits, \".\" or \"-\", starting and ending with a letter or digit", b.Name)
		}
		if !v.broken[b] {
			v.bucketContents(b)
			v.notifications(b)
		}
	}
	if v.spec.Storage != nil {
		v.storage(v.spec.Storage)
	}
	ids := map[string]*API{}
	for _, a := range sorted(v.spec.APIs, func(a *API) Pos { return a.Pos }) {
		if v.broken[a] {
			continue
		}
		v.api(a)
		if other, dup := ids[a.ID]; dup {
			v.add(v.pos.or(&a.ID, a.Pos), "api %q: id %q is also the id of api %q", a.Name, a.ID, other.Name)
		} else {
			ids[a.ID] = a
		}
	}
	v.account()
	for _, d := range sorted(v.spec.DomainNames, func(d *DomainName) Pos { return d.Pos }) {
		if !v.broken[d] {
			v.domainName(d)
		}
	}
	for _, k := range sorted(v.spec.AccessKeys, func(k *AccessKey) Pos { return k.Pos }) {
		if !v.broken[k] {
			v.accessKey(k)
		}
	}
	v.uniqueAccessKeyIDs()
	for _, p := range sorted(v.spec.UsagePlans, func(p *UsagePlan) Pos { return p.Pos }) {
		if !v.broken[p] {
			v.usagePlan(p)
		}
	}
	for _, k := range sorted(v.spec.APIKeys, func(k *APIKey) Pos { return k.Pos }) {
		if !v.broken[k] {
			v.apiKey(k)
		}
	}
	v.uniqueAPIKeyValues()
}

func (v *validator) function(f *Function) {
	if !functionName.MatchString(f.Name) {
		v.add(f.Pos, "function name %q: must be 1 to 64 letters, digits, \"-\" or \"_\"", f.Name)
	}
	family := ""
	switch {
	case f.Runtime == "":
		v.add(f.Pos, "function %q: runtime is required", f.Name)
	case !KnownRuntime(f.Runtime):
		v.add(v.pos.or(&f.Runtime, f.Pos), "runtime: unsupported runtime %q%s; supported: python3.6 to python3.14, nodejs18.x to nodejs24.x, provided.al2023, provided.al2, provided",
			f.Runtime, didYouMean(f.Runtime, knownRuntimeList))
	default:
		family = RuntimeFamily(f.Runtime)
	}
	hp := v.pos.or(&f.Handler, f.Pos)
	switch {
	case family == "python" || family == "nodejs":
		if f.Handler == "" {
			v.add(f.Pos, "function %q: handler is required for runtime %s", f.Name, f.Runtime)
		} else if err := checkHandler(family, f.Handler); err != nil {
			v.add(hp, "handler: %v", err)
		}
	case strings.ContainsAny(f.Handler, "\x00\n"):
		v.add(hp, "handler: must not contain control characters")
	}
	v.code(f)
	v.functionFiles(f, family)
	if f.Timeout < 1 || f.Timeout > 900 {
		v.add(v.pos.or(&f.Timeout, f.Pos), "timeout: must be 1 to 900 seconds, got %d", f.Timeout)
	}
	if f.MemorySize < 128 || f.MemorySize > 10240 {
		v.add(v.pos.or(&f.MemorySize, f.Pos), "memorySize: must be 128 to 10240 MB, got %d", f.MemorySize)
	}
	if f.EphemeralStorage != 0 && (f.EphemeralStorage < 512 || f.EphemeralStorage > 10240) {
		v.add(v.pos.or(&f.EphemeralStorage, f.Pos), "ephemeralStorage: must be 512 to 10240 MB, got %d", f.EphemeralStorage)
	}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(f.Environment)) {
		kp := v.pos.entryKey(&f.Environment, k, f.Pos)
		size += len(k) + len(f.Environment[k])
		switch {
		case !envName.MatchString(k):
			v.add(kp, "environment: invalid variable name %q: must match [a-zA-Z][a-zA-Z0-9_]+", k)
		case ReservedEnv(k):
			v.add(kp, "environment: %s is reserved by Lambda", k)
		}
	}
	if size > maxEnvBytes {
		v.add(v.pos.or(&f.Environment, f.Pos), "environment: %d bytes of names and values; Lambda allows 4096", size)
	}
	if f.ReservedConcurrency != nil && *f.ReservedConcurrency < 0 {
		v.add(v.pos.or(&f.ReservedConcurrency, f.Pos), "reservedConcurrency: must be 0 or more, got %d", *f.ReservedConcurrency)
	}
	if f.Role != "" {
		if _, ok := v.spec.Roles[f.Role]; !ok {
			v.add(v.pos.or(&f.Role, f.Pos), "role: no role named %q%s", f.Role, didYouMean(f.Role, slices.Collect(maps.Keys(v.spec.Roles))))
		}
	}
	if f.URL != nil {
		v.functionURL(f)
	}
}

// checkHandler checks the handler string of a Python or Node.js function
// the way the runtimes split it.
func checkHandler(family, h string) error {
	if family == "python" {
		// path/module.function, split on the last dot.
		i := strings.LastIndex(h, ".")
		if i <= 0 {
			return fmt.Errorf("%q is not module.function", h)
		}
		mod, fn := h[:i], h[i+1:]
		if !pyIdent.MatchString(fn) {
			return fmt.Errorf("%q: function name %q is not a Python identifier", h, fn)
		}
		for _, part := range strings.FieldsFunc(mod, func(r rune) bool { return r == '/' || r == '.' }) {
			if strings.TrimSpace(part) != part {
				return fmt.Errorf("%q: module path must not contain spaces", h)
			}
		}
		if strings.Contains(mod, "//") || strings.Contains(mod, "..") || strings.HasPrefix(mod, "/") || strings.HasSuffix(mod, "/") || strings.HasSuffix(mod, ".") {
			return fmt.Errorf("%q is not module.function", h)
		}
		return nil
	}
	// [dir/]module.export[.nested]: module is the base name up to its
	// first dot; ".." is refused as by the Node.js runtime.
	if strings.Contains(h, "..") {
		return fmt.Errorf("%q must not contain \"..\"", h)
	}
	base := h[strings.LastIndex(h, "/")+1:]
	mod, export, ok := strings.Cut(base, ".")
	if !ok || mod == "" || strings.HasPrefix(h, "/") {
		return fmt.Errorf("%q is not file.export", h)
	}
	for _, part := range strings.Split(export, ".") {
		if !jsIdent.MatchString(part) {
			return fmt.Errorf("%q: export %q is not a JavaScript identifier path", h, export)
		}
	}
	return nil
}

func (v *validator) code(f *Function) {
	if f.Code == "" {
		v.add(f.Pos, "function %q: code is required (a directory, relative to the spec file)", f.Name)
		return
	}
	if path, ok := v.existingDir("code", f.Code, v.pos.or(&f.Code, f.Pos)); ok {
		f.Code = path
	}
}

func (v *validator) role(r *Role) {
	if !roleName.MatchString(r.Name) {
		v.add(r.Pos, "role name %q: must be 1 to 64 letters, digits or +=,.@_-", r.Name)
	}
	if r.AssumeRolePolicy != nil {
		r.AssumeRolePolicy = v.policy(r.AssumeRolePolicy, v.pos.or(&r.AssumeRolePolicy, r.Pos), "assumeRolePolicy")
	}
	for i, a := range r.ManagedPolicyArns {
		if parts := strings.SplitN(a, ":", 6); len(parts) < 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
			v.add(v.pos.entry(&r.ManagedPolicyArns, strconv.Itoa(i), r.Pos), "managedPolicyArns[%d]: %q is not an ARN (arn:partition:service:region:account:resource)", i, a)
		}
	}
	r.Parsed = nil
	for i, p := range r.Policies {
		at, label, before := v.pos.entry(&r.Policies, strconv.Itoa(i), r.Pos), fmt.Sprintf("policies[%d]", i), len(v.list)
		r.Policies[i] = v.policy(p, at, label)
		if len(v.list) == before {
			v.parsePolicy(r, r.Policies[i], v.anyNodes[posKey{p: &r.Policies, k: strconv.Itoa(i)}], at, label)
		}
	}
}

// policy checks the shape of an IAM policy document given as a mapping
// or as JSON text, and returns it as a map[string]any.
func (v *validator) policy(doc any, p Pos, label string) any {
	m, ok := doc.(map[string]any)
	if s, isText := doc.(string); isText {
		var err error
		if m, err = jsonDocument(s); err != nil {
			v.add(p, "%s: policy document is not valid JSON: %v", label, err)
			return doc
		}
		ok = true
	}
	if !ok {
		v.add(p, "%s: expected a policy document (a mapping or its JSON text)", label)
		return doc
	}
	switch ver, has := m["Version"]; {
	case !has:
		v.add(p, "%s: policy document needs Version", label)
	case ver != "2012-10-17" && ver != "2008-10-17":
		v.add(p, "%s: Version must be \"2012-10-17\" or \"2008-10-17\", got %v", label, ver)
	}
	st, has := m["Statement"]
	if !has {
		v.add(p, "%s: policy document needs Statement", label)
		return m
	}
	good := false
	switch st := st.(type) {
	case map[string]any:
		good = true
	case []any:
		good = len(st) > 0
		for _, e := range st {
			if _, isMap := e.(map[string]any); !isMap {
				good = false
			}
		}
	}
	if !good {
		v.add(p, "%s: Statement must be a mapping or a non-empty list of mappings", label)
	}
	return m
}

func (v *validator) api(a *API) {
	if _, ok := v.pos.at(&a.ID); ok && !apiID.MatchString(a.ID) {
		v.add(v.pos.or(&a.ID, a.Pos), "id: must be 1 to 63 lower-case letters or digits, got %q", a.ID)
	}
	switch a.ProtocolType {
	case "HTTP":
	case WebSocket:
		v.webSocketAPI(a)
		return
	default:
		v.add(v.pos.or(&a.ProtocolType, a.Pos), "protocolType: must be HTTP or WEBSOCKET, got %q", a.ProtocolType)
	}
	v.httpOnly(a)
	for _, i := range sorted(a.Integrations, func(i *Integration) Pos { return i.Pos }) {
		if !v.broken[i] {
			v.integration(i)
		}
	}
	for _, au := range sorted(a.Authorizers, func(au *Authorizer) Pos { return au.Pos }) {
		if !v.broken[au] {
			v.authorizer(au)
		}
	}
	if a.Cors != nil {
		v.cors(a.Cors, v.pos.or(&a.Cors, a.Pos))
	}
	v.routes(a)
	v.stages(a)
	v.apiKeyCoverage(a)
}

var integrationMethods = []string{"ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (v *validator) integration(i *Integration) {
	switch i.Type {
	case "":
		v.add(i.Pos, "integration %q: type is required (AWS_PROXY or HTTP_PROXY)", i.Name)
	case AWSProxy:
		switch {
		case i.Function == "":
			v.add(i.Pos, "integration %q: function is required for AWS_PROXY", i.Name)
		case v.spec.Functions[i.Function] == nil:
			v.add(v.pos.or(&i.Function, i.Pos), "function: no function named %q%s", i.Function, didYouMean(i.Function, slices.Collect(maps.Keys(v.spec.Functions))))
		}
		if p, ok := v.pos.at(&i.URI); ok {
			v.add(p, "uri: not used by AWS_PROXY integrations (name the function with function)")
		}
		if p, ok := v.pos.at(&i.Method); ok {
			v.add(p, "method: not used by AWS_PROXY integrations")
		}
		if p, ok := v.pos.at(&i.Upstreams); ok {
			v.add(p, "upstreams: not used by AWS_PROXY integrations")
		}
	case HTTPProxy:
		_, hasUpstreams := v.pos.at(&i.Upstreams)
		switch {
		case i.URI == "" && !hasUpstreams:
			v.add(i.Pos, "integration %q: uri (or upstreams) is required for HTTP_PROXY", i.Name)
		case i.URI != "":
			if _, err := proxyURIVars(i.URI); err != nil {
				v.add(v.pos.or(&i.URI, i.Pos), "uri: %v", err)
			}
		}
		if p, ok := v.pos.at(&i.Function); ok {
			v.add(p, "function: not used by HTTP_PROXY integrations (give the upstream URL with uri)")
		}
		if !slices.Contains(integrationMethods, i.Method) {
			v.add(v.pos.or(&i.Method, i.Pos), "method: must be one of %s, got %q", strings.Join(integrationMethods, " "), i.Method)
		}
	default:
		v.add(v.pos.or(&i.Type, i.Pos), "type: must be AWS_PROXY or HTTP_PROXY, got %q%s", i.Type, didYouMean(i.Type, []string{AWSProxy, HTTPProxy}))
	}
	switch pfv := i.PayloadFormatVersion; {
	case i.Type != AWSProxy && i.Type != HTTPProxy:
	case pfv != "1.0" && pfv != "2.0":
		v.add(v.pos.or(&i.PayloadFormatVersion, i.Pos), "payloadFormatVersion: must be \"1.0\" or \"2.0\", got %q", pfv)
	case i.Type == HTTPProxy && pfv != "1.0":
		v.add(v.pos.or(&i.PayloadFormatVersion, i.Pos), "payloadFormatVersion: HTTP_PROXY integrations support only \"1.0\"")
	}
	if i.TimeoutInMillis < 50 || i.TimeoutInMillis > 900000 {
		v.add(v.pos.or(&i.TimeoutInMillis, i.Pos), "timeoutInMillis: must be 50 to 900000, got %d", i.TimeoutInMillis)
	}
	v.invokeMode(i)
	v.concurrency(i)
	v.upstreams(i)
	v.tlsConfig(i)
}

// proxyURIVars checks an HTTP_PROXY URI and returns the names of the
// {name} path variables it uses. ${stageVariables.name} references are
// allowed anywhere.
func proxyURIVars(uri string) ([]string, error) {
	rest := stageVarRef.ReplaceAllString(uri, "0")
	if i := strings.Index(rest, "${"); i >= 0 {
		end := strings.IndexByte(rest[i:], '}')
		ref := rest[i:]
		if end >= 0 {
			ref = rest[i : i+end+1]
		}
		return nil, fmt.Errorf("unknown variable %s; only ${stageVariables.name} and {name} are allowed", ref)
	}
	var vars []string
	var b strings.Builder
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed \"{\" in %q", uri)
		}
		name := rest[open+1 : open+end]
		if !pathVarName.MatchString(name) {
			return nil, fmt.Errorf("variable {%s}: name must match [A-Za-z0-9._-]+", name)
		}
		vars = append(vars, name)
		b.WriteString(rest[:open])
		b.WriteString("0")
		rest = rest[open+end+1:]
	}
	b.WriteString(rest)
	flat := b.String()
	if strings.ContainsAny(flat, "}") {
		return nil, fmt.Errorf("unmatched \"}\" in %q", uri)
	}
	u, err := url.Parse(flat)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%q must be an absolute http:// or https:// URL", uri)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", uri)
	}
	return vars, nil
}

func (v *validator) routes(a *API) {
	type shape struct{ method, path string }
	seen := map[shape]*Route{}
	for _, r := range sorted(a.Routes, func(r *Route) Pos { return r.Pos }) {
		method, path, err := ParseRouteKey(r.Key)
		if err != nil {
			v.add(r.Pos, "%v", err)
		} else {
			s := shape{method, routeShape(path)}
			if first, dup := seen[s]; dup {
				v.add(r.Pos, "route %q overlaps route %q (line %d): same method and path shape", r.Key, first.Key, first.Pos.Line)
			} else {
				seen[s] = r
			}
		}
		if v.broken[r] {
			continue
		}
		v.routeAuth(a, r)
		if r.Integration == "" {
			v.add(r.Pos, "route %q: integration is required", r.Key)
			continue
		}
		in := a.Integrations[r.Integration]
		ip := v.pos.or(&r.Integration, r.Pos)
		if in == nil {
			v.add(ip, "integration: no integration named %q in api %q%s", r.Integration, a.Name, didYouMean(r.Integration, slices.Collect(maps.Keys(a.Integrations))))
			continue
		}
		if in.Type != HTTPProxy || err != nil {
			continue
		}
		have := pathVars(path)
		check := func(uri, what string) {
			uriVars, err := proxyURIVars(uri)
			if err != nil {
				return // reported on the integration
			}
			for _, name := range uriVars {
				if !have[name] {
					v.add(ip, "integration: %s of %q uses {%s}, which is not a path variable of route %q", what, in.Name, name, r.Key)
				}
			}
		}
		if in.URI != "" {
			check(in.URI, "uri")
		}
		for n, u := range in.Upstreams {
			check(u.URI, fmt.Sprintf("upstreams[%d].uri", n))
		}
	}
}

func (v *validator) stages(a *API) {
	if len(a.Stages) > MaxStages {
		v.add(v.pos.or(&a.Stages, a.Pos), "stages: at most %d stages per API, got %d", MaxStages, len(a.Stages))
	}
	for _, s := range sorted(a.Stages, func(s *Stage) Pos { return s.Pos }) {
		if s.Name != DefaultStageName && !stageName.MatchString(s.Name) {
			v.add(s.Pos, "stage name %q: must be 1 to 128 letters, digits, \"-\" or \"_\", or \"$default\"", s.Name)
		}
		if v.broken[s] {
			continue
		}
		if len(s.StageVariables) > MaxStageVariables {
			v.add(v.pos.or(&s.StageVariables, s.Pos), "stageVariables: at most %d per stage, got %d", MaxStageVariables, len(s.StageVariables))
		}
		for _, k := range slices.Sorted(maps.Keys(s.StageVariables)) {
			if !stageVarName.MatchString(k) {
				v.add(v.pos.entryKey(&s.StageVariables, k, s.Pos), "stageVariables: invalid name %q: must match [A-Za-z0-9_]+", k)
			}
			if val := s.StageVariables[k]; !stageVarVal.MatchString(val) {
				v.add(v.pos.entry(&s.StageVariables, k, s.Pos), "stageVariables.%s: invalid value %q: must be 1 or more of A-Z a-z 0-9 - . _ ~ : / ? # & = ,", k, val)
			}
		}
		v.routeSettings(a, s)
		if s.AccessLogSettings != nil {
			v.accessLog(s.AccessLogSettings, v.pos.or(&s.AccessLogSettings, s.Pos))
		}
	}
}
