package pulumiyaml

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

// tAuthorizer is the normalised type token of an HTTP API authorizer (the
// other tokens are declared in load.go).
const tAuthorizer = "aws:apigatewayv2:Authorizer"

// routeSettingsKeys are the properties of a stage's defaultRouteSettings
// and of each of its routeSettings (which add routeKey) in pulumi-aws. Only
// the throttle has a local effect; the others configure CloudWatch.
var routeSettingsKeys = []string{"throttlingRateLimit", "throttlingBurstLimit", "dataTraceEnabled", "detailedMetricsEnabled", "loggingLevel"}

// builder writes the spec document as yaml nodes, each annotated with the
// position of the program node it came from.
type builder struct {
	root *yaml.Node
	maps map[string]*yaml.Node // by dotted path
}

func newBuilder() *builder {
	return &builder{root: &yaml.Node{Kind: yaml.MappingNode}, maps: map[string]*yaml.Node{}}
}

func at(p spec.Pos) string { return fmt.Sprintf("@%d:%d", p.Line, p.Col) }

// mapping returns the mapping at the dotted path of keys, creating it (its
// key annotated with p) when missing.
func (b *builder) mapping(p spec.Pos, keys ...string) *yaml.Node {
	parent := b.root
	for i := range keys {
		path := strings.Join(keys[:i+1], "\x00")
		m, ok := b.maps[path]
		if !ok {
			m = &yaml.Node{Kind: yaml.MappingNode}
			k := &yaml.Node{Kind: yaml.ScalarNode, Value: keys[i]}
			if i == len(keys)-1 {
				k.LineComment = at(p)
			}
			parent.Content = append(parent.Content, k, m)
			b.maps[path] = m
		}
		parent = m
	}
	return parent
}

// set adds key: v (a plain value) to m, annotated with p.
func set(m *yaml.Node, key string, v any, p spec.Pos) {
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: key}
	n := valueNode(v)
	if n.Kind == yaml.ScalarNode {
		n.LineComment = at(p)
	} else {
		k.LineComment = at(p)
	}
	m.Content = append(m.Content, k, n)
}

func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(x)}
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: fmt.Sprint(x)}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(x)}
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range x {
			n.Content = append(n.Content, valueNode(e))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range x {
			n.Content = append(n.Content, valueNode(e))
		}
		return n
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range sortedKeys(x) {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, valueNode(x[k]))
		}
		return n
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
}

// prop evaluates property key of r; node is nil when absent.
func (l *loader) prop(r *resource, key string) (any, *yaml.Node, bool) {
	n := get(r.props, key)
	if n == nil {
		return nil, nil, false
	}
	v, err := l.eval(n)
	if err != nil {
		l.addEval(err)
		return nil, n, false
	}
	return v, n, v != nil
}

func (l *loader) str(r *resource, key string, required bool) (string, *yaml.Node, bool) {
	v, n, ok := l.prop(r, key)
	if !ok {
		if n == nil && required {
			l.errorf(r.node, "resource %s: %s is required", r.name, key)
		}
		return "", n, false
	}
	s, ok := l.asString(r, key, v, n)
	return s, n, ok
}

func (l *loader) integer(r *resource, key string) (int, *yaml.Node, bool) {
	v, n, ok := l.prop(r, key)
	if !ok {
		return 0, n, false
	}
	i, ok := l.asInt(r, key, v, n)
	return i, n, ok
}

func (l *loader) boolean(r *resource, key string) (bool, *yaml.Node, bool) {
	v, n, ok := l.prop(r, key)
	if !ok {
		return false, n, false
	}
	b, ok := l.asBool(r, key, v, n)
	return b, n, ok
}

func (l *loader) strings(r *resource, key string) ([]string, *yaml.Node, bool) {
	v, n, ok := l.prop(r, key)
	if !ok {
		return nil, n, false
	}
	list, ok := l.asStrings(r, key, v, n)
	return list, n, ok
}

