package pulumi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// dialect is what differs between the Python and TypeScript printers.
type dialect struct {
	python bool
}

// name is a camelCase plan name in the dialect's style.
func (d dialect) name(s string) string {
	if !d.python {
		return s
	}
	return snake(s)
}

// snake converts camelCase (with acronyms: apiGETRoute) to snake_case.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quote renders s as a string literal both Python and TypeScript read as
// s (JSON's escapes are a subset of both).
func quote(s string) string {
	data, _ := json.Marshal(s)
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(data))
}

// ref renders a resource output.
func (d dialect) ref(r ref) string {
	v := d.name(r.v)
	if r.attr == "" {
		return v
	}
	parts := strings.Split(r.attr, ".")
	for i, p := range parts {
		parts[i] = d.name(p)
	}
	return v + "." + strings.Join(parts, ".")
}

const indentUnit = "    "

// expr renders v at indentation level ind (continuation lines start with
// ind+1 units; the closing bracket with ind units).
func (d dialect) expr(v value, ind int) string {
	in := strings.Repeat(indentUnit, ind)
	in1 := in + indentUnit
	switch v := v.(type) {
	case str:
		return quote(string(v))
	case integer:
		return strconv.Itoa(int(v))
	case float:
		return strconv.FormatFloat(float64(v), 'g', -1, 64)
	case boolean:
		if d.python {
			return map[bool]string{true: "True", false: "False"}[bool(v)]
		}
		return strconv.FormatBool(bool(v))
	case ref:
		return d.ref(v)
	case configOf:
		// Unset, the value is "" (as the Go program's ctx.GetConfig), which
		// AWS refuses with a message naming the field.
		if d.python {
			return "config.get(" + quote(v.key) + ") or \"\""
		}
		return "config.get(" + quote(v.key) + ") ?? \"\""
	case optional:
		return d.expr(v.val, ind)
	case concat:
		if d.python {
			parts := make([]string, len(v))
			for i, e := range v {
				parts[i] = d.expr(e, ind)
			}
			return "pulumi.Output.concat(" + strings.Join(parts, ", ") + ")"
		}
		var b strings.Builder
		b.WriteString("pulumi.interpolate`")
		for _, e := range v {
			if s, ok := e.(str); ok {
				b.WriteString(strings.NewReplacer("\\", "\\\\", "`", "\\`", "${", "\\${").Replace(string(s)))
			} else {
				b.WriteString("${" + d.expr(e, ind) + "}")
			}
		}
		b.WriteString("`")
		return b.String()
	case list:
		if len(v) == 0 {
			return "[]"
		}
		simple := true
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = d.expr(e, ind+1)
			if _, ok := e.(object); ok {
				simple = false
			}
		}
		if line := "[" + strings.Join(parts, ", ") + "]"; simple && len(line) < 80 {
			return line
		}
		return "[\n" + in1 + strings.Join(parts, ",\n"+in1) + ",\n" + in + "]"
	case userMap:
		var b strings.Builder
		b.WriteString("{\n")
		for _, kv := range v {
			sep := ": "
			b.WriteString(in1 + quote(kv[0]) + sep + quote(kv[1]) + ",\n")
		}
		return b.String() + in + "}"
	case object:
		if len(v) == 0 {
			return "{}"
		}
		var b strings.Builder
		b.WriteString("{\n")
		for _, f := range v {
			key := d.name(f.name)
			if d.python {
				key = quote(key)
			}
			b.WriteString(in1 + key + ": " + d.expr(f.val, ind+1) + ",\n")
		}
		return b.String() + in + "}"
	case archive:
		if d.python {
			return "pulumi.FileArchive(" + quote(string(v)) + ")"
		}
		return "new pulumi.asset.FileArchive(" + quote(string(v)) + ")"
	case asset:
		if d.python {
			return "pulumi.FileAsset(" + quote(string(v)) + ")"
		}
		return "new pulumi.asset.FileAsset(" + quote(string(v)) + ")"
	case assets:
		ctor := "new pulumi.asset.AssetArchive({\n"
		if d.python {
			ctor = "pulumi.AssetArchive({\n"
		}
		var b strings.Builder
		b.WriteString(ctor)
		for _, a := range v {
			b.WriteString(in1 + quote(a.name) + ": " + d.expr(asset(a.path), ind+1) + ",\n")
		}
		return b.String() + in + "})"
	case jsonDoc:
		if d.python {
			return "json.dumps(" + d.literal(v.v, ind) + ")"
		}
		return "JSON.stringify(" + d.literal(v.v, ind) + ")"
	case destPol:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = d.expr(e, ind)
		}
		if d.python {
			return "pulumi.Output.all(" + strings.Join(parts, ", ") + ").apply(destination_policy)"
		}
		return "pulumi.all([" + strings.Join(parts, ", ") + "]).apply(destinationPolicy)"
	}
	panic(fmt.Sprintf("export pulumi: no rendering for %T (a bug)", v))
}

// literal renders a decoded JSON value as a Python or JavaScript literal.
func (d dialect) literal(v any, ind int) string {
	in := strings.Repeat(indentUnit, ind)
	in1 := in + indentUnit
	switch v := v.(type) {
	case nil:
		if d.python {
			return "None"
		}
		return "null"
	case bool:
		return d.expr(boolean(v), ind)
	case json.Number:
		return v.String()
	case string:
		return quote(v)
	case []any:
		if len(v) == 0 {
			return "[]"
		}
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = d.literal(e, ind+1)
		}
		if line := "[" + strings.Join(parts, ", ") + "]"; !strings.Contains(line, "\n") && len(line) < 60 {
			return line
		}
		return "[\n" + in1 + strings.Join(parts, ",\n"+in1) + ",\n" + in + "]"
	case map[string]any:
		if len(v) == 0 {
			return "{}"
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range keys {
			b.WriteString(in1 + quote(k) + ": " + d.literal(v[k], ind+1) + ",\n")
		}
		return b.String() + in + "}"
	}
	panic(fmt.Sprintf("export pulumi: no literal for %T (a bug)", v))
}

