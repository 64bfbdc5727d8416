package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const schemaFile = "../../schema/portico.schema.json"

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
	}
	return s
}

// resolve follows a local "$ref" into "$defs".
func resolve(root, s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
}

// TestSchemaMatchesTypes: every yaml-tagged field of spec.go is a schema
// property with a description, and every schema property is a field.
func TestSchemaMatchesTypes(t *testing.T) {
	root := loadSchema(t)
	var walk func(path string, typ reflect.Type, s map[string]any)
	walk = func(path string, typ reflect.Type, s map[string]any) {
		s = resolve(root, s)
		if s["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties must be false", path)
		}
		props, _ := s["properties"].(map[string]any)
		names, index := yamlFields(typ)
		for _, name := range names {
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: field missing from the schema", path, name)
				continue
			}
			if d, _ := p["description"].(string); d == "" {
				t.Errorf("%s.%s: no description", path, name)
			}
			ft := typ.Field(index[name]).Type
			if ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Pointer && ft.Elem().Elem().Kind() == reflect.Struct {
				elem, ok := p["additionalProperties"].(map[string]any)
				if !ok {
					t.Errorf("%s.%s: want additionalProperties with the element schema", path, name)
					continue
				}
				walk(path+"."+name+".*", ft.Elem().Elem(), elem)
			}
			if isStructPtr(ft) {
				walk(path+"."+name, ft.Elem(), p)
			}
			if ft.Kind() == reflect.Slice && isStructPtr(ft.Elem()) {
				items, ok := p["items"].(map[string]any)
				if !ok {
					t.Errorf("%s.%s: want items with the element schema", path, name)
					continue
				}
				walk(path+"."+name+"[]", ft.Elem().Elem(), items)
			}
		}
		for name := range props {
			if _, ok := index[name]; !ok {
				t.Errorf("%s.%s: schema property has no field in spec.go", path, name)
			}
		}
	}
	walk("spec", reflect.TypeFor[Spec](), root)
}

// validateSchema is a small JSON Schema evaluator covering the keywords
// the Portico schema uses: type, enum, const, minimum, maximum, pattern,
// minLength, properties, required, additionalProperties, propertyNames,
// maxProperties, items, minItems, maxItems, oneOf, allOf, if/then and
// local $ref.
func validateSchema(root, s map[string]any, v any, path string) []string {
	s = resolve(root, s)
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if one, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, alt := range one {
			if len(validateSchema(root, alt.(map[string]any), v, path)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf", n)
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, validateSchema(root, sub.(map[string]any), v, path)...)
		}
	}
	if cond, ok := s["if"].(map[string]any); ok && len(validateSchema(root, cond, v, path)) == 0 {
		if then, ok := s["then"].(map[string]any); ok {
			errs = append(errs, validateSchema(root, then, v, path)...)
		}
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v is not %v", v, c)
	}
	if tv, ok := s["type"]; ok {
		var types []string
		switch tv := tv.(type) {
		case string:
			types = []string{tv}
		case []any:
			for _, x := range tv {
				types = append(types, x.(string))
			}
		}
		if !slices.Contains(types, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
			fail("type %s, want %v", jsonType(v), types)
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(fmt.Sprint(v))) {
		fail("%v not in enum %v", v, enum)
	}
	n, isNum := v.(float64)
	if i, ok := v.(int); ok {
		n, isNum = float64(i), true
	}
	if isNum {
		if m, ok := s["minimum"].(float64); ok && n < m {
			fail("%v < minimum %v", v, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			fail("%v > maximum %v", v, m)
		}
	}
	if str, ok := v.(string); ok {
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		if m, ok := s["minLength"].(float64); ok && float64(len(str)) < m {
			fail("shorter than %v", m)
		}
	}
	if l, ok := v.([]any); ok {
		if m, ok := s["minItems"].(float64); ok && float64(len(l)) < m {
			fail("fewer than %v items", m)
		}
		if m, ok := s["maxItems"].(float64); ok && float64(len(l)) > m {
			fail("more than %v items", m)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range l {
				errs = append(errs, validateSchema(root, items, e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	if m, ok := v.(map[string]any); ok {
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				fail("missing required %s", r)
			}
		}
		if mp, ok := s["maxProperties"].(float64); ok && float64(len(m)) > mp {
			fail("more than %v properties", mp)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if pn, ok := s["propertyNames"].(map[string]any); ok {
				errs = append(errs, validateSchema(root, pn, k, path+"."+k+"(name)")...)
			}
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, validateSchema(root, p, m[k], path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown property %s", k)
				}
			case map[string]any:
				errs = append(errs, validateSchema(root, ap, m[k], path+"."+k)...)
			}
		}
	}
	return errs
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, int64:
		return "integer"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func TestSchemaAcceptsSeed(t *testing.T) {
	root := loadSchema(t)
	var doc any
	// Quote the policy Version so YAML does not read it as a timestamp
	// (editors' YAML language servers treat it as a string too).
	text := strings.ReplaceAll(seedYAML, "Version: 2012-10-17", `Version: "2012-10-17"`)
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	if errs := validateSchema(root, root, doc, "spec"); len(errs) > 0 {
		t.Errorf("seed example does not validate:\n%s", strings.Join(errs, "\n"))
	}
}

func TestSchemaRejects(t *testing.T) {
	root := loadSchema(t)
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"unknown top-level", "function: {}", "spec: unknown property function"},
		{"unknown function field", "functions: {f: {runtime: python3.12, code: app, tmeout: 3}}", "spec.functions.f: unknown property tmeout"},
		{"bad runtime", "functions: {f: {runtime: java21, code: app}}", "spec.functions.f.runtime: java21 not in enum"},
		{"missing code", "functions: {f: {runtime: python3.12}}", "spec.functions.f: missing required code"},
		{"timeout range", "functions: {f: {runtime: python3.12, code: a, timeout: 901}}", "spec.functions.f.timeout: 901 > maximum 900"},
		{"integration type", "apis: {a: {integrations: {i: {type: MOCK}}}}", "spec.apis.a.integrations.i.type: MOCK not in enum"},
		{"route key", "apis: {a: {routes: {'get /': {integration: i}}}}", "spec.apis.a.routes.get /(name)"},
		{"stage variable value", "apis: {a: {stages: {v1: {stageVariables: {x: 'a b'}}}}}", "spec.apis.a.stages.v1.stageVariables.x"},
		{"policy shape", "roles: {r: {policies: [{Statement: {}}]}}", "spec.roles.r.policies[0]: matches 0 of oneOf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			errs := strings.Join(validateSchema(root, root, doc, "spec"), "\n")
			if !strings.Contains(errs, tt.want) {
				t.Errorf("errors %q do not contain %q", errs, tt.want)
			}
		})
	}
}
