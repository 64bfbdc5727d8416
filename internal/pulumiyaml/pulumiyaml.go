// Package pulumiyaml loads Pulumi YAML programs (Pulumi.yaml with
// `runtime: yaml`) into Portico's resource model.
//
// Load evaluates the program (variables, ${resource.property}
// interpolation, fn::fileArchive, fn::assetArchive, fn::fileAsset,
// fn::join, fn::toJSON), translates the supported AWS resources into a
// portico spec document and parses that document with spec.Parse, so that
// every rule of the spec applies. Every error, including those found by
// spec validation, is positioned file:line:col in the Pulumi program.
// Nothing is deployed and no process is started.
package pulumiyaml

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

// ProjectFile is the project file Load reads.
const ProjectFile = "Pulumi.yaml"

// Options tune Load. The zero value is ready to use.
type Options struct {
	// APIEndpoint gives the apiEndpoint output of an API (by its resource
	// name); default: "http://127.0.0.1:8080".
	APIEndpoint func(api string) string
	// Strict makes what AWS would refuse behave as on AWS: an AWS_PROXY
	// integration whose function has no aws:lambda:Permission for API
	// Gateway answers 500 (spec.Integration.Unpermitted). Without it the
	// program's Warnings say so and Portico serves such routes.
	Strict bool
	// Language is the program's ("yaml" when empty, "go", "python",
	// "nodejs"): warnings write the resources to add in it.
	Language string
}

func (o Options) apiEndpoint(api string) string {
	if o.APIEndpoint == nil {
		return "http://127.0.0.1:8080"
	}
	return o.APIEndpoint(api)
}

// InvokeURL is a stage's invokeUrl output: the API's endpoint followed by
// the stage's path ("/" for $default), as AWS gives it.
func InvokeURL(apiEndpoint, stage string) string {
	if stage == "$default" {
		return apiEndpoint + "/"
	}
	return apiEndpoint + "/" + stage
}

// Output is one stack output, in program order.
type Output struct {
	Name  string
	Value string // JSON text for values that are not strings
}

// Program is a loaded Pulumi YAML program.
type Program struct {
	// Name is the project's name.
	Name string
	// Spec is the resource model; Spec.File is the Pulumi program's path.
	Spec *spec.Spec
	// SpecText is the portico spec document generated from the program
	// (each line annotated with "# @LINE:COL", its origin in the program).
	SpecText []byte
	// Outputs are the program's stack outputs.
	Outputs []Output
	// Warnings list what was skipped: unsupported resource types (one
	// warning) and ignored properties (one warning).
	Warnings []string
}

// Load reads DIR/Pulumi.yaml (and DIR/Main.yaml when the project file has
// no resources) and returns the program's resource model. Relative archive
// paths are resolved against DIR. When the program is invalid, the error is
// a spec.ErrorList positioned in the program file.
func Load(dir string, opts Options) (*Program, error) {
	file := filepath.Join(dir, ProjectFile)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pulumiyaml: read project: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, spec.ErrorList{{File: file, Pos: spec.Pos{Line: 1, Col: 1}, Msg: "invalid YAML: " + err.Error()}}
	}
	doc := docNode(&root)
	if doc == nil || doc.Kind != yaml.MappingNode {
		return nil, spec.ErrorList{{File: file, Pos: spec.Pos{Line: 1, Col: 1}, Msg: "project file must be a mapping"}}
	}
	progFile, prog := file, doc
	if get(doc, "resources") == nil {
		mf := filepath.Join(dir, "Main.yaml")
		if md, err := os.ReadFile(mf); err == nil {
			var mroot yaml.Node
			if err := yaml.Unmarshal(md, &mroot); err != nil {
				return nil, spec.ErrorList{{File: mf, Pos: spec.Pos{Line: 1, Col: 1}, Msg: "invalid YAML: " + err.Error()}}
			}
			progFile, prog = mf, docNode(&mroot)
			if prog == nil || prog.Kind != yaml.MappingNode {
				return nil, spec.ErrorList{{File: mf, Pos: spec.Pos{Line: 1, Col: 1}, Msg: "program file must be a mapping"}}
			}
		}
	}
	l := &loader{file: file, progFile: progFile, dir: dir, opts: opts}
	return l.load(doc, prog, data)
}

func docNode(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0]
	}
	return nil
}

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func pos(n *yaml.Node) spec.Pos { return spec.Pos{Line: n.Line, Col: n.Column} }

// normType turns aws:lambda/function:Function into aws:lambda:Function.
func normType(t string) string {
	parts := strings.Split(t, ":")
	if len(parts) == 3 {
		if i := strings.IndexByte(parts[1], '/'); i >= 0 {
			parts[1] = parts[1][:i]
		}
	}
	return strings.Join(parts, ":")
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// valueText renders an output value.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return strconv.Quote(fmt.Sprint(v))
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
