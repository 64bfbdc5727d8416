package spec

import (
	"archive/zip"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// maxLayers is Lambda's limit of layers per function.
const maxLayers = 5

// functionFiles checks what a function's files must hold: its layers
// exist (directories or zip files; made absolute), its interpreter is a
// plain name or path, and its handler's module or file is in its code or
// its layers, where the runtime will look for it. It runs after v.code.
func (v *validator) functionFiles(f *Function, family string) {
	if len(f.Layers) > maxLayers {
		v.add(v.pos.or(&f.Layers, f.Pos), "layers: %d layers; Lambda allows %d per function", len(f.Layers), maxLayers)
	}
	var layers []string // the valid ones, absolute
	for i, l := range f.Layers {
		p := v.pos.entry(&f.Layers, strconv.Itoa(i), f.Pos)
		if abs, ok := v.layer(l, p, i); ok {
			f.Layers[i] = abs
			layers = append(layers, abs)
		}
	}
	if f.Interpreter != "" {
		p := v.pos.or(&f.Interpreter, f.Pos)
		switch {
		case family != "python" && family != "nodejs" && family != "":
			v.add(p, "interpreter: only Python and Node.js functions have one (runtime %s)", f.Runtime)
		case strings.ContainsAny(f.Interpreter, "\x00\n \t"):
			v.add(p, "interpreter: %q must be a program name or a path, without spaces", f.Interpreter)
		}
	}
	if (family != "python" && family != "nodejs") || f.Handler == "" || checkHandler(family, f.Handler) != nil {
		return
	}
	if st, err := os.Stat(f.Code); err != nil || !st.IsDir() || !filepath.IsAbs(f.Code) {
		return // reported by v.code
	}
	if len(layers) != len(f.Layers) {
		return // a broken layer may hold it
	}
	if missing := handlerMissing(family, f.Runtime, f.Handler, f.Code, layers); missing != "" {
		v.warn(v.pos.or(&f.Handler, f.Pos), "handler: %s", missing)
	}
}

// layer checks one layers entry and returns its absolute path.
func (v *validator) layer(l string, p Pos, i int) (string, bool) {
	if l == "" {
		v.add(p, "layers[%d]: must name a directory or a .zip file (relative to the spec file)", i)
		return "", false
	}
	abs := l
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(v.spec.Dir, abs)
	}
	abs = filepath.Clean(abs)
	fi, err := os.Stat(abs)
	switch {
	case os.IsNotExist(err):
		v.add(p, "layers[%d]: %q does not exist", i, l)
		return "", false
	case err != nil:
		v.add(p, "layers[%d]: %q: %v", i, l, err)
		return "", false
	case fi.IsDir():
		return abs, true
	}
	zr, err := zip.OpenReader(abs)
	if err != nil {
		v.add(p, "layers[%d]: %q is neither a directory nor a zip file: %v", i, l, err)
		return "", false
	}
	zr.Close()
	return abs, true
}