// The as* conversions check the type of an evaluated value v, property
// what of r (a dotted path for nested properties), reporting at n.

func (l *loader) asString(r *resource, what string, v any, n *yaml.Node) (string, bool) {
	s, ok := v.(string)
	if !ok {
		l.errorf(n, "resource %s: %s must be a string, not %s", r.name, what, kind(v))
	}
	return s, ok
}

// asInt accepts an integer, or a float with an integral value: a Pulumi
// program's numbers are doubles, whatever their schema type.
func (l *loader) asInt(r *resource, what string, v any, n *yaml.Node) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32 {
			return int(x), true
		}
		l.errorf(n, "resource %s: %s must be an integer, not %s", r.name, what, strconv.FormatFloat(x, 'g', -1, 64))
		return 0, false
	}
	l.errorf(n, "resource %s: %s must be an integer, not %s", r.name, what, kind(v))
	return 0, false
}

// asNumber accepts an integer or a float, and returns it as it came (int
// or float64), for a spec field that is a float.
func (l *loader) asNumber(r *resource, what string, v any, n *yaml.Node) (any, bool) {
	switch v.(type) {
	case int, float64:
		return v, true
	}
	l.errorf(n, "resource %s: %s must be a number, not %s", r.name, what, kind(v))
	return nil, false
}

func (l *loader) asBool(r *resource, what string, v any, n *yaml.Node) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		l.errorf(n, "resource %s: %s must be a boolean, not %s", r.name, what, kind(v))
	}
	return b, ok
}

func (l *loader) asStrings(r *resource, what string, v any, n *yaml.Node) ([]string, bool) {
	list, ok := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, isStr := e.(string)
		ok = ok && isStr
		out = append(out, s)
	}
	if !ok {
		l.errorf(n, "resource %s: %s must be a list of strings", r.name, what)
		return nil, false
	}
	return out, true
}

func (l *loader) strMap(r *resource, n *yaml.Node, v any, what string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		l.errorf(n, "resource %s: %s must be a mapping, not %s", r.name, what, kind(v))
		return nil, false
	}
	for k, e := range m {
		s, ok := scalarString(e)
		if !ok {
			l.errorf(n, "resource %s: %s.%s must be a string, not %s", r.name, what, k, kind(e))
			return nil, false
		}
		m[k] = s
	}
	return m, true
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case archive:
		return "an archive"
	case asset:
		return "an asset"
	}
	return "null"
}

// find returns the resource of one of types whose computed output equals
// s (its id, name, ARN or invoke ARN).
func (l *loader) find(s string, types ...string) *resource {
	for _, r := range l.order {
		if !slices.Contains(types, r.typ) {
			continue
		}
		for _, v := range r.computed(l) {
			if v == s {
				return r
			}
		}
	}
	return nil
}

// refTo resolves property key of r to a resource of the given types.
func (l *loader) refTo(r *resource, key string, required bool, types ...string) *resource {
	s, n, ok := l.str(r, key, required)
	if !ok {
		return nil
	}
	t := l.find(s, types...)
	if t == nil {
		l.errorf(n, "resource %s: %s %q does not refer to a %s of this program", r.name, key, s, strings.Join(types, " or "))
	}
	return t
}

// fields reads the fields of an evaluated nested mapping (such as an API's
// corsConfiguration), each positioned at its own node when the mapping is
// written out in the program, else at the mapping's.
type fields struct {
	l    *loader
	r    *resource
	path string // for messages: "corsConfiguration", "routeSettings[0]"
	n    *yaml.Node
	m    map[string]any
}

// nested checks that v, property path of r at n, is a mapping whose keys
// are among accepted (the properties pulumi-aws defines for it: any other
// key is an error, as Pulumi's own type check makes it).
func (l *loader) nested(r *resource, path string, v any, n *yaml.Node, accepted ...string) (fields, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		l.errorf(n, "resource %s: %s must be a mapping, not %s", r.name, path, kind(v))
		return fields{}, false
	}
	f := fields{l: l, r: r, path: path, n: n, m: m}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(accepted, k) {
			l.errorf(f.node(k), "resource %s: %s has no property %q (want %s)", r.name, path, k, strings.Join(accepted, ", "))
			ok = false
		}
	}
	return f, ok
}

