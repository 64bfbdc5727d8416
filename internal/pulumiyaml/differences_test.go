package pulumiyaml

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedProgram writes the seed's YAML program (examples/seed-pulumi-yaml)
// into a new directory, with or without its aws:lambda:Permission, and
// returns the directory and the line of the lambdaIntegration resource.
// sourceArn, when set, replaces the permission's.
func seedProgram(t *testing.T, permission bool, sourceArn string) (dir string, line int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(seedDir, ProjectFile))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := filepath.Abs(filepath.Join(seedDir, "..", "seed"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "../seed/", filepath.ToSlash(seed)+"/")
	if sourceArn != "" {
		const seedSource = "      sourceArn: ${aiServicesHttpApi.executionArn}/*/*\n"
		if !strings.Contains(text, seedSource) {
			t.Fatal("examples/seed-pulumi-yaml: its permission's sourceArn changed")
		}
		text = strings.Replace(text, seedSource, "      sourceArn: "+sourceArn+"\n", 1)
	}
	if !permission {
		i, j := strings.Index(text, "  # What the seed's program forgets"), strings.Index(text, "  apiGETRoute:")
		if i < 0 || j < i {
			t.Fatal("examples/seed-pulumi-yaml: its invokePermission block moved")
		}
		text = text[:i] + text[j:]
	}
	for i, l := range strings.Split(text, "\n") {
		if l == "  lambdaIntegration:" {
			line = i + 1
		}
	}
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ProjectFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, line
}

// TestMissingPermissionYAML: the seed's YAML program without its
// aws:lambda:Permission warns (with the YAML to add, at the integration's
// file:line:col) and, strict, answers 500 as on AWS; with it, neither.
func TestMissingPermissionYAML(t *testing.T) {
	for _, tt := range []struct {
		name       string
		permission bool
		sourceArn  string
		strict     bool
		want       []string // in the one warning; none when nil
	}{
		{"with a permission", true, "", false, nil},
		{"with a permission, strict", true, "", true, nil},
		{"sourceArn of the route", true, "${aiServicesHttpApi.executionArn}/v1/GET/", true, nil},
		{"sourceArn of the stage", true, "${aiServicesHttpApi.executionArn}/v1/*", true, nil},
		{"sourceArn of the API's arn, not its executionArn", true, "${aiServicesHttpApi.arn}/*/*", true, []string{
			"integration lambdaIntegration (Pulumi.yaml:%d:3) invokes function aiServiceFunction, but the sourceArn \"arn:aws:apigateway:us-east-1::/apis/aiServicesHttpApi/*/*\" of its aws:lambda:Permission invokePermission (Pulumi.yaml:",
			"(arn:aws:execute-api:us-east-1:000000000000:aiServicesHttpApi/v1/GET/)",
			`on AWS every request to them answers 500 {"message":"Internal Server Error"}`}},
		{"sourceArn of another stage", true, "${aiServicesHttpApi.executionArn}/prod/*", false, []string{"matches none of the ARNs its routes are invoked with"}},
		{"without", false, "", false, []string{
			"integration lambdaIntegration (Pulumi.yaml:%d:3) invokes function aiServiceFunction, but no aws:lambda:Permission",
			`on AWS every request to them answers 500 {"message":"Internal Server Error"}`,
			"  aiServiceFunctionInvoke:\n    type: aws:lambda:Permission\n",
			"      function: ${aiServiceFunction.name}\n      principal: apigateway.amazonaws.com\n",
			"      sourceArn: ${aiServicesHttpApi.executionArn}/*/*",
		}},
		{"without, strict", false, "", true, []string{"integration lambdaIntegration (Pulumi.yaml:%d:3)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, line := seedProgram(t, tt.permission, tt.sourceArn)
			p, err := Load(dir, Options{Strict: tt.strict})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if strings.Contains(w, "%d") {
					tt.want[i] = fmt.Sprintf(w, line)
				}
			}
			checkPermissionWarning(t, p, tt.strict, tt.want)
		})
	}
}

