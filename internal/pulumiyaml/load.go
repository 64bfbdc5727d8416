package pulumiyaml

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

// Account and Region are those of the ARNs resources get and of what a
// program sees: Portico's own (see cmd/portico), so that ARNs in role
// policies match what Portico enforces.
const (
	Account = "000000000000"
	Region  = "us-east-1"
)

// Normalised type tokens.
const (
	tRole        = "aws:iam:Role"
	tRolePolicy  = "aws:iam:RolePolicy"
	tRoleAttach  = "aws:iam:RolePolicyAttachment"
	tFunction    = "aws:lambda:Function"
	tPermission  = "aws:lambda:Permission"
	tAPI         = "aws:apigatewayv2:Api"
	tIntegration = "aws:apigatewayv2:Integration"
	tRoute       = "aws:apigatewayv2:Route"
	tStage       = "aws:apigatewayv2:Stage"
	tBucketV2    = "aws:s3:BucketV2"
	tBucket      = "aws:s3:Bucket"
	tObjectV2    = "aws:s3:BucketObjectv2"
	tObject      = "aws:s3:BucketObject"
	tLogGroup    = "aws:cloudwatch:LogGroup"
	tLayer       = "aws:lambda:LayerVersion"
	tRouteResp   = "aws:apigatewayv2:RouteResponse" // a WebSocket route response: its route's routeResponseSelectionExpression says it all
)

// known lists the properties each supported type translates; others are
// reported in one warning. A nil list accepts the resource with no effect.
var known = map[string][]string{
	tRole:        {"name", "assumeRolePolicy", "managedPolicyArns"},
	tRolePolicy:  {"role", "policy"},
	tRoleAttach:  {"role", "policyArn"},
	tFunction:    {"name", "runtime", "handler", "code", "role", "timeout", "memorySize", "environment", "reservedConcurrentExecutions", "layers"},
	tLayer:       {"layerName", "code", "compatibleRuntimes", "description", "licenseInfo"},
	tPermission:  {"function", "action", "principal", "sourceArn", "sourceAccount", "statementId"},
	tAPI:         {"name", "protocolType", "corsConfiguration", "routeSelectionExpression"},
	tAuthorizer:  {"apiId", "name", "authorizerType", "identitySources", "jwtConfiguration", "authorizerUri", "authorizerPayloadFormatVersion", "enableSimpleResponses", "authorizerResultTtlInSeconds"},
	tIntegration: {"apiId", "integrationType", "integrationUri", "integrationMethod", "payloadFormatVersion", "timeoutMilliseconds"},
	tRoute:       {"apiId", "routeKey", "target", "authorizationType", "authorizerId", "authorizationScopes", "apiKeyRequired", "routeResponseSelectionExpression"},
	tStage:       {"apiId", "name", "autoDeploy", "stageVariables", "defaultRouteSettings", "routeSettings", "accessLogSettings"},
	tBucketV2:    {"bucket"},
	tBucket:      {"bucket"},
	tObjectV2:    {"bucket", "key", "source"},
	tObject:      {"bucket", "key", "source"},
	tLogGroup:    nil,
	tRouteResp:   nil,
	tFnURL:       functionURLProps,

	tEventInvokeConfig:  {"functionName", "qualifier", "maximumRetryAttempts", "maximumEventAgeInSeconds", "destinationConfig"},
	tBucketNotification: {"bucket", "lambdaFunctions", "topics", "queues", "eventbridge"},
	tDomainName:         {"domainName", "domainNameConfiguration", "mutualTlsAuthentication"},
	tAPIMapping:         {"apiId", "domainName", "stage", "apiMappingKey"},
}

// resource is one entry under resources.
type resource struct {
	name, typ string // typ normalised
	rawType   string
	node      *yaml.Node // the key
	props     *yaml.Node // mapping or nil
	out       map[string]any
}