// node is the program node of field k, or the mapping's.
func (f fields) node(k string) *yaml.Node {
	if c := get(f.n, k); c != nil {
		return c
	}
	return f.n
}

func (f fields) get(k string) (any, *yaml.Node, bool) {
	v, ok := f.m[k]
	return v, f.node(k), ok && v != nil
}

func (f fields) str(k string, required bool) (string, *yaml.Node, bool) {
	v, n, ok := f.get(k)
	if !ok {
		if required {
			f.l.errorf(n, "resource %s: %s.%s is required", f.r.name, f.path, k)
		}
		return "", n, false
	}
	s, ok := f.l.asString(f.r, f.path+"."+k, v, n)
	return s, n, ok
}

func (f fields) strings(k string) ([]string, *yaml.Node, bool) {
	v, n, ok := f.get(k)
	if !ok {
		return nil, n, false
	}
	list, ok := f.l.asStrings(f.r, f.path+"."+k, v, n)
	return list, n, ok
}

func (f fields) integer(k string) (int, *yaml.Node, bool) {
	v, n, ok := f.get(k)
	if !ok {
		return 0, n, false
	}
	i, ok := f.l.asInt(f.r, f.path+"."+k, v, n)
	return i, n, ok
}

func (f fields) number(k string) (any, *yaml.Node, bool) {
	v, n, ok := f.get(k)
	if !ok {
		return nil, n, false
	}
	x, ok := f.l.asNumber(f.r, f.path+"."+k, v, n)
	return x, n, ok
}

func (f fields) boolean(k string) (bool, *yaml.Node, bool) {
	v, n, ok := f.get(k)
	if !ok {
		return false, n, false
	}
	b, ok := f.l.asBool(f.r, f.path+"."+k, v, n)
	return b, n, ok
}

// translation is one run of translate. The spec name of every resource
// and the API of every integration and authorizer are worked out before
// any resource is written, so that a reference (a route's target or
// authorizerId) does not depend on the order of the program's resources.
type translation struct {
	l     *loader
	b     *builder
	key   map[*resource]string    // spec name of functions, roles, buckets, APIs, integrations, authorizers
	apiOf map[*resource]*resource // the API of integrations and authorizers
	owner map[string]*resource    // spec names taken, by scope and name
}

// translate writes the spec document for the supported resources.
//
// Spec names: a function's and a role's is their physical name (the
// literal name property, else the resource name), a bucket's its bucket
// property (else the resource name), an API's its resource name, a
// stage's its name and a route's its route key. An authorizer's is its
// name property, else its resource name. An integration's is its resource
// name less the "API-" prefix that `portico export pulumi` gives it (API
// being the API's resource name) unless another integration of that API
// is then named the same: integrations have no name property on AWS, and
// this keeps the round trip spec -> exported program -> spec exact.
func (l *loader) translate(b *builder) *translation {
	t := &translation{l: l, b: b, key: map[*resource]string{}, apiOf: map[*resource]*resource{}, owner: map[string]*resource{}}
	t.names()
	for _, r := range l.order {
		switch r.typ {
		case tRole:
			t.role(r)
		case tRoleAttach:
			t.roleAttachment(r)
		case tRolePolicy:
			t.rolePolicy(r)
		case tFunction:
			t.function(r)
		case tBucket, tBucketV2:
			t.bucket(r)
		case tObject, tObjectV2:
			t.object(r)
		case tAPI:
			t.api(r)
		case tAuthorizer:
			t.authorizer(r)
		case tIntegration:
			t.integration(r)
		case tRoute:
			t.route(r)
		case tStage:
			t.stage(r)
		case tPermission:
			t.permission(r)
		case tEventInvokeConfig:
			t.eventInvokeConfig(r)
		case tBucketNotification:
			t.bucketNotification(r)
		case tFnURL:
			t.functionURL(r)
		case tDomainName:
			t.domainName(r)
		case tAPIMapping:
			t.apiMapping(r)
		}
	}
	return t
}

