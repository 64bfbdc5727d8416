package pulumiyaml

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

// archive is the value of fn::fileArchive (and of an fn::assetArchive
// holding one "." file archive).
type archive struct {
	path string
	pos  spec.Pos
}

// asset is the value of fn::fileAsset.
type asset struct {
	path string
	pos  spec.Pos
}

// evalErr is a positioned problem found while evaluating.
type evalErr struct {
	pos spec.Pos
	msg string
}

func (e *evalErr) Error() string { return e.msg }

func errAt(n *yaml.Node, format string, args ...any) *evalErr {
	return &evalErr{pos: pos(n), msg: fmt.Sprintf(format, args...)}
}

// eval evaluates an expression node to a plain value: string, int,
// float64, bool, nil, []any, map[string]any, archive or asset.
func (l *loader) eval(n *yaml.Node) (any, *evalErr) {
	switch n.Kind {
	case yaml.AliasNode:
		return l.eval(n.Alias)
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int":
			v, err := strconv.Atoi(n.Value)
			if err != nil {
				return nil, errAt(n, "bad integer %q", n.Value)
			}
			return v, nil
		case "!!float":
			v, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				return nil, errAt(n, "bad number %q", n.Value)
			}
			return v, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, errAt(n, "bad boolean %q", n.Value)
			}
			return b, nil
		case "!!null":
			return nil, nil
		}
		return l.interpolate(n)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := l.eval(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		if len(n.Content) == 2 && strings.HasPrefix(n.Content[0].Value, "fn::") {
			return l.builtin(n.Content[0], n.Content[1])
		}
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.HasPrefix(n.Content[i].Value, "fn::") {
				return nil, errAt(n.Content[i], "%s must be the only key of its mapping", n.Content[i].Value)
			}
			v, err := l.eval(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	}
	return nil, errAt(n, "unsupported expression")
}

func (l *loader) builtin(k, arg *yaml.Node) (any, *evalErr) {
	switch k.Value {
	case "fn::fileArchive", "fn::fileAsset":
		v, err := l.eval(arg)
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, errAt(arg, "%s: want a path string", k.Value)
		}
		if k.Value == "fn::fileAsset" {
			return asset{path: s, pos: pos(arg)}, nil
		}
		return archive{path: s, pos: pos(arg)}, nil
	case "fn::assetArchive":
		// Two forms carry a code directory: {".": fn::fileArchive DIR}, and,
		// for provided runtimes, {"bootstrap": fn::fileAsset DIR/bootstrap}
		// (as `portico export pulumi` writes it), whose directory holds the
		// bootstrap or the Go sources Portico builds it from.
		const want = `fn::assetArchive: want {".": fn::fileArchive DIR} or {"bootstrap": fn::fileAsset DIR/bootstrap}`
		if arg.Kind != yaml.MappingNode || len(arg.Content) != 2 {
			return nil, errAt(arg, want)
		}
		v, err := l.eval(arg.Content[1])
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case archive:
			if arg.Content[0].Value == "." {
				return x, nil
			}
		case asset:
			if arg.Content[0].Value == "bootstrap" && filepath.Base(x.path) == "bootstrap" {
				return archive{path: filepath.Dir(x.path), pos: x.pos}, nil
			}
		}
		return nil, errAt(arg.Content[0], want)
	case "fn::join":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 2 {
			return nil, errAt(arg, "fn::join: want [separator, [values...]]")
		}
		sepV, err := l.eval(arg.Content[0])
		if err != nil {
			return nil, err
		}
		sep, ok := sepV.(string)
		if !ok {
			return nil, errAt(arg.Content[0], "fn::join: separator must be a string")
		}
		itemsV, err := l.eval(arg.Content[1])
		if err != nil {
			return nil, err
		}
		items, ok := itemsV.([]any)
		if !ok {
			return nil, errAt(arg.Content[1], "fn::join: values must be a list")
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, ok := scalarString(it)
			if !ok {
				return nil, errAt(arg.Content[1], "fn::join: value %d is not a string", i)
			}
			parts[i] = s
		}
		return strings.Join(parts, sep), nil
	case "fn::toJSON":
		v, err := l.eval(arg)
		if err != nil {
			return nil, err
		}
		b, jerr := json.Marshal(v)
		if jerr != nil {
			return nil, errAt(arg, "fn::toJSON: %v", jerr)
		}
		return string(b), nil
	}
	return nil, errAt(k, "unsupported function %s (supported: fn::fileArchive, fn::fileAsset, fn::assetArchive, fn::join, fn::toJSON)", k.Value)
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int, float64, bool:
		return fmt.Sprint(x), true
	}
	return "", false
}

