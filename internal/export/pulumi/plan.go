package pulumi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// A plan is the exported program without a language: which resources, in
// which order, with which arguments, and what it exports. newPlan is the
// only walk of the spec; the printers only render a plan: print.go in
// Python and TypeScript, print_go.go in Go. Names are in camelCase
// (TypeScript's); the Python printer converts them to snake_case, the Go
// printer capitalizes fields and derives typed SDK names from the class and
// field path.
type plan struct {
	notes   []string // Portico extensions left out
	stmts   []stmt
	exports []export
	used    map[string]bool // variables some value refers to
	// destinations: the program needs the destination policy helper.
	destinations bool
	config       bool // the program reads stack config
	json         bool // some value is a JSON document
}

// stmt is one resource declaration with the comment lines before it, or a
// blank line (res == nil, no comments).
type stmt struct {
	comments []string
	res      *resource
}

// resource is one `new aws.MOD.CLASS(name, args, opts)`.
type resource struct {
	v            string // variable (camelCase), unique
	mod, class   string // "lambda", "Function"
	name         string // the Pulumi resource name
	args         []field
	dependsOn    []string // variables
	argsComments []string // comment lines at the end of the arguments
	// collect names a list of resources this one joins (an API's routes);
	// dependsOnList, when set, names the list dependsOn holds in full. A
	// printer may build the list as it goes (Go) or spell it out.
	collect, dependsOnList string
}

type field struct {
	name string // camelCase
	val  value
}

type export struct {
	name string
	val  value
}

// value is one argument's value.
type value interface{ isValue() }

type (
	str      string
	integer  int
	float    float64
	boolean  bool
	ref      struct{ v, attr string } // a resource's output; attr "" is the resource
	concat   []value                  // strings and outputs joined
	list     []value
	userMap  [][2]string // a map with the user's keys: environment, stage variables
	object   []field     // a nested input type
	archive  string      // a FileArchive's path
	asset    string      // a FileAsset's path
	assets   []namedAsset
	jsonDoc  policyJSON  // a policy document, serialized as JSON
	destPol  []value     // the destination policy over these ARNs
	configOf stackConfig // the stack config value of a key
	// optional marks an argument of an optional (nullable) type: typed SDKs
	// take a pointer-like input there.
	optional struct{ val value }
)

// policyJSON is a policy document.
type policyJSON struct {
	v   any    // decoded with json.Number
	raw string // the exporter's own compact text, when it wrote the document
}

// stackConfig is a stack config value, "" when unset.
type stackConfig struct {
	key string
	v   string // a variable a printer may read it into first
}

type namedAsset struct {
	name string
	path string
}

func (str) isValue()      {}
func (integer) isValue()  {}
func (float) isValue()    {}
func (boolean) isValue()  {}
func (ref) isValue()      {}
func (concat) isValue()   {}
func (list) isValue()     {}
func (userMap) isValue()  {}
func (object) isValue()   {}
func (archive) isValue()  {}
func (asset) isValue()    {}
func (assets) isValue()   {}
func (jsonDoc) isValue()  {}
func (destPol) isValue()  {}
func (configOf) isValue() {}
func (optional) isValue() {}

// planner builds a plan.
type planner struct {
	sp     *spec.Spec
	p      *plan
	idents map[string]bool
	snakes map[string]bool // the idents' Python forms
	cur    []string        // comments for the next statement
}

func (pl *planner) comment(format string, args ...any) {
	pl.cur = append(pl.cur, strings.Split(fmt.Sprintf(format, args...), "\n")...)
}

func (pl *planner) add(r *resource) {
	pl.p.stmts = append(pl.p.stmts, stmt{comments: pl.cur, res: r})
	pl.cur = nil
}

func (pl *planner) blank() { pl.p.stmts = append(pl.p.stmts, stmt{}) }

// ident makes a camelCase variable prefix+Parts, unique in both its
// camelCase and its snake_case form.
func (pl *planner) ident(prefix string, parts ...string) string {
	g := gen{idents: pl.idents}
	for {
		id := g.ident(prefix, parts...)
		if !pl.snakes[snake(id)] {
			pl.snakes[snake(id)] = true
			return id
		}
	}
}