// names fills t.key and t.apiOf. Problems are left to the resources'
// own translation, which reports them.
func (t *translation) names() {
	l := t.l
	integs := map[*resource][]*resource{} // by API
	for _, r := range l.order {
		switch r.typ {
		case tRole, tFunction, tBucket, tBucketV2:
			t.key[r] = r.computed(l)["id"].(string)
		case tAPI:
			t.key[r] = r.name
		case tIntegration, tAuthorizer:
			api := t.quietRef(r, "apiId", tAPI)
			if api == nil {
				continue
			}
			t.apiOf[r] = api
			t.key[r] = r.name
			if r.typ == tIntegration {
				integs[api] = append(integs[api], r)
			} else if v, err := l.eval(orNull(get(r.props, "name"))); err == nil {
				if s, ok := v.(string); ok && s != "" {
					t.key[r] = s
				}
			}
		}
	}
	for api, list := range integs {
		names := map[string]int{}
		stripped := map[*resource]string{}
		for _, r := range list {
			k := r.name
			if s, ok := strings.CutPrefix(r.name, api.name+"-"); ok && s != "" {
				k, stripped[r] = s, s
			}
			names[k]++
		}
		for r, s := range stripped {
			if names[s] == 1 {
				t.key[r] = s
			}
		}
	}
}

// orNull is n, or a null node for an absent property.
func orNull(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return n
}

// quietRef is refTo without reporting problems.
func (t *translation) quietRef(r *resource, key string, types ...string) *resource {
	v, err := t.l.eval(orNull(get(r.props, key)))
	s, ok := v.(string)
	if err != nil || !ok {
		return nil
	}
	return t.l.find(s, types...)
}

// claim takes the spec name key (a what, such as "route key") in scope for
// r; a second resource with the same spec name is an error at n.
func (t *translation) claim(r *resource, n *yaml.Node, what, key string, scope ...string) bool {
	id := strings.Join(append(scope, key), "\x00")
	switch o, dup := t.owner[id]; {
	case dup && o == r:
		t.l.errorf(n, "resource %s: %s %q is given twice", r.name, what, key)
		return false
	case dup:
		t.l.errorf(n, "resource %s: %s %q is also that of resource %s (%s)", r.name, what, key, o.name, t.l.where(o.node))
		return false
	}
	t.owner[id] = r
	return true
}

// nameNode is the node of r's property prop when given, else r's.
func nameNode(r *resource, prop string) *yaml.Node {
	if n := get(r.props, prop); n != nil {
		return n
	}
	return r.node
}

func (t *translation) role(r *resource) {
	l := t.l
	l.str(r, "name", false) // the spec name (t.key) when literal
	nn := nameNode(r, "name")
	if !t.claim(r, nn, "role name", t.key[r], "roles") {
		return
	}
	m := t.b.mapping(pos(nn), "roles", t.key[r])
	if v, n, ok := l.prop(r, "assumeRolePolicy"); ok {
		switch v.(type) {
		case string, map[string]any:
			set(m, "assumeRolePolicy", v, pos(n))
		default:
			l.errorf(n, "resource %s: assumeRolePolicy must be a JSON string or a mapping, not %s", r.name, kind(v))
		}
	}
	if list, n, ok := l.strings(r, "managedPolicyArns"); ok {
		for _, e := range list {
			t.appendTo(r, "managedPolicyArns", e, pos(n))
		}
	}
}

func (t *translation) roleAttachment(r *resource) {
	role := t.l.refTo(r, "role", true, tRole)
	arn, n, ok := t.l.str(r, "policyArn", true)
	if role != nil && ok {
		t.appendTo(role, "managedPolicyArns", arn, pos(n))
	}
}

