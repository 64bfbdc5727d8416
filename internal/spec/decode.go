package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the work of one decode, so that alias bombs (anchors
// referenced many times, or referencing themselves) fail instead of
// running away.
const maxNodes = 200_000

// posKey names a place in the decoded spec: the value of a struct field
// (p is a pointer to the field), or an entry of a map or list field (p is a
// pointer to the field, k the entry's key or index).
type posKey struct {
	p   any
	k   string
	key bool // the position of the key rather than of the value
}

// positions records where each decoded value came from, for validation
// messages. A field without a recorded position was absent (or null) in
// the file and gets its default.
type positions map[posKey]Pos

func (ps positions) at(p any) (Pos, bool) { v, ok := ps[posKey{p: p}]; return v, ok }

// or returns the position of the field p, or def when it was not given.
func (ps positions) or(p any, def Pos) Pos {
	if v, ok := ps[posKey{p: p}]; ok {
		return v
	}
	return def
}

func (ps positions) entry(p any, k string, def Pos) Pos {
	if v, ok := ps[posKey{p: p, k: k}]; ok {
		return v
	}
	return def
}

func (ps positions) entryKey(p any, k string, def Pos) Pos {
	if v, ok := ps[posKey{p: p, k: k, key: true}]; ok {
		return v
	}
	return def
}

type decoder struct {
	*errs
	pos    positions
	broken map[any]bool // resources whose body was not a mapping
	nodes  int
	over   bool

	// anyNodes keeps the YAML node of each entry of a list of free-form
	// values (role policies), keyed as pos is, so that validation can point
	// inside the value.
	anyNodes nodeMap
}

func nodePos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

var digits = regexp.MustCompile(`^[-+]?[0-9_]+$`)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error into a positioned message.
func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	p := Pos{Line: 1, Col: 1}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			p.Line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.add(p, "yaml syntax: %s", msg)
}

// document reads the single YAML document of data, or reports why there
// is not exactly one mapping document.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add(Pos{1, 1}, "empty spec file: want a mapping with functions, roles, buckets or apis")
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.add(nodePos(&next), "multiple YAML documents: a spec file holds exactly one")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		d.add(nodePos(&doc), "empty spec file: want a mapping with functions, roles, buckets or apis")
		return nil
	}
	root := d.deref(doc.Content[0])
	if root == nil {
		return nil
	}
	if isNull(root) {
		d.add(nodePos(root), "empty spec file: want a mapping with functions, roles, buckets or apis")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.add(nodePos(root), "spec must be a mapping, got %s", describe(root))
		return nil
	}
	return root
}

// deref follows aliases and counts the node against the budget; it returns
// nil once the budget is spent.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			d.add(nodePos(n), "alias chain too long")
			return nil
		}
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	d.nodes++
	if d.nodes > maxNodes {
		if !d.over {
			d.over = true
			d.add(nodePos(n), "spec too large: more than %d YAML nodes (after expanding aliases)", maxNodes)
		}
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!merge":
		default:
			d.add(nodePos(n), "unsupported YAML tag %s", n.Tag)
			return nil
		}
	case yaml.MappingNode:
		if n.ShortTag() != "!!map" {
			d.add(nodePos(n), "unsupported YAML tag %s", n.Tag)
			return nil
		}
	case yaml.SequenceNode:
		if n.ShortTag() != "!!seq" {
			d.add(nodePos(n), "unsupported YAML tag %s", n.Tag)
			return nil
		}
	case yaml.DocumentNode:
		d.add(nodePos(n), "unexpected nested document")
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!int":
			return "integer " + n.Value
		case "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!null":
			return "null"
		case "!!timestamp":
			return "timestamp " + n.Value
		}
	}
	return "a " + n.Tag
}

