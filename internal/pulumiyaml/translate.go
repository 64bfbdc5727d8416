package pulumiyaml

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

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
	s, isStr := v.(string)
	if !isStr {
		l.errorf(n, "resource %s: %s must be a string, not %s", r.name, key, kind(v))
		return "", n, false
	}
	return s, n, true
}

func (l *loader) integer(r *resource, key string) (int, *yaml.Node, bool) {
	v, n, ok := l.prop(r, key)
	if !ok {
		return 0, n, false
	}
	i, isInt := v.(int)
	if !isInt {
		l.errorf(n, "resource %s: %s must be an integer, not %s", r.name, key, kind(v))
		return 0, n, false
	}
	return i, n, true
}

func (l *loader) boolean(r *resource, key string) (bool, *yaml.Node, bool) {
	v, n, ok := l.prop(r, key)
	if !ok {
		return false, n, false
	}
	bv, isBool := v.(bool)
	if !isBool {
		l.errorf(n, "resource %s: %s must be a boolean, not %s", r.name, key, kind(v))
		return false, n, false
	}
	return bv, n, true
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

// translate writes the spec document for the supported resources.
func (l *loader) translate(b *builder) {
	apiOf := map[*resource]*resource{} // integration -> api
	for _, r := range l.order {
		p := pos(r.node)
		switch r.typ {
		case tRole:
			m := b.mapping(p, "roles", r.name)
			if v, n, ok := l.prop(r, "assumeRolePolicy"); ok {
				switch v.(type) {
				case string, map[string]any:
					set(m, "assumeRolePolicy", v, pos(n))
				default:
					l.errorf(n, "resource %s: assumeRolePolicy must be a JSON string or a mapping, not %s", r.name, kind(v))
				}
			}
			if v, n, ok := l.prop(r, "managedPolicyArns"); ok {
				list, isList := v.([]any)
				for _, e := range list {
					if _, isStr := e.(string); !isStr {
						isList = false
					}
				}
				if !isList {
					l.errorf(n, "resource %s: managedPolicyArns must be a list of strings", r.name)
				} else {
					for _, e := range list {
						l.appendTo(b, r, "managedPolicyArns", e, pos(n))
					}
				}
			}
		case tRoleAttach:
			role := l.refTo(r, "role", true, tRole)
			arn, n, ok := l.str(r, "policyArn", true)
			if role != nil && ok {
				l.appendTo(b, role, "managedPolicyArns", arn, pos(n))
			}
		case tRolePolicy:
			role := l.refTo(r, "role", true, tRole)
			v, n, ok := l.prop(r, "policy")
			if !ok {
				if n == nil {
					l.errorf(r.node, "resource %s: policy is required", r.name)
				}
				continue
			}
			switch v.(type) {
			case string, map[string]any:
			default:
				l.errorf(n, "resource %s: policy must be a JSON string or a mapping, not %s", r.name, kind(v))
				continue
			}
			if role != nil {
				l.appendTo(b, role, "policies", v, pos(n))
			}
		case tFunction:
			m := b.mapping(p, "functions", r.name)
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
				set(m, "role", role.name, pos(get(r.props, "role")))
			}
			for _, k := range [][2]string{{"timeout", "timeout"}, {"memorySize", "memorySize"}} {
				if i, n, ok := l.integer(r, k[0]); ok {
					set(m, k[1], i, pos(n))
				}
			}
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
		case tBucket, tBucketV2:
			b.mapping(p, "buckets", r.computed(l)["id"].(string))
		case tObject, tObjectV2:
			l.object(b, r)
		case tAPI:
			m := b.mapping(p, "apis", r.name)
			if s, n, ok := l.str(r, "protocolType", false); ok {
				set(m, "protocolType", s, pos(n))
			}
		case tIntegration:
			api := l.refTo(r, "apiId", true, tAPI)
			typ, tn, _ := l.str(r, "integrationType", true)
			if api == nil || typ == "" {
				continue
			}
			apiOf[r] = api
			m := b.mapping(p, "apis", api.name, "integrations", r.name)
			set(m, "type", typ, pos(tn))
			switch typ {
			case spec.AWSProxy:
				if fn := l.refTo(r, "integrationUri", true, tFunction); fn != nil {
					set(m, "function", fn.name, pos(get(r.props, "integrationUri")))
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
			// Pulumi's (and API Gateway's CreateIntegration) default
			// payload format is 1.0, unlike the spec's 2.0.
			pfv, n, ok := l.str(r, "payloadFormatVersion", false)
			if ok {
				set(m, "payloadFormatVersion", pfv, pos(n))
			} else if n == nil {
				set(m, "payloadFormatVersion", "1.0", p)
			}
			if i, n, ok := l.integer(r, "timeoutMilliseconds"); ok {
				set(m, "timeoutInMillis", i, pos(n))
			}
		case tRoute:
			api := l.refTo(r, "apiId", true, tAPI)
			key, kn, _ := l.str(r, "routeKey", true)
			if api == nil || key == "" {
				continue
			}
			m := b.mapping(pos(kn), "apis", api.name, "routes", key)
			target, tn, ok := l.str(r, "target", true)
			if ok {
				id, found := strings.CutPrefix(target, "integrations/")
				integ := l.find(id, tIntegration)
				if !found || integ == nil {
					l.errorf(tn, "resource %s: target %q must be integrations/ID of an aws:apigatewayv2:Integration of this program", r.name, target)
				} else if apiOf[integ] != nil && apiOf[integ] != api {
					l.errorf(tn, "resource %s: integration %s belongs to another API", r.name, integ.name)
				} else {
					set(m, "integration", integ.name, pos(tn))
				}
			}
			if s, n, ok := l.str(r, "authorizationType", false); ok {
				set(m, "authorizationType", s, pos(n))
			}
			if v, n, ok := l.boolean(r, "apiKeyRequired"); ok {
				set(m, "apiKeyRequired", v, pos(n))
			}
		case tStage:
			api := l.refTo(r, "apiId", true, tAPI)
			name, nn, _ := l.str(r, "name", true)
			if api == nil || name == "" {
				continue
			}
			m := b.mapping(pos(nn), "apis", api.name, "stages", name)
			if v, n, ok := l.boolean(r, "autoDeploy"); ok {
				set(m, "autoDeploy", v, pos(n))
			}
			if v, n, ok := l.prop(r, "stageVariables"); ok {
				if sv, ok := l.strMap(r, n, v, "stageVariables"); ok {
					set(m, "stageVariables", sv, pos(n))
				}
			}
		}
	}
}

// appendTo appends v to the list field of role r in the spec.
func (l *loader) appendTo(b *builder, r *resource, field string, v any, p spec.Pos) {
	m := b.mapping(pos(r.node), "roles", r.name)
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

// object turns a bucket object into its bucket's contents directory: the
// object's key must be its source file's name, and every object of a
// bucket must come from one directory (all of which is uploaded).
func (l *loader) object(b *builder, r *resource) {
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
	if key != filepath.Base(a.path) {
		l.errorf(kn, "resource %s: key %q must be the source file's name %q (Portico uploads a directory)", r.name, key, filepath.Base(a.path))
		return
	}
	dir := codePath(filepath.Dir(a.path))
	m := b.mapping(pos(bucket.node), "buckets", bucket.computed(l)["id"].(string))
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
