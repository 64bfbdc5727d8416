package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
)

// DefaultFile is the spec file name the CLI looks for.
const DefaultFile = "portico.yaml"

// Load reads and parses the spec file at path; see Parse.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: read %w", err)
	}
	return Parse(path, data)
}

// Parse decodes, defaults and validates the spec text data, read from file.
// Relative code paths are resolved against filepath.Dir(file) and are
// absolute in the result; the code directories must exist.
//
// When the text is not a valid spec, Parse returns a nil *Spec and an
// ErrorList holding every problem found (syntax, unknown or duplicate
// fields, wrong types, bad values, dangling references), sorted by
// position. The returned *Spec must not be modified: share it freely.
func Parse(file string, data []byte) (*Spec, error) {
	e := &errs{file: file}
	d := &decoder{errs: e, pos: positions{}, broken: map[any]bool{}, anyNodes: nodeMap{}}
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	s := &Spec{File: file, Dir: dir}
	root := d.document(data)
	if root != nil {
		d.object(root, reflect.ValueOf(s).Elem(), "spec")
	}
	if root == nil && len(e.list) > 0 {
		return nil, e.list.sort()
	}
	setDefaults(s, d.pos)
	setAsyncDefaults(s)
	v := &validator{errs: e, pos: d.pos, broken: d.broken, spec: s, anyNodes: d.anyNodes}
	v.validate()
	if len(e.list) > 0 {
		return nil, e.list.sort()
	}
	return s, nil
}
