package pulumi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

// TestDomainNamesExport writes a program for a spec with custom domain
// names and API mappings, checks the resources it declares and compiles
// it (go vet) against the pinned SDKs.
func TestDomainNamesExport(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := `functions:
  f: {runtime: python3.12, handler: app.handler, code: app}
apis:
  shop:
    integrations:
      up: {type: HTTP_PROXY, uri: "https://example.com/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: up}
    stages:
      prod: {autoDeploy: true}
domainNames:
  shop.localhost:
    apiMappings:
      - {api: shop, stage: prod}
      - {api: shop, stage: prod, apiMappingKey: v1}
`
	sp, err := spec.Parse(filepath.Join(dir, "portico.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := Write(sp, out); err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(out, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`apigatewayv2.NewDomainName(ctx, "shop.localhost"`,
		`ctx.GetConfig(`, `certificateArn-shop-localhost")`,
		`apigatewayv2.NewApiMapping(ctx, "shop.localhost-0"`,
		`ApiMappingKey: pulumi.String("v1")`,
		`DomainNameConfiguration.TargetDomainName()`,
	} {
		if !strings.Contains(string(main), want) {
			t.Errorf("main.go lacks %s:\n%s", want, main)
		}
	}
	requirePulumiModules(t)
	goCmd(t, out, nil, "vet", ".")
}
