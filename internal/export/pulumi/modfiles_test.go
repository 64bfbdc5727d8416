package pulumi

import (
	"context"
	"flag"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var tidy = flag.Bool("tidy", false, "rewrite go.mod.txt and go.sum.txt with `go mod tidy` (downloads modules missing from the module cache)")

// programImports lists every package a program Write produces may import.
var programImports = []string{
	"encoding/json",
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2",
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch",
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam",
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda",
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3",
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi",
}

// TestModFiles checks that the embedded go.mod and go.sum were tidied for
// the versions this package names and for every import a program can have.
// With -tidy it first rewrites them: the only way they should change.
func TestModFiles(t *testing.T) {
	if *tidy {
		retidy(t)
	}
	for _, m := range []struct{ path, version string }{
		{"github.com/pulumi/pulumi-aws/sdk/v6", AWSSDKVersion},
		{"github.com/pulumi/pulumi/sdk/v3", PulumiSDKVersion},
	} {
		if !strings.Contains(goModTemplate, "\t"+m.path+" "+m.version+"\n") {
			t.Errorf("go.mod.txt does not require %s %s (run go test -tidy)", m.path, m.version)
		}
		if !strings.Contains(string(goSum), m.path+" "+m.version+" h1:") {
			t.Errorf("go.sum.txt has no hash of %s %s (run go test -tidy)", m.path, m.version)
		}
	}
	if goDirective(goModTemplate) == "" {
		t.Errorf("go.mod.txt has no go directive")
	}

	// Every import of every example's program must be one retidy declares.
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "examples", "*", "portico.yaml"))
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		dir := t.TempDir()
		if err := Write(load(t, name), dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pf, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, "main.go"), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, im := range pf.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			if !slices.Contains(programImports, p) {
				t.Errorf("%s: main.go imports %s, which programImports lacks: add it and run go test -tidy", name, p)
			}
		}
	}
}

// retidy writes go.mod.txt and go.sum.txt as `go mod tidy` writes them for a
// module that imports every package in programImports and holds
// testdata/graph_test.go, the mocks the graph test adds to a program.
func retidy(t *testing.T) {
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, p := range programImports {
		if strings.HasSuffix(p, "/pulumi") {
			src.WriteString("\t" + strconv.Quote(p) + "\n")
		} else {
			src.WriteString("\t_ " + strconv.Quote(p) + "\n")
		}
	}
	src.WriteString(")\n\nfunc main() { pulumi.Run(deploy) }\n\nfunc deploy(*pulumi.Context) error { return nil }\n")
	mocks, err := os.ReadFile(filepath.Join("testdata", "graph_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module portico-export\n\ngo 1.24\n\nrequire (\n" +
		"\tgithub.com/pulumi/pulumi-aws/sdk/v6 " + AWSSDKVersion + "\n" +
		"\tgithub.com/pulumi/pulumi/sdk/v3 " + PulumiSDKVersion + "\n)\n"
	for name, data := range map[string]string{"go.mod": gomod, "main.go": src.String(), "graph_test.go": string(mocks)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f+".txt", data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("rewrote go.mod.txt and go.sum.txt; run the tests again to embed them")
}
