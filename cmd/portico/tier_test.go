package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
)

// endToEndTests is a -test.skip pattern naming every test declared in this
// package's *e2e_test.go files: the tests that run the built binary, the
// long tier that -short leaves out. Tests in other files (commands run
// in-process) stay in the short tier.
func endToEndTests() (string, error) {
	files, err := filepath.Glob("*e2e_test.go")
	if err != nil {
		return "", err
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			return "", err
		}
		for _, d := range af.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && fn.Name.Name != "TestMain" {
				names = append(names, fn.Name.Name)
			}
		}
	}
	sort.Strings(names)
	return "^(" + strings.Join(names, "|") + ")$", nil
}
