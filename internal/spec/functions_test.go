package spec

import (
	"archive/zip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// functionsDir lays out code and layers for the tests of layers and
// handler files.
func functionsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"app/handler.py":         "",
		"app/pkg/__init__.py":    "",
		"app/pkg/mod.py":         "",
		"app/index.mjs":          "",
		"app/src/lib.js":         "",
		"layer/python/shared.py": "",
		"layer/python/lib/python3.12/site-packages/dep/__init__.py": "",
		"nlayer/nodejs/node_modules/greet/index.js":                 "",
		"deps/app.py":           "",
		"deps/requirements.txt": "six==1.16.0\n",
		"notzip.zip":            "not a zip",
		"file":                  "",
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "layer.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	if _, err := zw.Create("python/zipped.py"); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return dir
}

func TestFunctionLayersAndHandlerFiles(t *testing.T) {
	tests := []struct {
		name     string
		function string
		want     []string // errors
		warnings []string
	}{
		{name: "python module in code", function: `{runtime: python3.12, handler: handler.main, code: app}`},
		{name: "python package module", function: `{runtime: python3.12, handler: pkg.mod.main, code: app}`},
		{name: "python module by path", function: `{runtime: python3.12, handler: pkg/mod.main, code: app}`},
		{name: "python module in a layer dir", function: `{runtime: python3.12, handler: shared.main, code: app, layers: [layer]}`},
		{name: "python module in a layer's site-packages", function: `{runtime: python3.12, handler: dep.main, code: app, layers: [layer]}`},
		{name: "python module in a zip layer", function: `{runtime: python3.12, handler: zipped.main, code: app, layers: [layer.zip]}`},
		{name: "python module maybe a dependency", function: `{runtime: python3.12, handler: six.main, code: deps}`},
		{name: "python module missing", function: `{runtime: python3.12, handler: nosuch.main, code: app, layers: [layer]}`,
			warnings: []string{`2:37: handler: module nosuch (nosuch.py) is in neither the code directory nor the function's layers`}},
		{name: "node file with extension", function: `{runtime: nodejs24.x, handler: index.handler, code: app}`},
		{name: "node file in a directory", function: `{runtime: nodejs22.x, handler: src/lib.handler, code: app}`},
		{name: "node module in a layer", function: `{runtime: nodejs20.x, handler: greet.handler, code: app, layers: [nlayer]}`},
		{name: "node file missing", function: `{runtime: nodejs20.x, handler: src/app.handler, code: app}`,
			warnings: []string{`2:37: handler: file src/app.js (or .mjs, .cjs) is in neither the code directory nor the function's layers`}},
		{name: "layer missing", function: `{runtime: python3.12, handler: handler.main, code: app, layers: [layer, nope]}`,
			want: []string{`2:78: layers[1]: "nope" does not exist`}},
		{name: "layer not a zip", function: `{runtime: python3.12, handler: handler.main, code: app, layers: [notzip.zip]}`,
			want: []string{`2:71: layers[0]: "notzip.zip" is neither a directory nor a zip file: zip: not a valid zip file`}},
		{name: "too many layers", function: `{runtime: python3.12, handler: handler.main, code: app, layers: [layer, layer, layer, layer, layer, layer]}`,
			want: []string{`2:70: layers: 6 layers; Lambda allows 5 per function`}},
		{name: "interpreter on provided", function: `{runtime: provided.al2023, code: app, interpreter: python3.12}`,
			want: []string{`2:57: interpreter: only Python and Node.js functions have one (runtime provided.al2023)`}},
		{name: "interpreter named", function: `{runtime: python3.13, handler: handler.main, code: app, interpreter: python3.12}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := functionsDir(t)
			file := filepath.Join(dir, "portico.yaml")
			s, err := Parse(file, []byte("functions:\n  f: "+tt.function+"\n"))
			var got []string
			if err != nil {
				got = positioned(t, err, file)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if err != nil {
				return
			}
			if got := positioned(t, s.Warnings, file); !reflect.DeepEqual(got, tt.warnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.warnings, "\n"))
			}
			for _, l := range s.Functions["f"].Layers {
				if !filepath.IsAbs(l) {
					t.Errorf("layer %q is not absolute after Load", l)
				}
			}
		})
	}
}