func (t *translation) rolePolicy(r *resource) {
	l := t.l
	role := l.refTo(r, "role", true, tRole)
	v, n, ok := l.prop(r, "policy")
	if !ok {
		if n == nil {
			l.errorf(r.node, "resource %s: policy is required", r.name)
		}
		return
	}
	switch v.(type) {
	case string, map[string]any:
	default:
		l.errorf(n, "resource %s: policy must be a JSON string or a mapping, not %s", r.name, kind(v))
		return
	}
	if role != nil {
		t.appendTo(role, "policies", v, pos(n))
	}
}

// appendTo appends v to the list field of role r in the spec.
func (t *translation) appendTo(r *resource, field string, v any, p spec.Pos) {
	m := t.b.mapping(pos(nameNode(r, "name")), "roles", t.key[r])
	var list *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == field {
			list = m.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: field}, list)
	}
	n := valueNode(v)
	if n.Kind == yaml.ScalarNode {
		n.LineComment = at(p)
	} else {
		n.HeadComment = at(p)
	}
	list.Content = append(list.Content, n)
}

func (t *translation) function(r *resource) {
	l := t.l
	l.str(r, "name", false) // the spec name (t.key) when literal
	nn := nameNode(r, "name")
	if !t.claim(r, nn, "function name", t.key[r], "functions") {
		return
	}
	m := t.b.mapping(pos(nn), "functions", t.key[r])
	for _, k := range []string{"runtime", "handler"} {
		if s, n, ok := l.str(r, k, k == "runtime"); ok {
			set(m, k, s, pos(n))
		}
	}
	if v, n, ok := l.prop(r, "code"); ok {
		a, isArchive := v.(archive)
		if !isArchive {
			l.errorf(n, "resource %s: code must be an archive (fn::fileArchive or fn::assetArchive), not %s", r.name, kind(v))
		} else {
			set(m, "code", codePath(a.path), a.pos)
		}
	} else if n == nil {
		l.errorf(r.node, "resource %s: code is required", r.name)
	}
	if role := l.refTo(r, "role", false, tRole); role != nil {
		set(m, "role", t.key[role], pos(get(r.props, "role")))
	}
	for _, k := range []string{"timeout", "memorySize"} {
		if i, n, ok := l.integer(r, k); ok {
			set(m, k, i, pos(n))
		}
	}
	t.functionLayers(r, m)
	// -1 is Pulumi's "no reserved concurrency".
	if i, n, ok := l.integer(r, "reservedConcurrentExecutions"); ok && i != -1 {
		set(m, "reservedConcurrency", i, pos(n))
	}
	if v, n, ok := l.prop(r, "environment"); ok {
		env, isMap := v.(map[string]any)
		if !isMap {
			l.errorf(n, "resource %s: environment must be a mapping with variables, not %s", r.name, kind(v))
		} else if vars, ok := env["variables"]; ok && vars != nil {
			if vm, ok := l.strMap(r, get(n, "variables"), vars, "environment.variables"); ok {
				set(m, "environment", vm, pos(get(n, "variables")))
			}
		}
	}
}

func (t *translation) bucket(r *resource) {
	nn := nameNode(r, "bucket")
	if t.claim(r, nn, "bucket name", t.key[r], "buckets") {
		t.b.mapping(pos(r.node), "buckets", t.key[r])
	}
}