// computed returns the outputs AWS computes for r.
func (r *resource) computed(l *loader) map[string]any {
	if r.out == nil {
		// Only literal properties name a resource: an interpolated one
		// may refer back to r.
		literal := func(key string) (string, bool) {
			n := get(r.props, key)
			if n == nil || n.Kind != yaml.ScalarNode || strings.Contains(n.Value, "${") {
				return "", false
			}
			return n.Value, true
		}
		r.out = awsOutputs(l.project, r.rawType, r.name, literal, l.opts)
	}
	return r.out
}

// awsOutputs returns the outputs AWS computes for a resource of type typ
// named name: its id and, by type, its ARNs, physical name, invoke ARN or
// endpoint. prop gives the literal value of a property (a physical name
// such as a bucket's or a stage's name). A Pulumi Go program's monitor
// answers registrations with the same outputs (see Outputs).
func awsOutputs(project, typ, name string, prop func(string) (string, bool), opts Options) map[string]any {
	out := map[string]any{"urn": "urn:pulumi:portico::" + project + "::" + typ + "::" + name}
	id := name
	switch normType(typ) {
	case tRole:
		if n, ok := prop("name"); ok {
			id = n
		}
		out["arn"] = "arn:aws:iam::" + Account + ":role/" + id
		out["name"] = id
	case tFunction:
		if n, ok := prop("name"); ok {
			id = n
		}
		arn := "arn:aws:lambda:" + Region + ":" + Account + ":function:" + id
		out["arn"] = arn
		out["name"] = id
		out["qualifiedArn"] = arn + ":$LATEST"
		out["invokeArn"] = "arn:aws:apigateway:" + Region + ":lambda:path/2015-03-31/functions/" + arn + "/invocations"
	case tAPI:
		out["apiEndpoint"] = opts.apiEndpoint(name)
		out["arn"] = "arn:aws:apigateway:" + Region + "::/apis/" + name
		out["executionArn"] = "arn:aws:execute-api:" + Region + ":" + Account + ":" + name
	case tStage:
		if n, ok := prop("name"); ok {
			id = n
			// An API's ID is its name (above), which names its endpoint. A
			// YAML program's interpolated apiId is resolved in eval instead.
			if api, ok := prop("apiId"); ok {
				out["invokeUrl"] = InvokeURL(opts.apiEndpoint(api), n)
			}
		}
	case tBucket, tBucketV2:
		if n, ok := prop("bucket"); ok {
			id = n
		}
		out["bucket"] = id
		out["arn"] = "arn:aws:s3:::" + id
	case tLayer:
		if n, ok := prop("layerName"); ok {
			id = n
		}
		out["layerArn"] = "arn:aws:lambda:" + Region + ":" + Account + ":layer:" + id
		out["arn"] = out["layerArn"].(string) + ":1"
		out["version"] = "1"
	case tFnURL:
		functionURLOutputs(out, prop)
	case tDomainName:
		id = domainOutputs(out, prop, name)
	case tLogGroup:
		if n, ok := prop("name"); ok {
			id = n
		}
		out["name"] = id
		out["arn"] = "arn:aws:logs:" + Region + ":" + Account + ":log-group:" + id
	}
	out["id"] = id
	return out
}