func strs(ss []string) list {
	l := make(list, len(ss))
	for i, s := range ss {
		l[i] = str(s)
	}
	return l
}

func mapOf(m map[string]string) userMap {
	var out userMap
	for _, k := range sortedKeys(m) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}

// policyDoc normalizes a policy document (as JSON would decode it).
func policyDoc(v any) (jsonDoc, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return jsonDoc{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return jsonDoc{}, err
	}
	return jsonDoc{v: out}, nil
}

// newPlan walks sp: the plan every language's program is printed from.
func newPlan(sp *spec.Spec) (*plan, error) {
	g := newGen(sp)
	g.notesForExtensions()
	pl := &planner{sp: sp, p: &plan{notes: g.notes, used: map[string]bool{}}, idents: map[string]bool{}, snakes: map[string]bool{}}
	p := pl.p

	roleVar := map[string]string{}
	for _, name := range sortedKeys(sp.Roles) {
		r := sp.Roles[name]
		v := pl.ident("role", name)
		roleVar[name] = v
		trust, err := policyDoc(r.AssumeRolePolicy)
		if r.AssumeRolePolicy == nil {
			trust, err = policyDoc(json.RawMessage(lambdaTrust))
			trust.raw = lambdaTrust
		}
		if err != nil {
			return nil, fmt.Errorf("export pulumi: role %s: assume role policy: %w", name, err)
		}
		pl.comment("Role %s.", name)
		pl.add(&resource{v: v, mod: "iam", class: "Role", name: name, args: []field{{"assumeRolePolicy", trust}}})
		for i, arn := range r.ManagedPolicyArns {
			pl.add(&resource{mod: "iam", class: "RolePolicyAttachment", name: fmt.Sprintf("%s-attach-%d", name, i),
				args: []field{{"role", ref{v, "name"}}, {"policyArn", str(arn)}}})
		}
		for i, pol := range r.Policies {
			doc, err := policyDoc(pol)
			if err != nil {
				return nil, fmt.Errorf("export pulumi: role %s: policy %d: %w", name, i, err)
			}
			pl.add(&resource{mod: "iam", class: "RolePolicy", name: fmt.Sprintf("%s-policy-%d", name, i),
				args: []field{{"role", ref{v, "name"}}, {"policy", doc}}})
		}
		pl.blank()
	}
	defaultRole := ""
	for _, name := range sortedKeys(sp.Functions) {
		if sp.Functions[name].Role == "" {
			defaultRole = pl.ident("role", "porticoDefaultLambda")
			trust, _ := policyDoc(json.RawMessage(lambdaTrust))
			trust.raw = lambdaTrust
			pl.comment("The spec gives some functions no role; Lambda requires one, so they share\nthis one, with basic execution rights (CloudWatch Logs).")
			pl.add(&resource{v: defaultRole, mod: "iam", class: "Role", name: "porticoDefaultLambdaRole", args: []field{{"assumeRolePolicy", trust}}})
			pl.add(&resource{mod: "iam", class: "RolePolicyAttachment", name: "porticoDefaultLambdaRole-attach-0",
				args: []field{{"role", ref{defaultRole, "name"}}, {"policyArn", str(basicExecution)}}})
			pl.blank()
			break
		}
	}
	roleOf := func(fn string) string {
		if r := sp.Functions[fn].Role; r != "" {
			return roleVar[r]
		}
		return defaultRole
	}

	bucketVar := map[string]string{}
	for _, name := range sortedKeys(sp.Buckets) {
		b := sp.Buckets[name]
		v := pl.ident("bucket", name)
		bucketVar[name] = v
		pl.comment("Bucket %s. S3 bucket names are global: if the name is taken, change it\nhere and wherever functions and policies use it.", name)
		pl.add(&resource{v: v, mod: "s3", class: "BucketV2", name: name, args: []field{{"bucket", str(name)}}})
		if b.Contents != "" {
			keys, err := listFiles(b.Contents)
			if err != nil {
				return nil, fmt.Errorf("export pulumi: bucket %s: contents: %w", name, err)
			}
			for _, k := range keys {
				pl.add(&resource{mod: "s3", class: "BucketObjectv2", name: name + "/" + k, args: []field{
					{"bucket", ref{v, "bucket"}}, {"key", str(k)}, {"source", asset("./" + path.Join("buckets", name, k))}}})
			}
		}
		pl.blank()
	}

	layerVar := map[string]string{}
	if layers := layersOf(sp); len(layers) > 0 {
		pl.comment("Layers: Lambda extracts each into /opt, in the order a function lists them.")
		for _, l := range layers {
			v := pl.ident("layer", l.name)
			layerVar[l.src] = v
			pl.add(&resource{v: v, mod: "lambda", class: "LayerVersion", name: l.name, args: []field{
				{"layerName", str(l.name)}, {"code", archive(l.rel)}, {"compatibleRuntimes", strs(l.runtimes)}}})
		}
		pl.blank()
	}

	fnVar := map[string]string{}
	for _, name := range sortedKeys(sp.Functions) {
		fn := sp.Functions[name]
		v := pl.ident("fn", name)
		fnVar[name] = v
		args := []field{{"runtime", str(fn.Runtime)}}
		dir := "./" + path.Join("functions", name)
		if strings.HasPrefix(fn.Runtime, "provided") {
			args = append(args, field{"handler", str("bootstrap")}, field{"code", assets{{"bootstrap", dir + "/bootstrap"}}})
		} else {
			args = append(args, field{"handler", str(fn.Handler)}, field{"code", archive(dir)})
		}
		args = append(args, field{"role", ref{roleOf(name), "arn"}}, field{"timeout", integer(fn.Timeout)}, field{"memorySize", integer(fn.MemorySize)})
		if len(fn.Environment) > 0 {
			args = append(args, field{"environment", object{{"variables", mapOf(fn.Environment)}}})
		}
		if fn.ReservedConcurrency != nil {
			args = append(args, field{"reservedConcurrentExecutions", integer(*fn.ReservedConcurrency)})
		}
		if len(fn.Layers) > 0 {
			var ls list
			for _, l := range fn.Layers {
				ls = append(ls, ref{layerVar[l], "arn"})
			}
			args = append(args, field{"layers", ls})
		}
		if isGoSource(fn) {
			pl.comment("Function %s: Go sources; build %s/bootstrap first (see README.md).", name, dir)
		} else {
			pl.comment("Function %s.", name)
		}
		pl.add(&resource{v: v, mod: "lambda", class: "Function", name: name, args: args})
		pl.blank()
	}

	pl.async(fnVar, bucketVar, roleOf)

	urls := streamingURLs(sp)
	for _, name := range sortedKeys(urls) {
		u := urls[name]
		args := []field{{"functionName", ref{fnVar[name], "name"}}, {"authorizationType", str(u.AuthorizationType)}}
		if u.InvokeMode != "" {
			args = append(args, field{"invokeMode", str(u.InvokeMode)})
		}
		if c := u.Cors; c != nil {
			args = append(args, field{"cors", corsObject(c)})
		}
		v := pl.ident("url", name)
		pl.comment("Function URL of %s.", name)
		pl.add(&resource{v: v, mod: "lambda", class: "FunctionUrl", name: name + "-url", args: args})
		p.exports = append(p.exports, export{"function_url_" + name, ref{v, "functionUrl"}})
	}

	apiVar := map[string]string{}
	stageVar := map[string]map[string]string{}
	nStages := 0
	for _, a := range sp.APIs {
		nStages += len(a.Stages)
	}
	for _, an := range sortedKeys(sp.APIs) {
		a := sp.APIs[an]
		api := pl.ident("api", an)
		apiVar[an] = api
		routesList := api + "Routes"
		pl.idents[routesList] = true
		stageVar[an] = map[string]string{}
		args := []field{{"name", str(an)}, {"protocolType", str(a.ProtocolType)}}
		if a.ProtocolType == spec.WebSocket {
			args = append(args, field{"routeSelectionExpression", str(a.RouteSelectionExpression)})
		}
		if c := a.Cors; c != nil {
			args = append(args, field{"corsConfiguration", corsObject(c)})
		}
		pl.comment("%s API %s.", a.ProtocolType, an)
		pl.add(&resource{v: api, mod: "apigatewayv2", class: "Api", name: an, args: args})

		invoked := map[string]bool{}
		for _, in := range a.Integrations {
			if in.Type == spec.AWSProxy && in.Function != "" {
				invoked[in.Function] = true
			}
		}
		for _, au := range a.Authorizers {
			if au.Type == spec.AuthorizerRequest && au.Function != "" {
				invoked[au.Function] = true
			}
		}
		for _, fname := range sortedKeys(invoked) {
			pl.comment("API Gateway needs this permission to invoke %s (without it the API answers 500).", fname)
			pl.add(&resource{mod: "lambda", class: "Permission", name: an + "-" + fname + "-invoke", args: []field{
				{"action", str("lambda:InvokeFunction")}, {"function", ref{fnVar[fname], "name"}},
				{"principal", str("apigateway.amazonaws.com")}, {"sourceArn", concat{ref{api, "executionArn"}, str("/*/*")}}}})
		}

		authVar := map[string]string{}
		for _, aun := range sortedKeys(a.Authorizers) {
			au := a.Authorizers[aun]
			args := []field{{"apiId", ref{api, "id"}}, {"name", str(aun)}, {"authorizerType", str(au.Type)}}
			if len(au.IdentitySource) > 0 {
				args = append(args, field{"identitySources", strs(au.IdentitySource)})
			}
			if au.Type == spec.AuthorizerJWT && au.JWTConfiguration != nil {
				args = append(args, field{"jwtConfiguration", object{{"issuer", str(au.JWTConfiguration.Issuer)}, {"audiences", strs(au.JWTConfiguration.Audience)}}})
			}
			if au.Type == spec.AuthorizerRequest {
				args = append(args, field{"authorizerUri", ref{fnVar[au.Function], "invokeArn"}})
			}
			if au.Type == spec.AuthorizerRequest && a.ProtocolType != spec.WebSocket {
				pv := au.AuthorizerPayloadFormatVersion
				if pv == "" {
					pv = "2.0"
				}
				args = append(args, field{"authorizerPayloadFormatVersion", str(pv)})
				if au.EnableSimpleResponses {
					args = append(args, field{"enableSimpleResponses", boolean(true)})
				}
				if au.AuthorizerResultTtlInSeconds != nil {
					args = append(args, field{"authorizerResultTtlInSeconds", integer(*au.AuthorizerResultTtlInSeconds)})
				}
			}
			authVar[aun] = pl.ident("auth", an, aun)
			pl.add(&resource{v: authVar[aun], mod: "apigatewayv2", class: "Authorizer", name: an + "-" + aun, args: args})
		}

		integVar := map[string]string{}
		for _, inn := range sortedKeys(a.Integrations) {
			in := a.Integrations[inn]
			args := []field{{"apiId", ref{api, "id"}}, {"integrationType", str(in.Type)}}
			switch in.Type {
			case spec.AWSProxy:
				args = append(args, field{"integrationUri", ref{fnVar[in.Function], "invokeArn"}})
			case spec.HTTPProxy:
				uri := in.URI
				if uri == "" && len(in.Upstreams) > 0 {
					ups := append([]*spec.Upstream(nil), in.Upstreams...)
					sort.SliceStable(ups, func(i, j int) bool { return ups[i].Priority < ups[j].Priority })
					uri = ups[0].URI
				}
				method := in.Method
				if method == "" {
					method = "ANY"
				}
				args = append(args, field{"integrationUri", str(uri)}, field{"integrationMethod", str(method)})
				if t := in.TLSConfig; t != nil && t.ServerNameToVerify != "" {
					args = append(args, field{"tlsConfig", object{{"serverNameToVerify", str(t.ServerNameToVerify)}}})
				}
			}
			if in.PayloadFormatVersion != "" && a.ProtocolType != spec.WebSocket {
				args = append(args, field{"payloadFormatVersion", str(in.PayloadFormatVersion)})
			}
			if in.TimeoutInMillis > 0 {
				args = append(args, field{"timeoutMilliseconds", integer(min(in.TimeoutInMillis, maxIntegrationTimeout))})
			}
			integVar[inn] = pl.ident("integ", an, inn)
			pl.add(&resource{v: integVar[inn], mod: "apigatewayv2", class: "Integration", name: an + "-" + inn, args: args})
		}

		var routes []string
		for _, rk := range sortedKeys(a.Routes) {
			r := a.Routes[rk]
			args := []field{{"apiId", ref{api, "id"}}, {"routeKey", str(rk)}, {"target", concat{str("integrations/"), ref{integVar[r.Integration], "id"}}}}
			if r.AuthorizationType != "" && r.AuthorizationType != "NONE" {
				args = append(args, field{"authorizationType", str(r.AuthorizationType)})
			}
			if r.Authorizer != "" {
				args = append(args, field{"authorizerId", optional{ref{authVar[r.Authorizer], "id"}}})
			}
			if len(r.AuthorizationScopes) > 0 {
				args = append(args, field{"authorizationScopes", strs(r.AuthorizationScopes)})
			}
			if e := r.RouteResponseSelectionExpression; e != "" {
				args = append(args, field{"routeResponseSelectionExpression", str(e)})
			}
			res := &resource{v: pl.ident("route", an, rk), mod: "apigatewayv2", class: "Route", name: an + "-" + rk, args: args, collect: routesList}
			if r.APIKeyRequired {
				res.argsComments = []string{"apiKeyRequired: not exported (Portico extension; HTTP APIs have no API keys)."}
			}
			routes = append(routes, res.v)
			pl.add(res)
			if r.RouteResponseSelectionExpression != "" {
				pl.comment("A two-way route: the function's response goes back to the client.")
				pl.add(&resource{mod: "apigatewayv2", class: "RouteResponse", name: an + "-" + rk + "-response", args: []field{
					{"apiId", ref{api, "id"}}, {"routeId", ref{res.v, "id"}}, {"routeResponseKey", str("$default")}}})
			}
		}

		for _, stn := range sortedKeys(a.Stages) {
			st := a.Stages[stn]
			args := []field{{"apiId", ref{api, "id"}}, {"name", str(stn)}, {"autoDeploy", boolean(st.AutoDeploy)}}
			if len(st.StageVariables) > 0 {
				args = append(args, field{"stageVariables", mapOf(st.StageVariables)})
			}
			if rs := st.DefaultRouteSettings; rs != nil && (rs.ThrottlingRateLimit != nil || rs.ThrottlingBurstLimit != nil) {
				args = append(args, field{"defaultRouteSettings", throttle(nil, rs)})
			}
			var settings list
			for _, k := range sortedKeys(st.RouteSettings) {
				rs := st.RouteSettings[k]
				if rs.ThrottlingRateLimit != nil || rs.ThrottlingBurstLimit != nil {
					settings = append(settings, throttle(object{{"routeKey", str(k)}}, rs))
				}
			}
			if len(settings) > 0 {
				args = append(args, field{"routeSettings", settings})
			}
			if al := st.AccessLogSettings; al != nil {
				format := al.Format
				if format == "" {
					format = defaultAccessLogFormat
				}
				logs := pl.ident("logs", an, stn)
				pl.comment("Access log of stage %s (Portico wrote it to %s).", stn, destName(al.Destination))
				pl.add(&resource{v: logs, mod: "cloudwatch", class: "LogGroup", name: an + "-" + stn + "-access", args: []field{
					{"name", str("/aws/apigateway/" + an + "/" + strings.TrimPrefix(stn, "$"))}, {"retentionInDays", integer(14)}}})
				args = append(args, field{"accessLogSettings", object{{"destinationArn", ref{logs, "arn"}}, {"format", str(format)}}})
			}
			v := pl.ident("stage", an, stn)
			stageVar[an][stn] = v
			res := &resource{v: v, mod: "apigatewayv2", class: "Stage", name: an + "-" + stn, args: args, dependsOn: routes}
			if len(routes) > 0 {
				res.dependsOnList = routesList
			}
			pl.add(res)
			name := "api_endpoint"
			if nStages > 1 {
				name = "api_endpoint_" + an + "_" + strings.TrimPrefix(stn, "$")
			}
			p.exports = append(p.exports, export{name, ref{v, "invokeUrl"}})
		}
		pl.blank()
	}

	if len(sp.APIs) > 0 {
		for _, name := range sortedKeys(sp.DomainNames) {
			d := sp.DomainNames[name]
			v := pl.ident("domain", name)
			key := "certificateArn-" + strings.NewReplacer(".", "-", "*", "wildcard").Replace(name)
			p.config = true
			pl.blank()
			pl.comment("Custom domain name %s. Its certificate comes from ACM on AWS:\n  pulumi config set %s arn:aws:acm:REGION:ACCOUNT:certificate/ID", name, key)
			if m := d.MutualTLSAuthentication; m != nil {
				pl.comment("Mutual TLS: upload %s to S3 and set the domain's mutual TLS\nauthentication's truststore URI to s3://BUCKET/KEY.", strconv.Quote(m.TruststoreFile))
			}
			pl.add(&resource{v: v, mod: "apigatewayv2", class: "DomainName", name: name, args: []field{
				{"domainName", str(name)},
				{"domainNameConfiguration", object{{"certificateArn", configOf{key: key, v: v + "Cert"}}, {"endpointType", str("REGIONAL")}, {"securityPolicy", str("TLS_1_2")}}}}})
			for i, m := range d.APIMappings {
				args := []field{{"apiId", ref{apiVar[m.API], "id"}}, {"domainName", ref{v, "id"}}, {"stage", ref{stageVar[m.API][m.Stage], "id"}}}
				if m.APIMappingKey != "" {
					args = append(args, field{"apiMappingKey", str(m.APIMappingKey)})
				}
				pl.add(&resource{mod: "apigatewayv2", class: "ApiMapping", name: name + "-" + strconv.Itoa(i), args: args})
			}
			p.exports = append(p.exports, export{"target_domain_" + strings.ReplaceAll(name, ".", "_"), ref{v, "domainNameConfiguration.targetDomainName"}})
		}
	}
	p.markUsed()
	return p, nil
}