// pairs walks the key/value pairs of a mapping node, reporting duplicate,
// non-scalar and merge keys; fn gets the resolved value, or is skipped.
func (d *decoder) pairs(n *yaml.Node, fn func(k, v *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.add(nodePos(k), "mapping key must be a scalar, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.add(nodePos(k), "merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(nodePos(k), "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		if v = d.deref(v); v == nil {
			continue
		}
		fn(k, v)
	}
}

// yamlFields lists the yaml-tagged fields of a struct type, in order.
func yamlFields(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		names = append(names, tag)
		index[tag] = i
	}
	return names, index
}

// kindNames are the resource kinds used in messages, by struct type name.
var kindNames = map[string]string{
	"Spec": "spec", "Function": "function", "Role": "role", "Bucket": "bucket", "API": "api",
	"Integration": "integration", "Route": "route", "Stage": "stage",
	"AccessKey": "access key", "UsagePlan": "usage plan", "APIKey": "api key", "AccountSettings": "account",
	"Authorizer": "authorizer", "JWTConfiguration": "jwtConfiguration", "Cors": "cors",
	"RouteSettings": "route settings", "PlanThrottle": "throttle", "PlanQuota": "quota", "PlanStage": "api stage",
	"Upstream": "upstream", "TokenLimits": "tokenLimits", "AccessLogSettings": "accessLogSettings", "Storage": "storage",
	"EventInvokeConfig": "eventInvokeConfig", "DestinationConfig": "destinationConfig", "Destination": "destination",
	"Permission": "permission", "BucketNotification": "notification",
}

// object decodes a mapping into the struct v by its yaml tags.
func (d *decoder) object(n *yaml.Node, v reflect.Value, label string) {
	if n.Kind != yaml.MappingNode {
		d.add(nodePos(n), "%s: expected a mapping, got %s", label, describe(n))
		return
	}
	names, index := yamlFields(v.Type())
	d.pairs(n, func(k, val *yaml.Node) {
		i, ok := index[k.Value]
		if !ok {
			d.add(nodePos(k), "unknown field %q in %s%s", k.Value, kindNames[v.Type().Name()], didYouMean(k.Value, names))
			return
		}
		if isNull(val) {
			return
		}
		f := v.Field(i)
		p := f.Addr().Interface()
		d.pos[posKey{p: p}] = nodePos(val)
		d.pos[posKey{p: p, key: true}] = nodePos(k)
		before := len(d.list)
		d.value(val, f, k.Value)
		if len(d.list) > before && f.Kind() != reflect.Map && f.Kind() != reflect.Slice && !isStructPtr(f.Type()) {
			// Already reported: treat the field as absent so that it
			// gets its default and draws no second complaint.
			delete(d.pos, posKey{p: p})
			f.Set(reflect.Zero(f.Type()))
		}
	})
}

