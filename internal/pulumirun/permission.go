package pulumirun

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/pulumiyaml"
)

// The type tokens the permission check reads, as the SDKs send them.
const (
	typeIntegration = "aws:apigatewayv2/integration:Integration"
	typePermission  = "aws:lambda/permission:Permission"
	typeFunction    = "aws:lambda/function:Function"
)

// missingPermissions lists what AWS would do differently with regs: an
// AWS_PROXY integration whose function has no aws:lambda:Permission for
// apigateway.amazonaws.com is served locally, but on AWS API Gateway may
// not invoke the function and every request to its routes gets 500
// Internal Server Error. Each warning names the integration (with the
// program line that registered it), the function, and the resource to add,
// written in the program's language. unpermitted holds those
// integrations' resource names.
func missingPermissions(runtime string, regs []pulumiyaml.Registration) (warnings []string, unpermitted map[string]bool) {
	permitted := map[string]bool{}   // function name or ARN
	functions := map[string]string{} // function name or ARN -> resource name
	for _, r := range regs {
		switch r.Type {
		case typePermission:
			if p, _ := r.Inputs["principal"].(string); p == "apigateway.amazonaws.com" || p == "*" {
				if fn, _ := r.Inputs["function"].(string); fn != "" {
					permitted[fn] = true
				}
			}
		case typeFunction:
			id, outs := pulumiyaml.Outputs("", r, pulumiyaml.Options{})
			functions[id] = r.Name
			if arn, ok := outs["arn"].(string); ok {
				functions[arn] = r.Name
			}
		}
	}
	unpermitted = map[string]bool{}
	for _, r := range regs {
		if r.Type != typeIntegration || !strings.EqualFold(str(r.Inputs["integrationType"]), "AWS_PROXY") {
			continue
		}
		uri := str(r.Inputs["integrationUri"])
		fnARN := uri
		if i := strings.Index(uri, "/functions/"); i >= 0 {
			fnARN = strings.TrimSuffix(uri[i+len("/functions/"):], "/invocations")
		}
		fn, ok := functions[fnARN]
		if !ok {
			continue
		}
		name := fnARN[strings.LastIndex(fnARN, ":")+1:]
		if permitted[fnARN] || permitted[name] || permitted[fn] {
			continue
		}
		unpermitted[r.Name] = true
		where := ""
		if r.Origin.File != "" {
			where = fmt.Sprintf(" (%s:%d)", filepath.Base(r.Origin.File), r.Origin.Line)
		}
		warnings = append(warnings, fmt.Sprintf(
			"integration %s%s invokes function %s, but no aws:lambda:Permission lets apigateway.amazonaws.com invoke it: "+
				"Portico serves its routes; on AWS every request to them answers 500 {\"message\":\"Internal Server Error\"}. Add:\n%s",
			r.Name, where, fn, permissionSnippet(runtime, fn, str(r.Inputs["apiId"]))))
	}
	sort.Strings(warnings)
	return warnings, unpermitted
}

// permissionSnippet is the aws:lambda:Permission to add, in the program's
// language; FUNCTION and API stand for the program's variables holding
// the function and the API.
func permissionSnippet(runtime, fn, api string) string {
	switch runtime {
	case "python":
		return fmt.Sprintf(`    aws.lambda_.Permission("%sInvoke",
        action="lambda:InvokeFunction",
        function=FUNCTION.name,  # the aws.lambda_.Function %q
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(API.execution_arn, "/*/*"),  # the aws.apigatewayv2.Api %q
    )`, fn, fn, api)
	case "nodejs":
		return fmt.Sprintf(`    new aws.lambda.Permission("%sInvoke", {
        action: "lambda:InvokeFunction",
        function: FUNCTION.name, // the aws.lambda.Function %q
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`+"`${API.executionArn}/*/*`"+`, // the aws.apigatewayv2.Api %q
    });`, fn, fn, api)
	}
	return fmt.Sprintf(`    lambda.NewPermission(ctx, "%sInvoke", &lambda.PermissionArgs{
        Action:    pulumi.String("lambda:InvokeFunction"),
        Function:  FUNCTION.Name, // the lambda.Function %q
        Principal: pulumi.String("apigateway.amazonaws.com"),
        SourceArn: pulumi.Sprintf("%%s/*/*", API.ExecutionArn), // the apigatewayv2.Api %q
    })`, fn, fn, api)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