// async writes the permissions, event invoke configs and bucket
// notifications, after the functions and buckets they refer to.
func (pl *planner) async(fnVar, bucketVar map[string]string, roleOf func(string) string) {
	sp := pl.sp
	s3Perms := map[string][]string{}
	for _, name := range sortedKeys(sp.Functions) {
		f := sp.Functions[name]
		if len(f.Permissions) > 0 {
			pl.comment("Who else may invoke function %s (its resource-based policy).", name)
		}
		for i, p := range f.Permissions {
			v := pl.ident("perm", name, fmt.Sprint(i))
			args := []field{{"action", str(p.Action)}, {"function", ref{fnVar[name], "name"}}, {"principal", str(p.Principal)}, {"statementId", str(p.StatementID)}}
			if b, ok := bucketOfARN(sp, p.SourceArn); ok {
				args = append(args, field{"sourceArn", ref{bucketVar[b], "arn"}})
			} else if p.SourceArn != "" {
				args = append(args, field{"sourceArn", str(p.SourceArn)})
			}
			if p.SourceAccount != "" {
				args = append(args, field{"sourceAccount", str(p.SourceAccount)})
			}
			if p.Principal == spec.S3Principal {
				s3Perms[name] = append(s3Perms[name], v)
			}
			pl.add(&resource{v: v, mod: "lambda", class: "Permission", name: name + "-" + p.StatementID, args: args})
		}
		if c := f.EventInvokeConfig; c != nil {
			args := []field{{"functionName", ref{fnVar[name], "name"}}}
			if c.MaximumRetryAttempts != nil {
				args = append(args, field{"maximumRetryAttempts", integer(*c.MaximumRetryAttempts)})
			}
			if c.MaximumEventAgeInSeconds != nil {
				args = append(args, field{"maximumEventAgeInSeconds", integer(*c.MaximumEventAgeInSeconds)})
			}
			var deps []string
			if d := c.DestinationConfig; d != nil {
				var dc object
				if d.OnSuccess != nil {
					dc = append(dc, field{"onSuccess", object{{"destination", ref{fnVar[d.OnSuccess.Destination], "arn"}}}})
				}
				if d.OnFailure != nil {
					dc = append(dc, field{"onFailure", object{{"destination", ref{fnVar[d.OnFailure.Destination], "arn"}}}})
				}
				args = append(args, field{"destinationConfig", dc})
				if len(dc) > 0 {
					var arns destPol
					for _, dst := range []*spec.Destination{d.OnSuccess, d.OnFailure} {
						if dst != nil {
							arns = append(arns, ref{fnVar[dst.Destination], "arn"})
						}
					}
					pl.p.destinations = true
					pl.comment("Lambda sends function %s's invocation records with its role.", name)
					v := pl.ident("destinations", name)
					deps = []string{v}
					pl.add(&resource{v: v, mod: "iam", class: "RolePolicy", name: name + "-destinations", args: []field{
						{"role", ref{roleOf(name), "name"}}, {"policy", arns}}})
				}
			}
			pl.comment("Asynchronous invocation of function %s: retries, event age, destinations.", name)
			pl.add(&resource{mod: "lambda", class: "FunctionEventInvokeConfig", name: name + "-async", args: args, dependsOn: deps})
		}
		if len(f.Permissions) > 0 || f.EventInvokeConfig != nil {
			pl.blank()
		}
	}
	for _, name := range sortedKeys(sp.Buckets) {
		b := sp.Buckets[name]
		if len(b.Notifications) == 0 {
			continue
		}
		var fns list
		var deps []string
		seen := map[string]bool{}
		for _, n := range b.Notifications {
			o := object{{"id", str(n.ID)}, {"lambdaFunctionArn", ref{fnVar[n.Function], "arn"}}, {"events", strs(n.Events)}}
			if n.FilterPrefix != "" {
				o = append(o, field{"filterPrefix", str(n.FilterPrefix)})
			}
			if n.FilterSuffix != "" {
				o = append(o, field{"filterSuffix", str(n.FilterSuffix)})
			}
			fns = append(fns, o)
			if !seen[n.Function] {
				seen[n.Function] = true
				deps = append(deps, s3Perms[n.Function]...)
			}
		}
		pl.comment("Bucket %s's event notifications; S3 checks the functions' permissions first.", name)
		pl.add(&resource{mod: "s3", class: "BucketNotification", name: name + "-notifications", args: []field{
			{"bucket", ref{bucketVar[name], "bucket"}}, {"lambdaFunctions", fns}}, dependsOn: deps})
		pl.blank()
	}
}