type loader struct {
	file, progFile, dir string
	opts                Options
	project             string
	res                 map[string]*resource
	order               []*resource
	vars                map[string]*yaml.Node
	visiting            map[*yaml.Node]bool
	// origins, for registrations, is the source position of the resource
	// on each line (see FromRegistrations); nil for a YAML program.
	origins []Origin
	errs    spec.ErrorList
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	f, p := l.place(pos(n))
	l.errs = append(l.errs, &spec.Error{File: f, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) addEval(e *evalErr) {
	f, p := l.place(e.pos)
	l.errs = append(l.errs, &spec.Error{File: f, Pos: p, Msg: e.msg})
}

func (l *loader) load(project, prog *yaml.Node, _ []byte) (*Program, error) {
	l.res = map[string]*resource{}
	l.vars = map[string]*yaml.Node{}
	l.visiting = map[*yaml.Node]bool{}
	p := &Program{}
	if n := get(project, "name"); n == nil || n.Kind != yaml.ScalarNode || n.Value == "" {
		l.errs = append(l.errs, &spec.Error{File: l.file, Pos: spec.Pos{Line: 1, Col: 1}, Msg: "project: name is required"})
	} else {
		p.Name, l.project = n.Value, n.Value
	}
	if n := get(project, "runtime"); n == nil {
		l.errs = append(l.errs, &spec.Error{File: l.file, Pos: spec.Pos{Line: 1, Col: 1}, Msg: "project: runtime is required (want yaml)"})
	} else {
		rt := n.Value
		if n.Kind == yaml.MappingNode {
			rt = ""
			if nn := get(n, "name"); nn != nil {
				rt = nn.Value
			}
		}
		if rt != "yaml" {
			l.errs = append(l.errs, &spec.Error{File: l.file, Pos: pos(n), Msg: fmt.Sprintf("project: runtime %q is not a Pulumi YAML program (want yaml)", rt)})
		}
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	if vs := get(prog, "variables"); vs != nil {
		if vs.Kind != yaml.MappingNode {
			l.errorf(vs, "variables must be a mapping")
		} else {
			for i := 0; i+1 < len(vs.Content); i += 2 {
				l.vars[vs.Content[i].Value] = vs.Content[i+1]
			}
		}
	}
	rs := get(prog, "resources")
	if rs != nil && rs.Kind != yaml.MappingNode {
		l.errorf(rs, "resources must be a mapping")
		rs = nil
	}
	var unsupported []string
	if rs != nil {
		for i := 0; i+1 < len(rs.Content); i += 2 {
			k, v := rs.Content[i], rs.Content[i+1]
			if l.origins == nil && !nameRE.MatchString(k.Value) {
				l.errorf(k, "resource name %q: want letters, digits, '_' or '-'", k.Value)
				continue
			}
			if _, dup := l.res[k.Value]; dup {
				l.errorf(k, "resource %s: declared twice", k.Value)
				continue
			}
			if _, dup := l.vars[k.Value]; dup {
				l.errorf(k, "resource %s: a variable has the same name", k.Value)
				continue
			}
			if v.Kind != yaml.MappingNode {
				l.errorf(v, "resource %s: want a mapping with type and properties", k.Value)
				continue
			}
			tn := get(v, "type")
			if tn == nil || tn.Kind != yaml.ScalarNode || tn.Value == "" {
				l.errorf(k, "resource %s: type is required", k.Value)
				continue
			}
			props := get(v, "properties")
			if props != nil && props.Kind != yaml.MappingNode && props.Tag != "!!null" {
				l.errorf(props, "resource %s: properties must be a mapping", k.Value)
				continue
			}
			if props != nil && props.Kind != yaml.MappingNode {
				props = nil
			}
			r := &resource{name: k.Value, typ: normType(tn.Value), rawType: tn.Value, node: k, props: props}
			if _, ok := known[r.typ]; !ok {
				unsupported = append(unsupported, fmt.Sprintf("%s (%s, %s)", r.name, tn.Value, l.where(k)))
			}
			l.res[r.name] = r
			l.order = append(l.order, r)
		}
	}
	if len(unsupported) > 0 {
		p.Warnings = append(p.Warnings, "unsupported resource types, skipped: "+strings.Join(unsupported, ", "))
	}
	var ignored []string
	for _, r := range l.order {
		names, ok := known[r.typ]
		if !ok || names == nil || r.props == nil {
			continue
		}
		for i := 0; i < len(r.props.Content); i += 2 {
			k := r.props.Content[i]
			if !contains(names, k.Value) {
				ignored = append(ignored, fmt.Sprintf("%s.%s (%s)", r.name, k.Value, l.where(k)))
			}
		}
	}
	if len(ignored) > 0 {
		p.Warnings = append(p.Warnings, "properties without effect locally, ignored: "+strings.Join(ignored, ", "))
	}

	// Every property is evaluated, translated or not, so that a dangling
	// reference or a bad function call is an error wherever it is.
	for _, r := range l.order {
		for i := 1; r.props != nil && i < len(r.props.Content); i += 2 {
			if _, err := l.eval(r.props.Content[i]); err != nil {
				l.addEval(err)
			}
		}
	}
	b := newBuilder()
	t := l.translate(b)
	if os := get(prog, "outputs"); os != nil {
		if os.Kind != yaml.MappingNode {
			l.errorf(os, "outputs must be a mapping")
		} else {
			for i := 0; i+1 < len(os.Content); i += 2 {
				v, err := l.eval(os.Content[i+1])
				if err != nil {
					l.addEval(err)
					continue
				}
				p.Outputs = append(p.Outputs, Output{Name: os.Content[i].Value, Value: valueText(v)})
			}
		}
	}
	if len(l.errs) > 0 {
		return nil, sortErrs(l.errs)
	}
	flowEmpty(b.root)
	text, err := yaml.Marshal(b.root)
	if err != nil {
		return nil, fmt.Errorf("pulumiyaml: encode spec: %w", err)
	}
	text = append([]byte("# Generated by Portico from "+filepath.Base(l.progFile)+"; \"# @L:C\" is the origin of a line.\n"), text...)
	p.SpecText = text
	s, err := spec.Parse(l.progFile, text)
	if err != nil {
		var list spec.ErrorList
		if errors.As(err, &list) {
			return nil, l.remap(text, list)
		}
		return nil, fmt.Errorf("pulumiyaml: %w", err)
	}
	p.Spec = s
	// What AWS would do differently: say so, or, strict, do it.
	warnings, unpermitted := t.missingPermissions()
	p.Warnings = append(p.Warnings, warnings...)
	if l.opts.Strict {
		markUnpermitted(s, unpermitted)
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var originRE = regexp.MustCompile(`# @(\d+):(\d+)$`)

// remap moves spec errors from the generated text to their origin in the
// program: each generated line carries (or inherits from the lines above)
// the position of the program node it came from.
func (l *loader) remap(text []byte, list spec.ErrorList) spec.ErrorList {
	lines := strings.Split(string(text), "\n")
	origin := make([]spec.Pos, len(lines)+1)
	cur := spec.Pos{Line: 1, Col: 1}
	for i, ln := range lines {
		if m := originRE.FindStringSubmatch(ln); m != nil {
			a, _ := strconv.Atoi(m[1])
			c, _ := strconv.Atoi(m[2])
			cur = spec.Pos{Line: a, Col: c}
		}
		origin[i+1] = cur
	}
	out := make(spec.ErrorList, 0, len(list))
	for _, e := range list {
		p := spec.Pos{Line: 1, Col: 1}
		if e.Pos.Line >= 1 && e.Pos.Line < len(origin) {
			p = origin[e.Pos.Line]
		}
		f, p := l.place(p)
		out = append(out, &spec.Error{File: f, Pos: p, Msg: "(spec) " + e.Msg})
	}
	return sortErrs(out)
}

// codePath returns an archive's path as the spec takes it (relative paths
// stay relative to the program's directory).
func codePath(p string) string { return path.Clean(filepath.ToSlash(p)) }

func sortErrs(l spec.ErrorList) spec.ErrorList {
	slices.SortStableFunc(l, func(a, b *spec.Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(l, func(a, b *spec.Error) bool { return *a == *b })
}

// flowEmpty writes empty mappings as "{}" on their key's line, carrying the
// key's origin comment (yaml.v3 emits broken YAML for an empty block
// mapping after a commented key).
func flowEmpty(n *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
			v.Style = yaml.FlowStyle
			v.LineComment, k.LineComment = k.LineComment, ""
			continue
		}
		if v.Kind == yaml.MappingNode {
			flowEmpty(v)
		}
	}
}