// comments renders lines as the dialect's comments at indentation in.
func (d dialect) comments(lines []string, in string) string {
	mark := "// "
	if d.python {
		mark = "# "
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimRight(in+mark+l, " ") + "\n")
	}
	return b.String()
}

// module is the SDK's module name for a plan's module.
func (d dialect) module(mod string) string {
	if d.python && mod == "lambda" {
		return "lambda_" // lambda is a Python keyword
	}
	return mod
}

// resource renders one declaration.
func (d dialect) resource(p *plan, r *resource) string {
	var b strings.Builder
	if r.v != "" && p.used[r.v] {
		if d.python {
			b.WriteString(d.name(r.v) + " = ")
		} else {
			b.WriteString("const " + r.v + " = ")
		}
	}
	ctor := "aws." + d.module(r.mod) + "." + r.class
	if d.python {
		b.WriteString(ctor + "(\n")
		b.WriteString(indentUnit + quote(r.name) + ",\n")
		for _, f := range r.args {
			b.WriteString(indentUnit + d.name(f.name) + "=" + d.expr(f.val, 1) + ",\n")
		}
		if len(r.dependsOn) > 0 {
			b.WriteString(indentUnit + "opts=pulumi.ResourceOptions(depends_on=" + d.varList(r.dependsOn, 1) + "),\n")
		}
		b.WriteString(d.comments(r.argsComments, indentUnit))
		b.WriteString(")\n")
		return b.String()
	}
	b.WriteString("new " + ctor + "(" + quote(r.name) + ", {\n")
	for _, f := range r.args {
		b.WriteString(indentUnit + f.name + ": " + d.expr(f.val, 1) + ",\n")
	}
	b.WriteString(d.comments(r.argsComments, indentUnit))
	b.WriteString("}")
	if len(r.dependsOn) > 0 {
		b.WriteString(", { dependsOn: " + d.varList(r.dependsOn, 0) + " }")
	}
	b.WriteString(");\n")
	return b.String()
}

func (d dialect) varList(vs []string, ind int) string {
	l := make(list, len(vs))
	for i, v := range vs {
		l[i] = ref{v: v}
	}
	return d.expr(l, ind)
}

// tsIdent makes an export name a TypeScript identifier.
func tsIdent(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == '_' || r == '$' || r < unicode.MaxASCII && (unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// source renders the whole program: __main__.py or index.ts.
func (d dialect) source(p *plan, file string) []byte {
	var b strings.Builder
	header := []string{
		fmt.Sprintf("Code generated by portico export pulumi from %s. Edit freely.", file),
		fmt.Sprintf("It deploys the system of %s to AWS with Pulumi: see README.md.", file),
	}
	b.WriteString(d.comments(header, ""))
	if d.python {
		if p.json || p.destinations {
			b.WriteString("import json\n\n")
		}
		b.WriteString("import pulumi\nimport pulumi_aws as aws\n")
	} else {
		b.WriteString("import * as pulumi from \"@pulumi/pulumi\";\nimport * as aws from \"@pulumi/aws\";\n")
	}
	if len(p.notes) > 0 {
		b.WriteString("\n")
		lines := []string{"Portico extensions this program leaves out (AWS HTTP APIs lack them):"}
		for _, n := range p.notes {
			lines = append(lines, "  - "+n)
		}
		b.WriteString(d.comments(lines, ""))
	}
	if p.destinations {
		if d.python {
			b.WriteString(pythonDestinationPolicy)
		} else {
			b.WriteString(tsDestinationPolicy)
		}
	}
	if p.config {
		if d.python {
			b.WriteString("\nconfig = pulumi.Config()\n")
		} else {
			b.WriteString("\nconst config = new pulumi.Config();\n")
		}
	}
	b.WriteString("\n")
	blank := true
	for _, s := range p.stmts {
		if s.res == nil {
			if !blank {
				b.WriteString("\n")
			}
			blank = true
			continue
		}
		b.WriteString(d.comments(s.comments, ""))
		b.WriteString(d.resource(p, s.res))
		blank = false
	}
	if !blank {
		b.WriteString("\n")
	}
	for _, e := range p.exports {
		if d.python {
			fmt.Fprintf(&b, "pulumi.export(%s, %s)\n", quote(e.name), d.expr(e.val, 0))
		} else {
			fmt.Fprintf(&b, "export const %s = %s;\n", tsIdent(e.name), d.expr(e.val, 0))
		}
	}
	return []byte(strings.TrimRight(b.String(), "\n") + "\n")
}

const pythonDestinationPolicy = `

def destination_policy(arns):
    """Allows invoking the given function ARNs (a function's asynchronous
    invocation destinations)."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "` + DestinationsSid + `",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": arns,
        }],
    })

`

const tsDestinationPolicy = `
// destinationPolicy allows invoking the given function ARNs (a function's
// asynchronous invocation destinations).
function destinationPolicy(arns: string[]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Sid: "` + DestinationsSid + `",
            Effect: "Allow",
            Action: "lambda:InvokeFunction",
            Resource: arns,
        }],
    });
}
`
