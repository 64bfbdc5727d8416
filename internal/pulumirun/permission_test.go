package pulumirun

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/pulumiyaml"
)

func TestMissingPermissions(t *testing.T) {
	fn := pulumiyaml.Registration{Type: typeFunction, Name: "aiServiceFunction", Inputs: map[string]any{}}
	integration := pulumiyaml.Registration{Type: typeIntegration, Name: "lambdaIntegration",
		Origin: pulumiyaml.Origin{File: "/p/__main__.py", Line: 44},
		Inputs: map[string]any{"apiId": "aiServicesHttpApi", "integrationType": "AWS_PROXY",
			"integrationUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:aiServiceFunction/invocations"}}
	permission := func(principal, function string) pulumiyaml.Registration {
		return pulumiyaml.Registration{Type: typePermission, Name: "invoke", Inputs: map[string]any{"principal": principal, "function": function}}
	}
	tests := []struct {
		name    string
		regs    []pulumiyaml.Registration
		runtime string
		want    []string // in the one warning; none when nil
	}{
		{"the seed: no permission", []pulumiyaml.Registration{fn, integration}, "python", []string{
			"integration lambdaIntegration (__main__.py:44) invokes function aiServiceFunction",
			"no aws:lambda:Permission", `500 {"message":"Internal Server Error"}`,
			`aws.lambda_.Permission("aiServiceFunctionInvoke"`, `principal="apigateway.amazonaws.com"`}},
		{"typescript snippet", []pulumiyaml.Registration{fn, integration}, "nodejs", []string{`new aws.lambda.Permission("aiServiceFunctionInvoke", {`}},
		{"permission by name", []pulumiyaml.Registration{fn, integration, permission("apigateway.amazonaws.com", "aiServiceFunction")}, "python", nil},
		{"permission by ARN", []pulumiyaml.Registration{fn, integration, permission("apigateway.amazonaws.com", "arn:aws:lambda:us-east-1:000000000000:function:aiServiceFunction")}, "go", nil},
		{"permission for another principal", []pulumiyaml.Registration{fn, integration, permission("s3.amazonaws.com", "aiServiceFunction")}, "go", []string{"lambda.NewPermission(ctx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, unpermitted := missingPermissions(tt.runtime, tt.regs)
			if tt.want == nil {
				if len(got) != 0 || len(unpermitted) != 0 {
					t.Errorf("warnings = %q, unpermitted %v, want none", got, unpermitted)
				}
				return
			}
			if !unpermitted["lambdaIntegration"] {
				t.Errorf("unpermitted = %v, want lambdaIntegration", unpermitted)
			}
			if len(got) != 1 {
				t.Fatalf("warnings = %q, want one", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("warning =\n%s\nwant it to contain %q", got[0], w)
				}
			}
		})
	}
}
