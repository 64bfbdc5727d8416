package pulumi

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// exportLayer is one distinct layer of the spec's functions: functions
// that name the same directory or zip file share one LayerVersion.
type exportLayer struct {
	src      string   // the spec's path (absolute)
	name     string   // the LayerVersion's resource and layer name
	rel      string   // its code in the program: ./layers/NAME or ./layers/NAME.zip
	runtimes []string // compatible runtimes: those of the functions using it
}

// layersOf lists the distinct layers of sp's functions, in order of
// function name then position, with unique names.
func layersOf(sp *spec.Spec) []*exportLayer {
	var out []*exportLayer
	bySrc := map[string]*exportLayer{}
	names := map[string]bool{}
	for _, fname := range sortedKeys(sp.Functions) {
		fn := sp.Functions[fname]
		for _, src := range fn.Layers {
			l := bySrc[src]
			if l == nil {
				base := strings.TrimSuffix(filepath.Base(src), ".zip")
				name := base
				for i := 2; names[name]; i++ {
					name = fmt.Sprintf("%s-%d", base, i)
				}
				names[name] = true
				l = &exportLayer{src: src, name: name, rel: "./" + path.Join("layers", name)}
				if st, err := os.Stat(src); err == nil && !st.IsDir() {
					l.rel += ".zip"
				}
				bySrc[src] = l
				out = append(out, l)
			}
			if !slices.Contains(l.runtimes, fn.Runtime) {
				l.runtimes = append(l.runtimes, fn.Runtime)
				slices.Sort(l.runtimes)
			}
		}
	}
	return out
}

// writeLayers copies each distinct layer into the program's directory, at
// the path its LayerVersion's code names.
func writeLayers(sp *spec.Spec, absDir string) error {
	for _, l := range layersOf(sp) {
		dst := filepath.Join(absDir, filepath.FromSlash(l.rel))
		if strings.HasSuffix(l.rel, ".zip") {
			data, err := os.ReadFile(l.src)
			if err != nil {
				return fmt.Errorf("export pulumi: layer %s: %w", l.name, err)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("export pulumi: layer %s: %w", l.name, err)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return fmt.Errorf("export pulumi: layer %s: %w", l.name, err)
			}
			continue
		}
		if err := copyDir(l.src, dst, absDir); err != nil {
			return fmt.Errorf("export pulumi: layer %s: %w", l.name, err)
		}
	}
	return nil
}
