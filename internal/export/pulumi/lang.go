package pulumi

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// Language is the language of the exported program.
type Language string

// The languages Write can export to.
const (
	Go         Language = "go"
	Python     Language = "python"
	TypeScript Language = "typescript"
)

// Languages lists every Language, the default first.
var Languages = []Language{Go, Python, TypeScript}

// ParseLanguage returns the Language named s ("ts" is TypeScript), or an
// error listing the choices.
func ParseLanguage(s string) (Language, error) {
	switch l := Language(strings.ToLower(s)); l {
	case Go, Python, TypeScript:
		return l, nil
	case "ts":
		return TypeScript, nil
	case "py":
		return Python, nil
	}
	return "", fmt.Errorf("export pulumi: unknown language %q: choose go, python or typescript", s)
}

// The Python and TypeScript programs' pins: those of
// examples/seed-pulumi-python and examples/seed-pulumi-ts (TestPinsMatchExamples
// checks they agree). The lock file's and package.json's project name is
// PROJECT.
var (
	//go:embed requirements.txt.txt
	requirementsTxt []byte
	//go:embed package.json.txt
	packageJSONTemplate string
	//go:embed package-lock.json.txt
	packageLockTemplate string
	//go:embed tsconfig.json.txt
	tsconfigJSON []byte
)

type file struct {
	name string
	data []byte
}

// programFiles renders the program's own files (not the code it archives)
// in lang.
func programFiles(sp *spec.Spec, lang Language) ([]file, []string, error) {
	project := projectName(sp)
	desc := fmt.Sprintf("description: Exported by portico from %s\n", filepath.Base(sp.File))
	p, err := newPlan(sp)
	if err != nil {
		return nil, nil, err
	}
	g := newGen(sp)
	g.notes = p.notes
	for _, name := range sortedKeys(sp.Functions) {
		if isGoSource(sp.Functions[name]) {
			g.goFuncs = append(g.goFuncs, name)
		}
	}
	switch lang {
	case Go:
		src, err := goSource(p, filepath.Base(sp.File), project)
		if err != nil {
			return nil, nil, err
		}
		gomod, err := goMod(project)
		if err != nil {
			return nil, nil, err
		}
		return []file{
			{"Pulumi.yaml", []byte(fmt.Sprintf("name: %s\nruntime: go\n", project) + desc)},
			{"go.mod", gomod},
			{"go.sum", goSum},
			{"main.go", src},
			{"README.md", g.readme(project, Go)},
		}, p.notes, nil
	case Python, TypeScript:
		d := dialect{python: lang == Python}
		src := d.source(p, filepath.Base(sp.File))
		if lang == Python {
			return []file{
				{"Pulumi.yaml", []byte(fmt.Sprintf("name: %s\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n", project) + desc)},
				{"requirements.txt", requirementsTxt},
				{"__main__.py", src},
				{"README.md", g.readme(project, Python)},
			}, p.notes, nil
		}
		npmName := strings.ToLower(project)
		named := func(s string) []byte {
			return []byte(strings.ReplaceAll(s, `"name": "PROJECT"`, `"name": `+quote(npmName)))
		}
		return []file{
			{"Pulumi.yaml", []byte(fmt.Sprintf("name: %s\nruntime: nodejs\n", project) + desc)},
			{"package.json", named(packageJSONTemplate)},
			{"package-lock.json", named(packageLockTemplate)},
			{"tsconfig.json", tsconfigJSON},
			{"index.ts", src},
			{"README.md", g.readme(project, TypeScript)},
		}, p.notes, nil
	}
	return nil, nil, fmt.Errorf("export pulumi: unknown language %q: choose go, python or typescript", lang)
}