func corsObject(c *spec.Cors) object {
	var o object
	for _, f := range []struct {
		name string
		list []string
	}{{"allowOrigins", c.AllowOrigins}, {"allowMethods", c.AllowMethods}, {"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		if len(f.list) > 0 {
			o = append(o, field{f.name, strs(f.list)})
		}
	}
	if c.MaxAge != nil {
		o = append(o, field{"maxAge", integer(*c.MaxAge)})
	}
	if c.AllowCredentials {
		o = append(o, field{"allowCredentials", boolean(true)})
	}
	return o
}

func throttle(o object, rs *spec.RouteSettings) object {
	if rs.ThrottlingRateLimit != nil {
		o = append(o, field{"throttlingRateLimit", float(*rs.ThrottlingRateLimit)})
	}
	if rs.ThrottlingBurstLimit != nil {
		o = append(o, field{"throttlingBurstLimit", integer(*rs.ThrottlingBurstLimit)})
	}
	return o
}

// markUsed records which variables the plan's values refer to.
func (p *plan) markUsed() {
	var walk func(v value)
	walk = func(v value) {
		switch v := v.(type) {
		case ref:
			p.used[v.v] = true
		case concat:
			for _, e := range v {
				walk(e)
			}
		case list:
			for _, e := range v {
				walk(e)
			}
		case destPol:
			for _, e := range v {
				walk(e)
			}
		case object:
			for _, f := range v {
				walk(f.val)
			}
		case optional:
			walk(v.val)
		case jsonDoc:
			p.json = true
		}
	}
	for _, s := range p.stmts {
		if s.res == nil {
			continue
		}
		for _, f := range s.res.args {
			walk(f.val)
		}
		for _, d := range s.res.dependsOn {
			p.used[d] = true
		}
	}
	for _, e := range p.exports {
		walk(e.val)
	}
}

// destName names an access log's destination in a comment.
func destName(d string) string {
	if d == "" {
		return "stdout"
	}
	if d == "stdout" || d == "stderr" {
		return d
	}
	return path.Base(d)
}
