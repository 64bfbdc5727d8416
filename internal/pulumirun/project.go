package pulumirun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Project is what Run reads from a Pulumi.yaml.
type Project struct {
	Name    string
	Runtime string // "go", "yaml", "nodejs", ...
	// Binary is the runtime's binary option: a prebuilt program to run
	// instead of building one.
	Binary string
	// Toolchain and Virtualenv are a Python program's runtime options
	// (toolchain: pip, uv or poetry; virtualenv: a directory relative to
	// the project).
	Toolchain, Virtualenv string
	// Typescript is a Node.js program's typescript option (default true).
	Typescript *bool

	dir, mainDir string
	mainFile     string // main: naming a file, not a directory
	config       map[string]projectConfig
}

type projectConfig struct {
	Default any `yaml:"default"`
}

// ReadProject reads DIR/Pulumi.yaml.
func ReadProject(dir string) (*Project, error) {
	file := filepath.Join(dir, "Pulumi.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pulumi program: %w", err)
	}
	var raw struct {
		Name    string               `yaml:"name"`
		Runtime yaml.Node            `yaml:"runtime"`
		Main    string               `yaml:"main"`
		Config  map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if raw.Name == "" {
		return nil, fmt.Errorf("%s:1:1: project: name is required", file)
	}
	p := &Project{Name: raw.Name, dir: dir, mainDir: filepath.Join(dir, raw.Main), config: map[string]projectConfig{}}
	if fi, err := os.Stat(p.mainDir); err == nil && !fi.IsDir() {
		p.mainDir, p.mainFile = filepath.Split(p.mainDir)
	}
	switch raw.Runtime.Kind {
	case yaml.ScalarNode:
		p.Runtime = raw.Runtime.Value
	case yaml.MappingNode:
		var rt struct {
			Name    string `yaml:"name"`
			Options struct {
				Binary     string `yaml:"binary"`
				Toolchain  string `yaml:"toolchain"`
				Virtualenv string `yaml:"virtualenv"`
				Typescript *bool  `yaml:"typescript"`
			} `yaml:"options"`
		}
		if err := raw.Runtime.Decode(&rt); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: runtime: %w", file, raw.Runtime.Line, raw.Runtime.Column, err)
		}
		p.Runtime, p.Binary = rt.Name, rt.Options.Binary
		p.Toolchain, p.Virtualenv, p.Typescript = rt.Options.Toolchain, rt.Options.Virtualenv, rt.Options.Typescript
	}
	if p.Runtime == "" {
		return nil, fmt.Errorf("%s:1:1: project: runtime is required", file)
	}
	for k, n := range raw.Config {
		var c projectConfig
		if n.Kind == yaml.MappingNode {
			if err := n.Decode(&c); err != nil {
				return nil, fmt.Errorf("%s:%d:%d: config %s: %w", file, n.Line, n.Column, k, err)
			}
		} else if err := n.Decode(&c.Default); err != nil {
			return nil, fmt.Errorf("%s:%d:%d: config %s: %w", file, n.Line, n.Column, k, err)
		}
		p.config[k] = c
	}
	return p, nil
}

// stackConfig is the program's configuration as PULUMI_CONFIG carries it:
// "namespace:key" to a string (JSON for structured values), from the
// project's defaults and Pulumi.<stack>.yaml. Keys without a namespace
// belong to the project.
func (p *Project) stackConfig(dir, stack string) (map[string]string, error) {
	out := map[string]string{}
	put := func(k string, v any) error {
		if !strings.Contains(k, ":") {
			k = p.Name + ":" + k
		}
		switch x := v.(type) {
		case nil:
			return nil
		case string:
			out[k] = x
		case map[string]any:
			if _, secure := x["secure"]; secure && len(x) == 1 {
				return fmt.Errorf("config %s is encrypted (secure:); Portico cannot decrypt Pulumi secrets: set it in plain text for local runs", k)
			}
			b, err := json.Marshal(x)
			if err != nil {
				return fmt.Errorf("config %s: %w", k, err)
			}
			out[k] = string(b)
		case []any:
			b, err := json.Marshal(x)
			if err != nil {
				return fmt.Errorf("config %s: %w", k, err)
			}
			out[k] = string(b)
		default:
			out[k] = fmt.Sprint(x)
		}
		return nil
	}
	keys := make([]string, 0, len(p.config))
	for k := range p.config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := put(k, p.config[k].Default); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "Pulumi.yaml"), err)
		}
	}
	file := filepath.Join(dir, "Pulumi."+stack+".yaml")
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pulumi program: %w", err)
	}
	var st struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for k, v := range st.Config {
		if err := put(k, v); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return out, nil
}
