package pulumiyaml

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

// registrar registers resources as a Pulumi program's monitor sees them:
// inputs resolved from the outputs Outputs gave earlier registrations.
type registrar struct {
	project string
	regs    []Registration
	outs    map[string]map[string]any
}

func (r *registrar) add(typ, name string, line int, in map[string]any) map[string]any {
	reg := Registration{Type: typ, Name: name, Inputs: in, Origin: Origin{File: "/prog/main.go", Line: line, Col: 3}}
	r.regs = append(r.regs, reg)
	id, out := Outputs(r.project, reg, Options{})
	out["id"] = id
	return out
}

// seedRegistrations are the registrations of examples/seed-pulumi's program.
func seedRegistrations() *registrar {
	r := &registrar{project: "seed-pulumi"}
	policy := `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"}}],"Version":"2012-10-17"}`
	role := r.add("aws:iam/role:Role", "lambdaRole", 10, map[string]any{"assumeRolePolicy": policy})
	r.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "basicExecution", 20, map[string]any{
		"role": role["name"], "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"})
	bucket := r.add("aws:s3/bucketV2:BucketV2", "models", 30, map[string]any{"bucket": "models"})
	r.add("aws:iam/rolePolicy:RolePolicy", "readModel", 40, map[string]any{"role": role["id"],
		"policy": `{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"` + bucket["arn"].(string) + `/*"}],"Version":"2012-10-17"}`})
	r.add("aws:s3/bucketObjectv2:BucketObjectv2", "modelObject", 50, map[string]any{
		"bucket": bucket["id"], "key": "model.json", "source": Asset{Path: "../seed/model/model.json"}})
	fn := r.add("aws:lambda/function:Function", "aiServiceFunction", 60, map[string]any{
		"role": role["arn"], "runtime": "python3.8", "handler": "handler.main",
		"code":        Archive{Assets: map[string]any{".": Archive{Path: "../seed/app"}}},
		"environment": map[string]any{"variables": map[string]any{"MODEL_BUCKET": bucket["bucket"], "MODEL_KEY": "model.json"}},
	})
	api := r.add("aws:apigatewayv2/api:Api", "aiServicesHttpApi", 70, map[string]any{"protocolType": "HTTP"})
	integ := r.add("aws:apigatewayv2/integration:Integration", "lambdaIntegration", 80, map[string]any{
		"apiId": api["id"], "integrationType": "AWS_PROXY", "integrationUri": fn["invokeArn"], "payloadFormatVersion": "2.0"})
	r.add("aws:lambda/permission:Permission", "invokePermission", 90, map[string]any{
		"action": "lambda:InvokeFunction", "function": fn["name"], "principal": "apigateway.amazonaws.com",
		"sourceArn": api["executionArn"].(string) + "/*/*"})
	r.add("aws:apigatewayv2/route:Route", "apiGETRoute", 100, map[string]any{
		"apiId": api["id"], "routeKey": "GET /", "target": "integrations/" + integ["id"].(string)})
	r.add("aws:apigatewayv2/stage:Stage", "apiStage", 110, map[string]any{"apiId": api["id"], "name": "v1", "autoDeploy": true})
	return r
}

func TestFromRegistrationsIsTheYAMLModel(t *testing.T) {
	want, err := Load(seedDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := seedRegistrations()
	got, err := FromRegistrations(seedDir, r.project, r.regs, []Output{{Name: "api_endpoint", Value: "http://x"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := scrub(t, got.Spec), scrub(t, want.Spec); g != w {
		t.Errorf("model from registrations:\n%s\nwant (from the YAML program):\n%s", g, w)
	}
	if len(got.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", got.Warnings)
	}
	if len(got.Outputs) != 1 || got.Outputs[0].Name != "api_endpoint" {
		t.Errorf("outputs = %+v", got.Outputs)
	}
}

func TestFromRegistrationsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *registrar)
		want   string // in the error, which is positioned in main.go
	}{
		{"wrong type", func(r *registrar) { r.regs[5].Inputs["runtime"] = 42.0 }, "main.go:60:3: resource aiServiceFunction: runtime must be a string, not a number"},
		{"dangling reference", func(r *registrar) { r.regs[9].Inputs["target"] = "integrations/nope" }, "main.go:100:3: resource apiGETRoute: target \"integrations/nope\""},
		{"unknown api", func(r *registrar) { r.regs[7].Inputs["apiId"] = "nope" }, "main.go:80:3: resource lambdaIntegration: apiId \"nope\" does not refer"},
		{"missing archive", func(r *registrar) { r.regs[5].Inputs["code"] = Archive{Path: "./does-not-exist"} }, "main.go:60:3: (spec)"},
		{"text asset archive", func(r *registrar) {
			r.regs[5].Inputs["code"] = Archive{Assets: map[string]any{"handler.py": Asset{Text: "x"}}}
		}, "main.go:60:3: unsupported function fn::stringAsset"},
		{"asset archive of another file", func(r *registrar) {
			r.regs[5].Inputs["code"] = Archive{Assets: map[string]any{"bootstrap": Asset{Path: "../seed/app/handler.py"}}}
		}, "main.go:60:3: fn::assetArchive: want"},
		{"literal ${ stays literal", func(r *registrar) { r.regs[5].Inputs["runtime"] = "${nope}" }, "(spec) "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := seedRegistrations()
			tt.mutate(r)
			_, err := FromRegistrations(seedDir, r.project, r.regs, nil, Options{})
			var list spec.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want a positioned error list", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err =\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFromRegistrationsWarnsWithSourcePositions(t *testing.T) {
	r := seedRegistrations()
	r.add("aws:sqs/queue:Queue", "jobs", 120, map[string]any{})
	p, err := FromRegistrations(seedDir, r.project, r.regs, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, "jobs (aws:sqs/queue:Queue, main.go:120:3)") {
		t.Errorf("warnings = %q", w)
	}
}

// TestFromRegistrationsBootstrapArchive: the archive `portico export
// pulumi` writes for provided runtimes is the bootstrap's directory.
func TestFromRegistrationsBootstrapArchive(t *testing.T) {
	r := seedRegistrations()
	r.regs[5].Inputs["code"] = Archive{Assets: map[string]any{"bootstrap": Asset{Path: "../seed/app/bootstrap"}}}
	p, err := FromRegistrations(seedDir, r.project, r.regs, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Spec.Functions["aiServiceFunction"].Code; !strings.HasSuffix(filepath.ToSlash(got), "seed/app") {
		t.Errorf("code = %s, want the bootstrap's directory", got)
	}
}