// value decodes n (not null, alias resolved) into v.
func (d *decoder) value(n *yaml.Node, v reflect.Value, label string) {
	t := v.Type()
	switch {
	case t.Kind() == reflect.String:
		if s, ok := d.scalarString(n, label); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.Int:
		if i, ok := d.integer(n, label); ok {
			v.SetInt(int64(i))
		}
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Int:
		if i, ok := d.integer(n, label); ok {
			p := reflect.New(t.Elem())
			p.Elem().SetInt(int64(i))
			v.Set(p)
		}
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Int64:
		if i, ok := d.integer64(n, label); ok {
			p := reflect.New(t.Elem())
			p.Elem().SetInt(i)
			v.Set(p)
		}
	case t.Kind() == reflect.Float64:
		if x, ok := d.number(n, label); ok {
			v.SetFloat(x)
		}
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Float64:
		if x, ok := d.number(n, label); ok {
			p := reflect.New(t.Elem())
			p.Elem().SetFloat(x)
			v.Set(p)
		}
	case isStructPtr(t):
		// A nested object (cors, jwtConfiguration, throttle...). A body
		// that is not a mapping leaves the field nil: reported once here,
		// and treated as absent afterwards.
		if n.Kind != yaml.MappingNode {
			d.add(nodePos(n), "%s: expected a mapping, got %s", label, describe(n))
			return
		}
		p := reflect.New(t.Elem())
		if f := p.Elem().FieldByName("Pos"); f.IsValid() && f.Type() == reflect.TypeFor[Pos]() {
			f.Set(reflect.ValueOf(nodePos(n)))
		}
		d.object(n, p.Elem(), label)
		v.Set(p)
	case t.Kind() == reflect.Slice && isStructPtr(t.Elem()):
		d.objectList(n, v, label)
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.add(nodePos(n), "%s: expected a boolean, got %s", label, describe(n))
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.add(nodePos(n), "%s: expected a boolean, got %s", label, describe(n))
			return
		}
		v.SetBool(b)
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String:
		d.stringMap(n, v, label)
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Pointer && t.Elem().Elem().Kind() == reflect.Struct:
		d.resources(n, v, label)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		d.stringList(n, v, label)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Interface:
		if n.Kind != yaml.SequenceNode {
			d.add(nodePos(n), "%s: expected a list, got %s", label, describe(n))
			return
		}
		list := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			if e = d.deref(e); e == nil {
				continue
			}
			d.pos[posKey{p: v.Addr().Interface(), k: strconv.Itoa(len(list))}] = nodePos(e)
			if d.anyNodes != nil {
				d.anyNodes[posKey{p: v.Addr().Interface(), k: strconv.Itoa(len(list))}] = e
			}
			list = append(list, d.anyValue(e, 0))
		}
		v.Set(reflect.ValueOf(list))
	case t.Kind() == reflect.Interface:
		if a := d.anyValue(n, 0); a != nil {
			v.Set(reflect.ValueOf(a))
		}
	default:
		// Only reachable if spec.go gains a field type this decoder does
		// not know; say so rather than silently ignoring the field.
		d.add(nodePos(n), "%s: internal error: cannot decode into %s", label, t)
	}
}

func isStructPtr(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct
}