// object turns a bucket object into its bucket's contents directory: the
// source path must end with the object's key (a/b/c.json from
// DIR/a/b/c.json), and every object of a bucket must come from one
// directory DIR, all of which Portico uploads.
func (t *translation) object(r *resource) {
	l := t.l
	bucket := l.refTo(r, "bucket", true, tBucket, tBucketV2)
	key, kn, _ := l.str(r, "key", true)
	v, sn, ok := l.prop(r, "source")
	if !ok {
		if sn == nil {
			l.errorf(r.node, "resource %s: source is required", r.name)
		}
		return
	}
	a, isAsset := v.(asset)
	if !isAsset {
		l.errorf(sn, "resource %s: source must be an fn::fileAsset, not %s", r.name, kind(v))
		return
	}
	if bucket == nil || key == "" {
		return
	}
	if key != path.Clean(key) || path.IsAbs(key) || key == ".." || strings.HasPrefix(key, "../") {
		l.errorf(kn, "resource %s: key %q must be a clean relative path (Portico keys objects by their path in the bucket's directory)", r.name, key)
		return
	}
	src := codePath(a.path)
	var dir string
	switch {
	case src == key:
		dir = "."
	case strings.HasSuffix(src, "/"+key):
		dir = strings.TrimSuffix(src, "/"+key)
		if dir == "" {
			dir = "/"
		}
	default:
		l.errorf(kn, "resource %s: key %q must be the end of the source path %q (Portico uploads the directory the keys are relative to)", r.name, key, src)
		return
	}
	m := t.b.mapping(pos(bucket.node), "buckets", t.key[bucket])
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "contents" {
			if m.Content[i+1].Value != dir {
				l.errorf(sn, "resource %s: objects of bucket %s must all come from one directory (%s, not %s)", r.name, bucket.name, m.Content[i+1].Value, dir)
			}
			return
		}
	}
	set(m, "contents", dir, a.pos)
}

// api translates an API; its spec name is its resource name, whatever its
// name property (portico export pulumi sets both to the spec name).
func (t *translation) api(r *resource) {
	l := t.l
	m := t.b.mapping(pos(r.node), "apis", r.name)
	l.str(r, "name", false)
	if s, n, ok := l.str(r, "protocolType", false); ok {
		set(m, "protocolType", s, pos(n))
	}
	if s, n, ok := l.str(r, "routeSelectionExpression", false); ok {
		set(m, "routeSelectionExpression", s, pos(n))
	}
	t.cors(r, "corsConfiguration", "apis", r.name, "cors")
}

// cors translates a CORS configuration, the property prop of r (an API's
// corsConfiguration, a function URL's cors), into the mapping at path.
func (t *translation) cors(r *resource, prop string, path ...string) {
	l := t.l
	v, n, ok := l.prop(r, prop)
	if !ok {
		return
	}
	f, ok := l.nested(r, prop, v, n, "allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials")
	if !ok {
		return
	}
	c := t.b.mapping(pos(n), path...)
	for _, k := range []string{"allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders"} {
		if list, fn, ok := f.strings(k); ok {
			set(c, k, list, pos(fn))
		}
	}
	if i, fn, ok := f.integer("maxAge"); ok {
		set(c, "maxAge", i, pos(fn))
	}
	if b, fn, ok := f.boolean("allowCredentials"); ok {
		set(c, "allowCredentials", b, pos(fn))
	}
}

// authorizer translates a JWT or REQUEST (Lambda) authorizer; its
// authorizerUri names the function by its invoke ARN, as an integration's
// integrationUri does. The spec checks which fields suit which type.
func (t *translation) authorizer(r *resource) {
	l := t.l
	api := l.refTo(r, "apiId", true, tAPI)
	typ, tn, _ := l.str(r, "authorizerType", true)
	l.str(r, "name", false)
	if api == nil || typ == "" {
		return
	}
	key, nn := t.key[r], nameNode(r, "name")
	if !t.claim(r, nn, "authorizer name", key, "apis", api.name, "authorizers") {
		return
	}
	base := []string{"apis", api.name, "authorizers", key}
	m := t.b.mapping(pos(nn), base...)
	set(m, "type", typ, pos(tn))
	if list, n, ok := l.strings(r, "identitySources"); ok {
		set(m, "identitySource", list, pos(n))
	}
	if v, n, ok := l.prop(r, "jwtConfiguration"); ok {
		if f, ok := l.nested(r, "jwtConfiguration", v, n, "issuer", "audiences"); ok {
			j := t.b.mapping(pos(n), append(base, "jwtConfiguration")...)
			if s, fn, ok := f.str("issuer", false); ok {
				set(j, "issuer", s, pos(fn))
			}
			if list, fn, ok := f.strings("audiences"); ok {
				set(j, "audience", list, pos(fn))
			}
		}
	}
	if fn := l.refTo(r, "authorizerUri", false, tFunction); fn != nil {
		set(m, "function", t.key[fn], pos(get(r.props, "authorizerUri")))
	}
	if s, n, ok := l.str(r, "authorizerPayloadFormatVersion", false); ok {
		set(m, "authorizerPayloadFormatVersion", s, pos(n))
	}
	if b, n, ok := l.boolean(r, "enableSimpleResponses"); ok {
		set(m, "enableSimpleResponses", b, pos(n))
	}
	if i, n, ok := l.integer(r, "authorizerResultTtlInSeconds"); ok {
		set(m, "authorizerResultTtlInSeconds", i, pos(n))
	}
}

