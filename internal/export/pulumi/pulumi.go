// Package pulumi writes a spec as an idiomatic Pulumi program (pulumi-aws
// v6) in Go, Python or TypeScript that deploys the same system to AWS with
// `pulumi up`.
//
// The spec is walked once, into a language-neutral plan (plan.go): which
// resources, in which order, with which arguments, and what is exported.
// Each language's program is a printer of that plan (print.go for Python
// and TypeScript, print_go.go for Go), so the three cannot drift apart.
//
// Write is a pure function of the spec and the files its code directories
// hold: it never downloads or builds anything. The generated main.go is
// gofmt-clean; main only passes deploy(ctx *pulumi.Context) error to
// pulumi.Run, so a test can run deploy under Pulumi's mocks. The generated
// go.mod and go.sum are complete (tidy's own), so the program builds with
// -mod=readonly and no `go mod tidy`. Features AWS's HTTP APIs lack (Portico
// extensions) are listed as comments in main.go and the README, never
// silently dropped.
package pulumi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/portico-dev/portico/internal/spec"
)

// Module versions the generated go.mod requires. go.mod.txt and go.sum.txt
// are what `go mod tidy` wrote for them; `go test -tidy` in this package
// rewrites both after a version change, and the tests check they agree.
const (
	AWSSDKVersion    = "v6.83.4"
	PulumiSDKVersion = "v3.274.1"
)

// The exported program's go.mod and go.sum, as `go mod tidy` wrote them for a
// program importing every package the exporter can emit (and the mocks the
// tests run it under). With both, `go build` and `pulumi up` need neither
// `go mod tidy` nor the network once the modules are in the module cache, and
// the module versions are pinned by checksum. The .txt names keep Go from
// reading them as this module's files.
var (
	//go:embed go.mod.txt
	goModTemplate string
	//go:embed go.sum.txt
	goSum []byte
)

// maxIntegrationTimeout is AWS's cap on an HTTP API integration timeout.
const maxIntegrationTimeout = 30000

// defaultAccessLogFormat is used when a stage's access log has no format:
// AWS requires one (Portico's default is its own JSON record).
const defaultAccessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","routeKey":"$context.routeKey","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","integrationError":"$context.integrationErrorMessage"}`

// Written lists what Write produced, relative to the output directory.
type Written struct {
	Files     []string // Pulumi.yaml, the program and its project files, README.md
	Functions []string // functions/NAME directories
	Buckets   []string // buckets/NAME directories
	// NotExported lists the Portico extensions the program leaves out.
	NotExported []string
}

// Write writes the Pulumi Go program for sp into dir (created if missing;
// files Write owns are overwritten): Pulumi.yaml, go.mod, go.sum, main.go,
// README.md, each function's code under functions/NAME and each bucket's
// contents under buckets/NAME. dir must not lie inside a code or contents
// directory.
func Write(sp *spec.Spec, dir string) error {
	_, err := WriteReport(sp, dir)
	return err
}

// WriteReport is Write, also reporting what it wrote.
func WriteReport(sp *spec.Spec, dir string) (*Written, error) {
	return WriteLanguage(sp, dir, Go)
}

// WriteLanguage is WriteReport for a program in lang: Go (main.go, go.mod,
// go.sum), Python (__main__.py, requirements.txt) or TypeScript (index.ts,
// package.json, package-lock.json, tsconfig.json), each with Pulumi.yaml
// and README.md.
func WriteLanguage(sp *spec.Spec, dir string, lang Language) (*Written, error) {
	if sp == nil {
		return nil, fmt.Errorf("export pulumi: nil spec")
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("export pulumi: output %s exists and is not a directory", dir)
	}
	files, notes, err := programFiles(sp, lang)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export pulumi: create output directory: %w", err)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("export pulumi: %w", err)
	}
	w := &Written{NotExported: notes}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return nil, fmt.Errorf("export pulumi: write %w", err)
		}
		w.Files = append(w.Files, f.name)
	}
	for _, name := range sortedKeys(sp.Functions) {
		fn := sp.Functions[name]
		rel := path.Join("functions", name)
		if err := copyDir(fn.Code, filepath.Join(absDir, "functions", name), absDir); err != nil {
			return nil, fmt.Errorf("export pulumi: function %s: %w", name, err)
		}
		if isGoSource(fn) {
			gomod := filepath.Join(absDir, "functions", name, "go.mod")
			if _, err := os.Stat(gomod); os.IsNotExist(err) {
				// Its own module, so that the program's module does not
				// compile the function's sources.
				data := fmt.Sprintf("module %s\n\ngo 1.24\n", name)
				if err := os.WriteFile(gomod, []byte(data), 0o644); err != nil {
					return nil, fmt.Errorf("export pulumi: function %s: write %w", name, err)
				}
			}
		}
		w.Functions = append(w.Functions, rel)
	}
	if err := writeLayers(sp, absDir); err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(sp.Buckets) {
		b := sp.Buckets[name]
		if b.Contents == "" {
			continue
		}
		if err := copyDir(b.Contents, filepath.Join(absDir, "buckets", name), absDir); err != nil {
			return nil, fmt.Errorf("export pulumi: bucket %s: %w", name, err)
		}
		w.Buckets = append(w.Buckets, path.Join("buckets", name))
	}
	return w, nil
}

