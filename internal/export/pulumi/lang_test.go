package pulumi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/spec"
	"github.com/portico-dev/portico/internal/testtool"
)

// exportSpecs names the specs the language tests export: every example's,
// and those under testdata/specs (features no example has).
func exportSpecs(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "*", "portico.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs: %v", err)
	}
	extra, err := filepath.Glob(filepath.Join("testdata", "specs", "*", "portico.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range append(files, extra...) {
		out[filepath.Base(filepath.Dir(f))] = f
	}
	return out
}

func loadFile(t *testing.T, file string) *spec.Spec {
	t.Helper()
	sp, err := spec.Load(file)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return sp
}

// programFile is the program source each language writes.
var programFile = map[Language]string{Go: "main.go", Python: "__main__.py", TypeScript: "index.ts"}

func TestParseLanguage(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"go", "go", ""},
		{"python", "python", ""},
		{"Python", "python", ""},
		{"typescript", "typescript", ""},
		{"ts", "typescript", ""},
		{"rust", "", `unknown language "rust": choose go, python or typescript`},
		{"", "", `unknown language "": choose go, python or typescript`},
	}
	for _, tt := range tests {
		got, err := ParseLanguage(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseLanguage(%q) = %v, want one line with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseLanguage(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := WriteLanguage(load(t, "seed"), t.TempDir(), "rust"); err == nil || !strings.Contains(err.Error(), "choose go, python or typescript") {
		t.Errorf("WriteLanguage(rust) = %v", err)
	}
}

// TestGoldenLanguages: every example's Python and TypeScript program and
// README match testdata/LANG/EXAMPLE.*.golden (-update rewrites them),
// and each language's project files are the pinned ones.
func TestGoldenLanguages(t *testing.T) {
	for _, lang := range []Language{Python, TypeScript} {
		specs := exportSpecs(t)
		for _, name := range sortedKeys(specs) {
			t.Run(string(lang)+"/"+name, func(t *testing.T) {
				dir := t.TempDir()
				w, err := WriteLanguage(loadFile(t, specs[name]), dir, lang)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range []string{programFile[lang], "README.md"} {
					got, err := os.ReadFile(filepath.Join(dir, f))
					if err != nil {
						t.Fatal(err)
					}
					golden := filepath.Join("testdata", string(lang), name+"."+f+".golden")
					if *update {
						if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(golden, got, 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(golden)
					if err != nil {
						t.Fatalf("%v (run with -update)", err)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("%s differs from %s (run with -update to accept)", f, golden)
					}
				}
				py, _ := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
				runtime := map[Language]string{Python: "runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n", TypeScript: "runtime: nodejs\n"}[lang]
				if !strings.Contains(string(py), "name: "+name+"\n"+runtime) {
					t.Errorf("Pulumi.yaml = %q", py)
				}
				if lang == TypeScript {
					pkg, _ := os.ReadFile(filepath.Join(dir, "package.json"))
					if !strings.Contains(string(pkg), `"name": "`+name+`"`) || !strings.Contains(string(pkg), `"@pulumi/aws": "6.83.4"`) {
						t.Errorf("package.json = %s", pkg)
					}
				}
				if len(w.Files) == 0 || w.Files[0] != "Pulumi.yaml" {
					t.Errorf("Files = %v", w.Files)
				}
			})
		}
	}
}

// TestPinsMatchExamples: the pins the Python and TypeScript programs get
// are the examples' (examples/seed-pulumi-python, examples/seed-pulumi-ts).
func TestPinsMatchExamples(t *testing.T) {
	ex := filepath.Join("..", "..", "..", "examples")
	for _, tt := range []struct {
		example string
		got     []byte
	}{
		{filepath.Join(ex, "seed-pulumi-python", "requirements.txt"), requirementsTxt},
		{filepath.Join(ex, "seed-pulumi-ts", "package.json"), []byte(strings.ReplaceAll(packageJSONTemplate, "PROJECT", "seed-pulumi-ts"))},
		{filepath.Join(ex, "seed-pulumi-ts", "package-lock.json"), []byte(strings.ReplaceAll(packageLockTemplate, "PROJECT", "seed-pulumi-ts"))},
		{filepath.Join(ex, "seed-pulumi-ts", "tsconfig.json"), tsconfigJSON},
	} {
		want, err := os.ReadFile(tt.example)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tt.got, want) {
			t.Errorf("the exporter's copy of %s differs: copy it again", tt.example)
		}
	}
}

// TestPythonCompiles: every example's exported __main__.py compiles.
func TestPythonCompiles(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	root := t.TempDir()
	var files []string
	specs := exportSpecs(t)
	for _, name := range sortedKeys(specs) {
		dir := filepath.Join(root, name)
		if _, err := WriteLanguage(loadFile(t, specs[name]), dir, Python); err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.Join(dir, "__main__.py"))
	}
	out, err := exec.Command("python3", append([]string{"-m", "py_compile"}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("py_compile: %v\n%s", err, out)
	}
}

// sharedNodeModules returns a node_modules installed (npm ci, once per
// lock file, in the system's temporary directory) from the pinned
// package-lock.json the TypeScript programs get.
func sharedNodeModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		testtool.Missing(t, "npm", "not installed")
	}
	lock := strings.ReplaceAll(packageLockTemplate, "PROJECT", "portico-export-shared")
	pkg := strings.ReplaceAll(packageJSONTemplate, "PROJECT", "portico-export-shared")
	sum := sha256.Sum256([]byte(lock))
	shared := filepath.Join(os.TempDir(), "portico-export-node-"+hex.EncodeToString(sum[:6]))
	done := filepath.Join(shared, "node_modules", ".portico-installed")
	if _, err := os.Stat(done); err == nil {
		return filepath.Join(shared, "node_modules")
	}
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, data := range map[string]string{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(shared, f), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = shared
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(shared, "node_modules")
}

// linkNodeModules gives dir a node_modules whose entries link to shared's:
// the program resolves the shared packages, and Portico, finding no
// install stamp, trusts it as a hand-made install (it never writes into
// the shared directory).
func linkNodeModules(t *testing.T, dir, shared string) {
	t.Helper()
	nm := filepath.Join(dir, "node_modules")
	if err := os.Mkdir(nm, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(shared)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".portico") {
			continue
		}
		if err := os.Symlink(filepath.Join(shared, e.Name()), filepath.Join(nm, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTypeScriptTypeChecks: every example's exported index.ts type-checks
// with the pinned TypeScript against the pinned @pulumi/aws types. One tsc
// run checks them all (each program is a module of its own; loading the
// provider's types once takes most of the time).
func TestTypeScriptTypeChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the pinned npm packages: long tier, skipped under -short")
	}
	shared := sharedNodeModules(t)
	root := t.TempDir()
	var files []string
	specs := exportSpecs(t)
	for _, name := range sortedKeys(specs) {
		if _, err := WriteLanguage(loadFile(t, specs[name]), filepath.Join(root, name), TypeScript); err != nil {
			t.Fatal(err)
		}
		files = append(files, `"`+name+`/index.ts"`)
	}
	// The programs' own compiler options, over every program.
	cfg := strings.Replace(string(tsconfigJSON), `"index.ts"`, strings.Join(files, ", "), 1)
	if err := os.WriteFile(filepath.Join(root, "tsconfig.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	linkNodeModules(t, root, shared)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(shared, "typescript", "bin", "tsc"), "--noEmit", "-p", ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc --noEmit: %v\n%s", err, out)
	}
}

// sharedVirtualenv returns a virtualenv for the Python programs, shared
// by the tests (in the system's temporary directory, keyed by the
// requirements' hash); Portico installs requirements.txt into it on the
// first run, as portico up does.
func sharedVirtualenv(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		testtool.Missing(t, "python3", "not installed")
	}
	sum := sha256.Sum256(requirementsTxt)
	venv := filepath.Join(os.TempDir(), "portico-export-venv-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		if out, err := exec.Command("python3", "-m", "venv", venv).CombinedOutput(); err != nil {
			testtool.Missing(t, "python3 venv", "python3 -m venv failed: "+strings.TrimSpace(string(out)))
		}
	}
	return venv
}

// TestRoundTripLanguages: each example's Python and TypeScript export,
// run under Portico's own resource monitor (as portico up DIR runs it),
// registers the same model as the spec, as TestRoundTrip checks for Go.
// The subtests run one at a time: they share a virtualenv and a
// node_modules.
func TestRoundTripLanguages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Pulumi Python and TypeScript programs: long tier, skipped under -short")
	}
	for _, lang := range []Language{Python, TypeScript} {
		t.Run(string(lang), func(t *testing.T) {
			var venv, nodeModules string
			if lang == Python {
				venv = sharedVirtualenv(t)
			} else {
				nodeModules = sharedNodeModules(t)
			}
			specs := exportSpecs(t)
			for _, name := range sortedKeys(specs) {
				t.Run(name, func(t *testing.T) {
					want := loadFile(t, specs[name])
					dir := filepath.Join(t.TempDir(), name)
					if _, err := WriteLanguage(want, dir, lang); err != nil {
						t.Fatal(err)
					}
					if lang == Python {
						if err := os.Symlink(venv, filepath.Join(dir, "venv")); err != nil {
							t.Fatal(err)
						}
					} else {
						linkNodeModules(t, dir, nodeModules)
					}
					var out bytes.Buffer
					p, err := pulumirun.Run(context.Background(), pulumirun.Config{Dir: dir, BuildDir: t.TempDir(), Timeout: 3 * time.Minute, Output: &out})
					if err != nil {
						t.Fatalf("run the exported program: %v\n%s", err, out.String())
					}
					if len(p.Warnings) != 0 {
						t.Errorf("warnings: %q", p.Warnings)
					}
					sameModel(t, want, p.Spec)
				})
			}
		})
	}
}

