package pulumi

import (
	"bytes"
	"flag"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

func load(t *testing.T, name string) *spec.Spec {
	t.Helper()
	sp, err := spec.Load(filepath.Join("..", "..", "..", "examples", name, "portico.yaml"))
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return sp
}

func TestWriteExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "*", "portico.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			sp := load(t, name)
			dir := t.TempDir()
			if err := Write(sp, dir); err != nil {
				t.Fatalf("Write: %v", err)
			}
			src, err := os.ReadFile(filepath.Join(dir, "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parser.ParseFile(token.NewFileSet(), "main.go", src, parser.AllErrors); err != nil {
				t.Fatalf("main.go does not parse: %v", err)
			}
			if f, _ := format.Source(src); !bytes.Equal(f, src) {
				t.Errorf("main.go is not gofmt-clean")
			}
			routes, stages, auths, integs := 0, 0, 0, 0
			perms := 0
			for _, a := range sp.APIs {
				routes += len(a.Routes)
				stages += len(a.Stages)
				auths += len(a.Authorizers)
				integs += len(a.Integrations)
				invoked := map[string]bool{}
				for _, in := range a.Integrations {
					if in.Type == spec.AWSProxy {
						invoked[in.Function] = true
					}
				}
				for _, au := range a.Authorizers {
					if au.Type == spec.AuthorizerRequest {
						invoked[au.Function] = true
					}
				}
				perms += len(invoked)
			}
			roles := len(sp.Roles)
			for _, fn := range sp.Functions {
				if fn.Role == "" {
					roles++
					break
				}
			}
			want := []struct {
				ctor string
				n    int
			}{
				{"lambda.NewFunction(", len(sp.Functions)},
				{"lambda.NewPermission(", perms},
				{"iam.NewRole(", roles},
				{"s3.NewBucketV2(", len(sp.Buckets)},
				{"apigatewayv2.NewApi(", len(sp.APIs)},
				{"apigatewayv2.NewIntegration(", integs},
				{"apigatewayv2.NewRoute(", routes},
				{"apigatewayv2.NewAuthorizer(", auths},
				{"apigatewayv2.NewStage(", stages},
			}
			for _, w := range want {
				if got := strings.Count(string(src), w.ctor); got != w.n {
					t.Errorf("%s: got %d, want %d", w.ctor, got, w.n)
				}
			}
			if len(sp.APIs) > 0 && !strings.Contains(string(src), `ctx.Export("api_endpoint`) {
				t.Errorf("no api_endpoint export")
			}
			for _, f := range []string{"Pulumi.yaml", "go.mod", "go.sum", "README.md"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			if mod, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !strings.HasPrefix(string(mod), "module "+name+"\n") {
				t.Errorf("go.mod does not declare module %s:\n%s", name, mod)
			}
			if sum, _ := os.ReadFile(filepath.Join(dir, "go.sum")); !bytes.Equal(sum, goSum) {
				t.Errorf("go.sum is not go.sum.txt")
			}
			py, _ := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
			if !strings.Contains(string(py), "name: "+name+"\n") || !strings.Contains(string(py), "runtime: go\n") {
				t.Errorf("Pulumi.yaml = %q", py)
			}
			for fname, fn := range sp.Functions {
				ents, err := os.ReadDir(fn.Code)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					if e.Type().IsRegular() {
						if _, err := os.Stat(filepath.Join(dir, "functions", fname, e.Name())); err != nil {
							t.Errorf("function %s: %s not copied: %v", fname, e.Name(), err)
						}
					}
				}
			}
		})
	}
}

func TestGoldenSeed(t *testing.T) {
	for _, name := range []string{"seed", "access"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(load(t, name), dir); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"main.go", "README.md"} {
				got, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+"."+f+".golden")
				if *update {
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
		})
	}
}

func TestSeedProgram(t *testing.T) {
	dir := t.TempDir()
	w, err := WriteReport(load(t, "seed"), dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	src := strings.Join(strings.Fields(string(raw)), " ")
	for _, want := range []string{
		`Principal: pulumi.String("apigateway.amazonaws.com")`,
		`SourceArn: pulumi.Sprintf("%s/*/*", apiAiServicesHttpApi.ExecutionArn)`,
		`IntegrationUri: fnAiServiceFunction.InvokeArn`,
		`Code: pulumi.NewFileArchive("./functions/aiServiceFunction")`,
		`Source: pulumi.NewFileAsset("./buckets/models/model.json")`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("main.go lacks %s", want)
		}
	}
	if len(w.NotExported) != 0 {
		t.Errorf("NotExported = %v, want none", w.NotExported)
	}
	if _, err := os.Stat(filepath.Join(dir, "buckets", "models", "model.json")); err != nil {
		t.Errorf("bucket contents not copied: %v", err)
	}
}

func TestNotExportedListed(t *testing.T) {
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"access", []string{"usagePlans.free", "apiKeys.alice", "accessKeys.demo", `routes["GET /keyed"].apiKeyRequired`, "account throttle"}},
		{"ai", []string{"openAICompatible", "upstreams: failover", "maxConcurrency", "invokeMode RESPONSE_STREAM", "tokenLimits", "timeoutInMillis 300000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(load(t, tt.name), dir); err != nil {
				t.Fatal(err)
			}
			src, _ := os.ReadFile(filepath.Join(dir, "main.go"))
			readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			for _, w := range tt.want {
				if !strings.Contains(string(src), w) {
					t.Errorf("main.go does not list %q", w)
				}
				if !strings.Contains(string(readme), w) {
					t.Errorf("README.md does not list %q", w)
				}
			}
		})
	}
}

func TestGoFunctionBuildStep(t *testing.T) {
	dir := t.TempDir()
	if err := Write(load(t, "functions"), dir); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	if !strings.Contains(string(src), `"bootstrap": pulumi.NewFileAsset("./functions/goHello/bootstrap")`) {
		t.Errorf("main.go does not archive the built bootstrap")
	}
	if !strings.Contains(string(readme), "GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap") {
		t.Errorf("README.md lacks the bootstrap build step")
	}
	if _, err := os.Stat(filepath.Join(dir, "functions", "goHello", "go.mod")); err != nil {
		t.Errorf("go function has no module of its own: %v", err)
	}
}

func TestWriteBadOutput(t *testing.T) {
	sp := load(t, "seed")
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir, want string
	}{
		{"file in the way", file, "not a directory"},
		{"parent is a file", filepath.Join(file, "out"), "create output directory"},
		{"inside a code directory", filepath.Join(sp.Functions["aiServiceFunction"].Code, "out"), "inside"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(sp, tt.dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.name == "inside a code directory" {
				os.RemoveAll(tt.dir)
			}
		})
	}
	if err := Write(nil, tmp); err == nil {
		t.Errorf("nil spec: no error")
	}
}