func (t *translation) integration(r *resource) {
	l := t.l
	api := l.refTo(r, "apiId", true, tAPI)
	typ, tn, _ := l.str(r, "integrationType", true)
	if api == nil || typ == "" {
		return
	}
	p := pos(r.node)
	if !t.claim(r, r.node, "integration name", t.key[r], "apis", api.name, "integrations") {
		return
	}
	m := t.b.mapping(p, "apis", api.name, "integrations", t.key[r])
	set(m, "type", typ, pos(tn))
	switch typ {
	case spec.AWSProxy:
		if fn := l.refTo(r, "integrationUri", true, tFunction); fn != nil {
			set(m, "function", t.key[fn], pos(get(r.props, "integrationUri")))
		}
	case spec.HTTPProxy:
		if s, n, ok := l.str(r, "integrationUri", true); ok {
			set(m, "uri", s, pos(n))
		}
		if s, n, ok := l.str(r, "integrationMethod", false); ok {
			set(m, "method", s, pos(n))
		}
	default:
		l.errorf(tn, "resource %s: integrationType %q is not supported (want AWS_PROXY or HTTP_PROXY)", r.name, typ)
	}
	// Pulumi's (and API Gateway's CreateIntegration) default payload
	// format is 1.0, unlike the spec's 2.0.
	pfv, n, ok := l.str(r, "payloadFormatVersion", false)
	if ok {
		set(m, "payloadFormatVersion", pfv, pos(n))
	} else if n == nil {
		set(m, "payloadFormatVersion", "1.0", p)
	}
	if i, n, ok := l.integer(r, "timeoutMilliseconds"); ok {
		set(m, "timeoutInMillis", i, pos(n))
	}
}

func (t *translation) route(r *resource) {
	l := t.l
	api := l.refTo(r, "apiId", true, tAPI)
	key, kn, _ := l.str(r, "routeKey", true)
	if api == nil || key == "" {
		return
	}
	if !t.claim(r, kn, "route key", key, "apis", api.name, "routes") {
		return
	}
	m := t.b.mapping(pos(kn), "apis", api.name, "routes", key)
	target, tn, ok := l.str(r, "target", true)
	if ok {
		id, found := strings.CutPrefix(target, "integrations/")
		integ := l.find(id, tIntegration)
		if !found || integ == nil {
			l.errorf(tn, "resource %s: target %q must be integrations/ID of an aws:apigatewayv2:Integration of this program", r.name, target)
		} else if t.apiOf[integ] != nil && t.apiOf[integ] != api {
			l.errorf(tn, "resource %s: integration %s belongs to another API", r.name, integ.name)
		} else {
			set(m, "integration", t.key[integ], pos(tn))
		}
	}
	if s, n, ok := l.str(r, "authorizationType", false); ok {
		set(m, "authorizationType", s, pos(n))
	}
	if au := l.refTo(r, "authorizerId", false, tAuthorizer); au != nil {
		an := get(r.props, "authorizerId")
		if t.apiOf[au] != nil && t.apiOf[au] != api {
			l.errorf(an, "resource %s: authorizer %s belongs to another API", r.name, au.name)
		} else {
			set(m, "authorizer", t.key[au], pos(an))
		}
	}
	if list, n, ok := l.strings(r, "authorizationScopes"); ok {
		set(m, "authorizationScopes", list, pos(n))
	}
	if v, n, ok := l.boolean(r, "apiKeyRequired"); ok {
		set(m, "apiKeyRequired", v, pos(n))
	}
	if s, n, ok := l.str(r, "routeResponseSelectionExpression", false); ok {
		set(m, "routeResponseSelectionExpression", s, pos(n))
	}
}