// goMod is go.mod.txt with project as the module path.
func goMod(project string) ([]byte, error) {
	first, rest, ok := strings.Cut(goModTemplate, "\n")
	if !ok || !strings.HasPrefix(first, "module ") {
		return nil, fmt.Errorf("export pulumi: go.mod.txt does not start with a module line (a bug)")
	}
	return []byte("module " + project + "\n" + rest), nil
}

// isGoSource reports whether fn is a provided-runtime function whose code
// directory holds Go sources (Portico builds them; for AWS the user builds
// bootstrap).
func isGoSource(fn *spec.Function) bool {
	if !strings.HasPrefix(fn.Runtime, "provided") {
		return false
	}
	m, _ := filepath.Glob(filepath.Join(fn.Code, "*.go"))
	return len(m) > 0
}

var projectRE = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// projectName is the Pulumi project (and Go module) name: the spec file's
// directory name, sanitized.
func projectName(sp *spec.Spec) string {
	d := sp.Dir
	if d == "" {
		d = filepath.Dir(sp.File)
	}
	n := strings.Trim(projectRE.ReplaceAllString(filepath.Base(d), "-"), "-.")
	if n == "" || n == "." {
		n = "portico"
	}
	return n
}

// copyDir copies the regular files under src into dst, skipping Portico's
// state directories. It refuses to copy a directory containing out.
func copyDir(src, dst, out string) error {
	if src == "" {
		return fmt.Errorf("no directory given")
	}
	absSrc, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(absSrc, out); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return fmt.Errorf("output directory %s is inside %s", out, absSrc)
	}
	return filepath.WalkDir(absSrc, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %w", err)
		}
		rel, _ := filepath.Rel(absSrc, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if d.Name() == ".portico" && p != absSrc {
				return filepath.SkipDir
			}
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("copy: %w", err)
			}
			return nil
		case !d.Type().IsRegular():
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()|0o600); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		return nil
	})
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// gen holds what the plan, the README and the notes share: the spec,
// the variables named so far and the extensions left out.
type gen struct {
	sp     *spec.Spec
	idents map[string]bool
	notes  []string // not exported: Portico extensions
	// goFuncs lists functions that need a bootstrap build.
	goFuncs []string
}

func newGen(sp *spec.Spec) *gen {
	return &gen{sp: sp, idents: map[string]bool{}}
}

func (g *gen) note(format string, args ...any) {
	g.notes = append(g.notes, fmt.Sprintf(format, args...))
}

// ident makes a unique Go identifier prefix+Name.
func (g *gen) ident(prefix string, parts ...string) string {
	var sb strings.Builder
	sb.WriteString(prefix)
	for _, part := range parts {
		upper := true
		for _, r := range part {
			if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
				upper = true
				continue
			}
			if upper {
				r = unicode.ToUpper(r)
				upper = false
			}
			sb.WriteRune(r)
		}
	}
	id := sb.String()
	for i := 2; g.idents[id]; i++ {
		id = sb.String() + strconv.Itoa(i)
	}
	g.idents[id] = true
	return id
}

func q(s string) string { return strconv.Quote(s) }

// jsonLit renders a policy document as a Go string literal of indented JSON.
func jsonLit(v any) (string, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	s := string(data)
	if !strings.Contains(s, "`") {
		return "`" + s + "`", nil
	}
	return q(s), nil
}

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const basicExecution = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