// TestMissingPermissionRegistrations: a Go, Python or Node.js program's
// registrations go through the same check, with the resource to add in the
// program's language.
func TestMissingPermissionRegistrations(t *testing.T) {
	code := t.TempDir()
	fn := Registration{Type: "aws:lambda/function:Function", Name: "aiServiceFunction",
		Inputs: map[string]any{"runtime": "python3.12", "handler": "handler.main", "role": "arn:aws:iam::000000000000:role/r", "code": Archive{Path: code}}}
	role := Registration{Type: "aws:iam/role:Role", Name: "r", Inputs: map[string]any{"assumeRolePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}}
	api := Registration{Type: "aws:apigatewayv2/api:Api", Name: "aiServicesHttpApi", Inputs: map[string]any{"protocolType": "HTTP"}}
	integration := Registration{Type: "aws:apigatewayv2/integration:Integration", Name: "lambdaIntegration",
		Origin: Origin{File: "/p/__main__.py", Line: 44},
		Inputs: map[string]any{"apiId": "aiServicesHttpApi", "integrationType": "AWS_PROXY",
			"integrationUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:aiServiceFunction/invocations"}}
	tsIntegration := integration
	tsIntegration.Origin = Origin{File: "/p/index.ts", Line: 30, Col: 21}
	permission := func(principal, function string) Registration {
		return Registration{Type: "aws:lambda/permission:Permission", Name: "invoke",
			Inputs: map[string]any{"action": "lambda:InvokeFunction", "principal": principal, "function": function}}
	}
	base := []Registration{role, fn, api}
	tests := []struct {
		name     string
		regs     []Registration
		language string
		strict   bool
		want     []string // in the one warning; none when nil
	}{
		{"the seed: no permission", append(base, integration), "python", false, []string{
			"integration lambdaIntegration (__main__.py:44) invokes function aiServiceFunction",
			"no aws:lambda:Permission", `500 {"message":"Internal Server Error"}`,
			`aws.lambda_.Permission("aiServiceFunctionInvoke"`, `principal="apigateway.amazonaws.com"`}},
		{"strict", append(base, integration), "python", true, []string{"integration lambdaIntegration (__main__.py:44)"}},
		{"typescript: with a column", append(base, tsIntegration), "nodejs", false, []string{
			"integration lambdaIntegration (index.ts:30:21)", `new aws.lambda.Permission("aiServiceFunctionInvoke", {`}},
		{"go", append(base, integration), "go", false, []string{"lambda.NewPermission(ctx"}},
		{"permission by name", append(base, integration, permission("apigateway.amazonaws.com", "aiServiceFunction")), "python", true, nil},
		{"permission by ARN", append(base, integration, permission("apigateway.amazonaws.com", "arn:aws:lambda:us-east-1:000000000000:function:aiServiceFunction")), "go", true, nil},
		{"permission for any principal", append(base, integration, permission("*", "aiServiceFunction")), "go", false, nil},
		{"permission for another principal", append(base, integration, permission("s3.amazonaws.com", "aiServiceFunction")), "go", false, []string{"lambda.NewPermission(ctx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := FromRegistrations(t.TempDir(), "proj", tt.regs, nil, Options{Strict: tt.strict, Language: tt.language})
			if err != nil {
				t.Fatal(err)
			}
			checkPermissionWarning(t, p, tt.strict, tt.want)
		})
	}
}

// checkPermissionWarning checks p's missing-permission warning: none (and
// the seed's integration served) when want is nil, else one holding each
// of want, with the integration answering 500 exactly when strict.
func checkPermissionWarning(t *testing.T, p *Program, strict bool, want []string) {
	t.Helper()
	var got []string
	for _, w := range p.Warnings {
		if strings.Contains(w, "aws:lambda:Permission") {
			got = append(got, w)
		}
	}
	unpermitted := p.Spec.APIs["aiServicesHttpApi"].Integrations["lambdaIntegration"].Unpermitted
	if want == nil {
		if len(got) != 0 || unpermitted {
			t.Errorf("warnings = %q, unpermitted %v, want none", got, unpermitted)
		}
		return
	}
	if unpermitted != strict {
		t.Errorf("unpermitted = %v, want %v", unpermitted, strict)
	}
	if len(got) != 1 {
		t.Fatalf("warnings = %q, want one", got)
	}
	for _, w := range want {
		if !strings.Contains(got[0], w) {
			t.Errorf("warning =\n%s\nwant it to contain %q", got[0], w)
		}
	}
}

func TestARNLike(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:000000000000:api/v1/GET/items"
	for _, tt := range []struct {
		pattern string
		want    bool
	}{
		{arn, true},
		{"arn:aws:execute-api:us-east-1:000000000000:api/*/*", true},
		{"arn:aws:execute-api:us-east-1:000000000000:api/*", true},
		{"arn:aws:execute-api:*:*:api/v?/GET/items", true},
		{"*", true},
		{"arn:aws:execute-api:us-east-1:000000000000:api/prod/*", false},
		{"arn:aws:execute-api:us-east-1:000000000000:api2/*/*", false},
		{"arn:aws:execute-api:us-east-1:000000000000:api/v1/GET/items/", false},
		{"", false},
	} {
		if got := arnLike(tt.pattern, arn); got != tt.want {
			t.Errorf("arnLike(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}