// stage translates a stage with its throttles and access log. The access
// log goes to the spec's default destination (stdout): its CloudWatch log
// group has no local equivalent, but must be one of the program's.
func (t *translation) stage(r *resource) {
	l := t.l
	api := l.refTo(r, "apiId", true, tAPI)
	name, nn, _ := l.str(r, "name", true)
	if api == nil || name == "" {
		return
	}
	if !t.claim(r, nn, "stage name", name, "apis", api.name, "stages") {
		return
	}
	base := []string{"apis", api.name, "stages", name}
	under := func(p spec.Pos, keys ...string) *yaml.Node {
		return t.b.mapping(p, append(slices.Clip(base), keys...)...)
	}
	m := under(pos(nn))
	if v, n, ok := l.boolean(r, "autoDeploy"); ok {
		set(m, "autoDeploy", v, pos(n))
	}
	if v, n, ok := l.prop(r, "stageVariables"); ok {
		if sv, ok := l.strMap(r, n, v, "stageVariables"); ok {
			set(m, "stageVariables", sv, pos(n))
		}
	}
	if v, n, ok := l.prop(r, "defaultRouteSettings"); ok {
		if f, ok := l.nested(r, "defaultRouteSettings", v, n, routeSettingsKeys...); ok {
			throttle(f, under(pos(n), "defaultRouteSettings"))
		}
	}
	if v, n, ok := l.prop(r, "routeSettings"); ok {
		list, isList := v.([]any)
		if !isList {
			l.errorf(n, "resource %s: routeSettings must be a list, not %s", r.name, kind(v))
		}
		for i, e := range list {
			en := n
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				en = n.Content[i]
			}
			f, ok := l.nested(r, fmt.Sprintf("routeSettings[%d]", i), e, en, append(slices.Clip(routeSettingsKeys), "routeKey")...)
			if !ok {
				continue
			}
			rk, kn, ok := f.str("routeKey", true)
			if !ok || !t.claim(r, kn, "routeSettings route key", rk, "apis", api.name, "stages", name, "routeSettings") {
				continue
			}
			throttle(f, under(pos(kn), "routeSettings", rk))
		}
	}
	if v, n, ok := l.prop(r, "accessLogSettings"); ok {
		f, ok := l.nested(r, "accessLogSettings", v, n, "destinationArn", "format")
		if !ok {
			return
		}
		arn, an, ok := f.str("destinationArn", true)
		if !ok {
			return
		}
		if lg := l.find(arn, tLogGroup); lg == nil || lg.computed(l)["arn"] != arn {
			l.errorf(an, "resource %s: accessLogSettings.destinationArn %q must be the arn of an aws:cloudwatch:LogGroup of this program", r.name, arn)
			return
		}
		al := under(pos(n), "accessLogSettings")
		if s, fn, ok := f.str("format", false); ok && s != "" {
			set(al, "format", s, pos(fn))
		}
	}
}

// throttle writes the throttle of a stage's route settings f into m.
func throttle(f fields, m *yaml.Node) {
	if x, n, ok := f.number("throttlingRateLimit"); ok {
		set(m, "throttlingRateLimit", x, pos(n))
	}
	if i, n, ok := f.integer("throttlingBurstLimit"); ok {
		set(m, "throttlingBurstLimit", i, pos(n))
	}
}