// interpolate expands ${ref} in a string scalar; "$${" is a literal "${".
// A string that is exactly one ${ref} keeps the referenced value's type.
func (l *loader) interpolate(n *yaml.Node) (any, *evalErr) {
	s := n.Value
	if strings.HasPrefix(s, "${") && strings.Index(s, "}") == len(s)-1 {
		return l.ref(n, s[2:len(s)-1])
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, errAt(n, "unterminated ${ in %q", n.Value)
		}
		v, err := l.ref(n, s[i+2:i+j])
		if err != nil {
			return nil, err
		}
		str, ok := scalarString(v)
		if !ok {
			return nil, errAt(n, "${%s} is not a string and cannot be interpolated", s[i+2:i+j])
		}
		b.WriteString(s[:i] + str)
		s = s[i+j+1:]
	}
}

// ref resolves "name" or "name.prop[.prop...]".
func (l *loader) ref(n *yaml.Node, expr string) (any, *evalErr) {
	parts := strings.Split(expr, ".")
	name := parts[0]
	if name == "" {
		return nil, errAt(n, "empty reference ${%s}", expr)
	}
	var v any
	if r, ok := l.res[name]; ok {
		if len(parts) == 1 {
			return r.computed(l)["id"], nil
		}
		var err *evalErr
		v, err = l.output(n, r, parts[1])
		if err != nil {
			return nil, err
		}
		parts = parts[2:]
	} else if vn, ok := l.vars[name]; ok {
		if l.visiting[vn] {
			return nil, errAt(n, "variable %s refers to itself", name)
		}
		l.visiting[vn] = true
		var err *evalErr
		v, err = l.eval(vn)
		delete(l.visiting, vn)
		if err != nil {
			return nil, err
		}
		parts = parts[1:]
	} else {
		return nil, errAt(n, "${%s}: no resource or variable named %q", expr, name)
	}
	for _, p := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errAt(n, "${%s}: %s is not a mapping", expr, p)
		}
		if v, ok = m[p]; !ok {
			return nil, errAt(n, "${%s}: no property %q", expr, p)
		}
	}
	return v, nil
}

// output is the value of resource r's output prop: a computed one (id,
// arn, invokeArn, apiEndpoint, ...) or one of its input properties.
func (l *loader) output(n *yaml.Node, r *resource, prop string) (any, *evalErr) {
	if v, ok := r.computed(l)[prop]; ok {
		return v, nil
	}
	if r.typ == tStage && prop == "invokeUrl" {
		return l.invokeURL(n, r)
	}
	pn := get(r.props, prop)
	if pn == nil {
		return nil, errAt(n, "resource %s (%s) has no output %q", r.name, r.typ, prop)
	}
	if l.visiting[pn] {
		return nil, errAt(n, "resource %s: property %s refers to itself", r.name, prop)
	}
	l.visiting[pn] = true
	defer delete(l.visiting, pn)
	return l.eval(pn)
}

// invokeURL is stage r's invokeUrl output; it depends on the stage's API.
func (l *loader) invokeURL(n *yaml.Node, r *resource) (any, *evalErr) {
	apiID, err := l.output(n, r, "apiId")
	if err != nil {
		return nil, err
	}
	name, err := l.output(n, r, "name")
	if err != nil {
		return nil, err
	}
	id, _ := apiID.(string)
	api := l.find(id, tAPI)
	stage, _ := name.(string)
	if api == nil || stage == "" {
		return nil, errAt(n, "resource %s: invokeUrl needs apiId to name an API of this program and a name", r.name)
	}
	return InvokeURL(api.computed(l)["apiEndpoint"].(string), stage), nil
}