// resourceRE matches a resource declaration in each language's program:
// lambda.NewFunction(ctx, "name", aws.lambda_.Function(\n    "name" and
// new aws.lambda.Function("name".
var resourceRE = map[Language]*regexp.Regexp{
	Go:         regexp.MustCompile(`(\w+)\.New(\w+)\(ctx, ("(?:[^"\\]|\\.)*")`),
	Python:     regexp.MustCompile(`aws\.(\w+)\.(\w+)\(\n\s+("(?:[^"\\]|\\.)*")`),
	TypeScript: regexp.MustCompile(`new aws\.(\w+)\.(\w+)\(("(?:[^"\\]|\\.)*")`),
}

// TestPrintersDeclarePlan: for every example, each language's program
// declares exactly the plan's resources (module, type and name, in order):
// no printer drops, repeats or reorders a declaration.
func TestPrintersDeclarePlan(t *testing.T) {
	specs := exportSpecs(t)
	for _, name := range sortedKeys(specs) {
		t.Run(name, func(t *testing.T) {
			sp := loadFile(t, specs[name])
			p, err := newPlan(sp)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, s := range p.stmts {
				if s.res != nil {
					want = append(want, s.res.mod+"."+s.res.class+" "+s.res.name)
				}
			}
			for _, lang := range Languages {
				files, _, err := programFiles(sp, lang)
				if err != nil {
					t.Fatal(err)
				}
				var src []byte
				for _, f := range files {
					if f.name == programFile[lang] {
						src = f.data
					}
				}
				var got []string
				for _, m := range resourceRE[lang].FindAllStringSubmatch(string(src), -1) {
					n, err := strconv.Unquote(m[3])
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, strings.TrimSuffix(m[1], "_")+"."+m[2]+" "+n)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s program's resources differ from the plan's\n--- %s:\n%s\n--- plan:\n%s", lang, lang, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

func TestSnake(t *testing.T) {
	tests := []struct{ in, want string }{
		{"apiId", "api_id"},
		{"routeApiGET", "route_api_get"},
		{"apiGETRoute", "api_get_route"},
		{"permIngest0", "perm_ingest0"},
		{"authorizerResultTtlInSeconds", "authorizer_result_ttl_in_seconds"},
		{"invokeArn", "invoke_arn"},
	}
	for _, tt := range tests {
		if got := snake(tt.in); got != tt.want {
			t.Errorf("snake(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	pl := &planner{idents: map[string]bool{}, snakes: map[string]bool{}}
	a, b := pl.ident("api", "aB"), pl.ident("api", "ab")
	if snake(a) == snake(b) {
		t.Errorf("ident: %q and %q are one Python name", a, b)
	}
}