// objectList decodes a list of mappings into a []*T, recording each
// element's position under its index. Null or non-mapping elements are
// reported and dropped.
func (d *decoder) objectList(n *yaml.Node, v reflect.Value, label string) {
	if n.Kind != yaml.SequenceNode {
		d.add(nodePos(n), "%s: expected a list, got %s", label, describe(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, e := range n.Content {
		if e = d.deref(e); e == nil {
			continue
		}
		el := fmt.Sprintf("%s[%d]", label, i)
		if e.Kind != yaml.MappingNode {
			d.add(nodePos(e), "%s: expected a mapping, got %s", el, describe(e))
			continue
		}
		p := reflect.New(v.Type().Elem().Elem())
		d.pos[posKey{p: v.Addr().Interface(), k: strconv.Itoa(list.Len())}] = nodePos(e)
		d.object(e, p.Elem(), el)
		list = reflect.Append(list, p)
	}
	v.Set(list)
}

// number accepts an integer or a finite float (throttling rates are
// doubles on AWS).
func (d *decoder) number(n *yaml.Node, label string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.add(nodePos(n), "%s: expected a number, got %s", label, describe(n))
		return 0, false
	}
	var x float64
	if err := n.Decode(&x); err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		d.add(nodePos(n), "%s: expected a finite number, got %s", label, n.Value)
		return 0, false
	}
	return x, true
}

// scalarString accepts any scalar as text: YAML would read `2.0` or
// `true` as a number or boolean, but in a string field the author means
// the text.
func (d *decoder) scalarString(n *yaml.Node, label string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(nodePos(n), "%s: expected a string, got %s", label, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) integer(n *yaml.Node, label string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && digits.MatchString(n.Value) {
		// YAML reads integers too large for int64 as floats.
		d.add(nodePos(n), "%s: integer %s out of range", label, n.Value)
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.add(nodePos(n), "%s: expected an integer, got %s", label, describe(n))
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil || i > math.MaxInt32 || i < math.MinInt32 {
		d.add(nodePos(n), "%s: integer %s out of range", label, n.Value)
		return 0, false
	}
	return int(i), true
}

// integer64 accepts any integer that fits in an int64 (token counts).
func (d *decoder) integer64(n *yaml.Node, label string) (int64, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && digits.MatchString(n.Value) {
		d.add(nodePos(n), "%s: integer %s out of range", label, n.Value)
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.add(nodePos(n), "%s: expected an integer, got %s", label, describe(n))
		return 0, false
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		d.add(nodePos(n), "%s: integer %s out of range", label, n.Value)
		return 0, false
	}
	return i, true
}

func (d *decoder) stringMap(n *yaml.Node, v reflect.Value, label string) {
	if n.Kind != yaml.MappingNode {
		d.add(nodePos(n), "%s: expected a mapping, got %s", label, describe(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	d.pairs(n, func(k, val *yaml.Node) {
		d.pos[posKey{p: v.Addr().Interface(), k: k.Value, key: true}] = nodePos(k)
		d.pos[posKey{p: v.Addr().Interface(), k: k.Value}] = nodePos(val)
		s := ""
		if !isNull(val) {
			var ok bool
			if s, ok = d.scalarString(val, label+"."+k.Value); !ok {
				return
			}
		}
		m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(s))
	})
	v.Set(m)
}

func (d *decoder) stringList(n *yaml.Node, v reflect.Value, label string) {
	if n.Kind != yaml.SequenceNode {
		d.add(nodePos(n), "%s: expected a list, got %s", label, describe(n))
		return
	}
	list := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for _, e := range n.Content {
		if e = d.deref(e); e == nil {
			continue
		}
		s, ok := d.scalarString(e, label+"[]")
		if !ok {
			continue
		}
		d.pos[posKey{p: v.Addr().Interface(), k: strconv.Itoa(list.Len())}] = nodePos(e)
		list = reflect.Append(list, reflect.ValueOf(s))
	}
	v.Set(list)
}

// resources decodes a mapping of named resources (map[string]*T), setting
// each one's Name (or Key) and Pos from its key.
func (d *decoder) resources(n *yaml.Node, v reflect.Value, label string) {
	if n.Kind != yaml.MappingNode {
		d.add(nodePos(n), "%s: expected a mapping, got %s", label, describe(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	et := v.Type().Elem().Elem()
	d.pairs(n, func(k, val *yaml.Node) {
		r := reflect.New(et)
		if f := r.Elem().FieldByName("Name"); f.IsValid() {
			f.SetString(k.Value)
		} else if f := r.Elem().FieldByName("Key"); f.IsValid() {
			f.SetString(k.Value)
		}
		if f := r.Elem().FieldByName("Pos"); f.IsValid() {
			f.Set(reflect.ValueOf(nodePos(k)))
		}
		if !isNull(val) {
			if val.Kind != yaml.MappingNode {
				d.broken[r.Interface()] = true
			}
			d.object(val, r.Elem(), kindNames[et.Name()]+" "+strconv.Quote(k.Value))
		}
		m.SetMapIndex(reflect.ValueOf(k.Value), r)
	})
	v.Set(m)
}

// anyValue converts a free-form node (an IAM policy document) to plain Go
// values: map[string]any, []any, string, int64, float64, bool or nil. A
// string holding JSON text is left as a string here; normalising it is the
// validator's job.
func (d *decoder) anyValue(n *yaml.Node, depth int) any {
	if depth > 64 {
		d.add(nodePos(n), "document nested too deeply")
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		d.pairs(n, func(k, v *yaml.Node) { m[k.Value] = d.anyValue(v, depth+1) })
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			if e = d.deref(e); e != nil {
				l = append(l, d.anyValue(e, depth+1))
			}
		}
		return l
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return i
			}
		case "!!float":
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		}
		return n.Value
	}
	return nil
}

// jsonDocument parses JSON text holding an object.
func jsonDocument(s string) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if m == nil {
		return nil, errors.New("want a JSON object")
	}
	return m, nil
}
