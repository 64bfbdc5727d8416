package pulumiyaml

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

// A Registration is one resource a running Pulumi program (in any
// language) registered with the resource monitor, its inputs already
// resolved to plain values.
type Registration struct {
	Type, Name string
	// Inputs holds string, float64, bool, nil, []any, map[string]any,
	// Archive and Asset values.
	Inputs map[string]any
	// Origin is where the program registered the resource (the SDKs send
	// the caller's source position); errors about the resource point there.
	Origin Origin
}

// Origin is a position in a program's source.
type Origin struct {
	File      string
	Line, Col int
}

// Archive is an archive input: a file archive (Path), an asset archive
// (Assets, each an Archive or Asset) or a remote one (URI).
type Archive struct {
	Path   string
	Assets map[string]any
	URI    string
}

// Asset is an asset input: a file (Path), literal text (Text) or a remote
// one (URI).
type Asset struct {
	Path, Text, URI string
}

// Outputs returns the ID and outputs AWS would give the resource reg
// registers (its inputs with the computed outputs — ARNs, invoke ARN,
// endpoint — over them). They are the values FromRegistrations resolves
// references by, so a monitor answers registrations with them.
func Outputs(project string, reg Registration, opts Options) (string, map[string]any) {
	literal := func(key string) (string, bool) {
		s, ok := reg.Inputs[key].(string)
		return s, ok && s != ""
	}
	out := make(map[string]any, len(reg.Inputs)+8)
	for k, v := range reg.Inputs {
		out[k] = v
	}
	computed := awsOutputs(project, reg.Type, reg.Name, literal, opts)
	for k, v := range computed {
		out[k] = v
	}
	delete(out, "urn")
	return computed["id"].(string), out
}

// FromRegistrations loads the resources a Pulumi program registered into
// the resource model, by the same rules as a Pulumi YAML program: the
// registrations are written down as the equivalent YAML program (each
// value a literal) and loaded. Relative archive paths are resolved against
// dir, the program's directory. outputs are the program's stack outputs.
// Errors are positioned at each resource's Origin.
func FromRegistrations(dir, project string, regs []Registration, outputs []Output, opts Options) (*Program, error) {
	res := &yaml.Node{Kind: yaml.MappingNode}
	origins := make([]Origin, len(regs))
	for i, reg := range regs {
		line := i + 1
		origins[i] = reg.Origin
		props := &yaml.Node{Kind: yaml.MappingNode, Line: line, Column: 1}
		for _, k := range sortedKeys(reg.Inputs) {
			props.Content = append(props.Content, scalar(k, "!!str", line), inputNode(reg.Inputs[k], line))
		}
		body := &yaml.Node{Kind: yaml.MappingNode, Line: line, Column: 1, Content: []*yaml.Node{
			scalar("type", "!!str", line), scalar(reg.Type, "!!str", line),
			scalar("properties", "!!str", line), props,
		}}
		res.Content = append(res.Content, scalar(reg.Name, "!!str", line), body)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar("name", "!!str", 0), scalar(project, "!!str", 0),
		scalar("runtime", "!!str", 0), scalar("yaml", "!!str", 0),
		scalar("resources", "!!str", 0), res,
	}}
	file := filepath.Join(dir, ProjectFile)
	l := &loader{file: file, progFile: file, dir: dir, opts: opts, origins: origins}
	p, err := l.load(doc, doc, nil)
	if err != nil {
		return nil, err
	}
	p.Outputs = outputs
	return p, nil
}

func scalar(v, tag string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Line: line, Column: 1}
}

// inputNode writes an input value as a literal YAML expression: strings
// escape "${", integral numbers are integers, archives and assets are the
// fn:: calls that make them.
func inputNode(v any, line int) *yaml.Node {
	fn := func(name string, arg *yaml.Node) *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Line: line, Column: 1, Content: []*yaml.Node{scalar(name, "!!str", line), arg}}
	}
	switch x := v.(type) {
	case nil:
		return scalar("null", "!!null", line)
	case string:
		return scalar(strings.ReplaceAll(x, "${", "$${"), "!!str", line)
	case bool:
		return scalar(strconv.FormatBool(x), "!!bool", line)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return scalar(strconv.FormatInt(int64(x), 10), "!!int", line)
		}
		return scalar(strconv.FormatFloat(x, 'g', -1, 64), "!!float", line)
	case int:
		return scalar(strconv.Itoa(x), "!!int", line)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Line: line, Column: 1}
		for _, e := range x {
			n.Content = append(n.Content, inputNode(e, line))
		}
		return n
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Line: line, Column: 1}
		for _, k := range sortedKeys(x) {
			n.Content = append(n.Content, scalar(k, "!!str", line), inputNode(x[k], line))
		}
		return n
	case Archive:
		switch {
		case x.Assets != nil:
			return fn("fn::assetArchive", inputNode(x.Assets, line))
		case x.URI != "":
			return fn("fn::remoteArchive", scalar(x.URI, "!!str", line))
		}
		return fn("fn::fileArchive", scalar(x.Path, "!!str", line))
	case Asset:
		switch {
		case x.Text != "":
			return fn("fn::stringAsset", scalar(x.Text, "!!str", line))
		case x.URI != "":
			return fn("fn::remoteAsset", scalar(x.URI, "!!str", line))
		}
		return fn("fn::fileAsset", scalar(x.Path, "!!str", line))
	}
	return scalar(fmt.Sprint(v), "!!str", line)
}

// place maps a position in the program the loader reads to its origin:
// itself for a YAML program; for registrations, the source position of the
// resource written on that line.
func (l *loader) place(p spec.Pos) (string, spec.Pos) {
	if l.origins == nil {
		return l.progFile, p
	}
	if p.Line >= 1 && p.Line <= len(l.origins) {
		if o := l.origins[p.Line-1]; o.File != "" {
			return o.File, spec.Pos{Line: o.Line, Col: max(o.Col, 1)}
		}
	}
	return l.progFile, spec.Pos{Line: 1, Col: 1}
}

// where names the position of n for warnings: "Pulumi.yaml:LINE:COL" in a
// YAML program; for registrations the resource's origin, "index.ts:LINE:COL",
// or "main.go:LINE" when the SDK sends no column (Go's, Python's).
func (l *loader) where(n *yaml.Node) string {
	f, p := l.place(pos(n))
	if i := n.Line - 1; l.origins != nil && i >= 0 && i < len(l.origins) && l.origins[i].Col == 0 {
		return fmt.Sprintf("%s:%d", filepath.Base(f), p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", filepath.Base(f), p.Line, p.Col)
}