// handlerMissing says why the handler's module cannot be found, or ""
// when it can (or might be: a dependency the function installs). It looks
// where the runtimes do: Python's sys.path (the code, then a layer's
// python/ and python/lib/pythonX.Y/site-packages/), Node.js's handler file
// next to the code, else node_modules of the code and of layers.
func handlerMissing(family, runtime, handler, code string, layers []string) string {
	roots := []root{{dir: code}}
	for _, l := range layers {
		roots = append(roots, newRoot(l))
	}
	defer func() {
		for _, r := range roots {
			r.close()
		}
	}()
	if family == "python" {
		mod := handler[:strings.LastIndex(handler, ".")]
		rel := strings.NewReplacer(".", "/").Replace(mod)
		for _, r := range roots {
			prefixes := []string{""}
			if r.dir != code {
				prefixes = append([]string{"python/"}, r.sitePackages()...)
			}
			for _, pre := range prefixes {
				if r.exists(pre+rel+".py") || r.exists(pre+rel+"/__init__.py") || r.isDir(pre+rel) || r.glob(pre+rel+".", ".so") {
					return ""
				}
			}
		}
		if fileExists(filepath.Join(code, "requirements.txt")) {
			return "" // maybe a module of a dependency
		}
		return "module " + strings.ReplaceAll(mod, "/", ".") + " (" + rel + ".py) is in neither the code directory nor the function's layers"
	}
	// Node.js: [dir/]file.export; the file with or without an extension,
	// else Node's module resolution.
	base := handler[strings.LastIndex(handler, "/")+1:]
	name, _, _ := strings.Cut(base, ".")
	file := path.Join(handler[:len(handler)-len(base)], name)
	for _, ext := range []string{"", ".js", ".mjs", ".cjs"} {
		if fileExists(filepath.Join(code, filepath.FromSlash(file+ext))) {
			return ""
		}
	}
	major := strings.TrimSuffix(strings.TrimPrefix(runtime, "nodejs"), ".x")
	if isDir(filepath.Join(code, filepath.FromSlash(file))) || isDir(filepath.Join(code, "node_modules", name)) {
		return ""
	}
	for _, r := range roots[1:] {
		if r.isDir("nodejs/node_modules/"+name) || r.isDir("nodejs/node"+major+"/node_modules/"+name) {
			return ""
		}
	}
	if pj, err := os.ReadFile(filepath.Join(code, "package.json")); err == nil && strings.Contains(string(pj), strconv.Quote(name)) {
		return "" // a dependency the function installs
	}
	return "file " + file + ".js (or .mjs, .cjs) is in neither the code directory nor the function's layers"
}

// root is a directory or a zip file whose entries are looked up by
// slash-separated relative paths.
type root struct {
	dir string
	zip *zip.ReadCloser
	set map[string]bool // zip entries, and every directory they imply
}

func newRoot(p string) root {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return root{dir: p}
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return root{}
	}
	set := map[string]bool{}
	for _, f := range zr.File {
		name := strings.TrimPrefix(path.Clean("/"+f.Name), "/")
		set[name] = !f.FileInfo().IsDir()
		for d := path.Dir(name); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := set[d]; !ok {
				set[d] = false
			}
		}
	}
	return root{zip: zr, set: set}
}

func (r root) close() {
	if r.zip != nil {
		r.zip.Close()
	}
}

func (r root) exists(rel string) bool {
	if r.zip != nil {
		return r.set[rel]
	}
	return r.dir != "" && fileExists(filepath.Join(r.dir, filepath.FromSlash(rel)))
}

func (r root) isDir(rel string) bool {
	if r.zip != nil {
		isFile, ok := r.set[rel]
		return ok && !isFile
	}
	return r.dir != "" && isDir(filepath.Join(r.dir, filepath.FromSlash(rel)))
}

// glob reports whether a file named prefix*suffix exists (extension
// modules such as mod.cpython-312-x86_64-linux-gnu.so).
func (r root) glob(prefix, suffix string) bool {
	if r.zip != nil {
		for name, isFile := range r.set {
			if isFile && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
				return true
			}
		}
		return false
	}
	m, _ := filepath.Glob(filepath.Join(r.dir, filepath.FromSlash(prefix)) + "*" + suffix)
	return len(m) > 0
}

// sitePackages lists python/lib/python3.*/site-packages/ of a layer.
func (r root) sitePackages() []string {
	var out []string
	if r.zip != nil {
		for name, isFile := range r.set {
			if !isFile && strings.HasPrefix(name, "python/lib/python3.") && strings.HasSuffix(name, "/site-packages") && strings.Count(name, "/") == 3 {
				out = append(out, name+"/")
			}
		}
		return out
	}
	m, _ := filepath.Glob(filepath.Join(r.dir, "python", "lib", "python3.*", "site-packages"))
	for _, d := range m {
		rel, _ := filepath.Rel(r.dir, d)
		out = append(out, filepath.ToSlash(rel)+"/")
	}
	return out
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// warn records a problem that does not stop the load in Spec.Warnings.
func (v *validator) warn(p Pos, format string, args ...any) {
	v.spec.Warnings = append(v.spec.Warnings, &Error{File: v.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
	v.spec.Warnings = v.spec.Warnings.sort()
}
