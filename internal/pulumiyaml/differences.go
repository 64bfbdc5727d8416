package pulumiyaml

import (
	"fmt"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// What AWS would do differently with a program, said once for every
// language: a YAML program and the registrations of a Go, Python or
// Node.js program reach this check through the same loader. The list of
// differences Portico tolerates on purpose is in docs/pulumi.md
// ("Differences from `pulumi up` on AWS"); those clients would notice are
// warned about here and, with Options.Strict, made to behave as on AWS.

// unpermittedIntegration is an AWS_PROXY integration whose function grants
// API Gateway no aws:lambda:Permission.
type unpermittedIntegration struct {
	api, key string // the spec's API and integration names
}

// missingPermissions finds the AWS_PROXY integrations whose function has
// no aws:lambda:Permission for apigateway.amazonaws.com (or "*"): Portico
// serves their routes, but on AWS API Gateway may not invoke the function
// and every request answers 500 {"message":"Internal Server Error"}. Each
// warning names the integration with its place in the program, the
// function, and the resource to add, written in opts.Language. A
// permission's sourceArn is not checked.
func (t *translation) missingPermissions() (warnings []string, unpermitted []unpermittedIntegration) {
	l := t.l
	permitted := map[*resource]bool{}
	for _, r := range l.order {
		if r.typ != tPermission {
			continue
		}
		if p, _ := t.literal(r, "principal"); p == apiGatewayPrincipal || p == "*" {
			if fn := t.quietRef(r, "function", tFunction); fn != nil {
				permitted[fn] = true
			}
		}
	}
	for _, r := range l.order {
		api := t.apiOf[r]
		if r.typ != tIntegration || api == nil {
			continue
		}
		if typ, _ := t.literal(r, "integrationType"); !strings.EqualFold(typ, spec.AWSProxy) {
			continue
		}
		fn := t.quietRef(r, "integrationUri", tFunction)
		if fn == nil || permitted[fn] {
			continue
		}
		unpermitted = append(unpermitted, unpermittedIntegration{api: api.name, key: t.key[r]})
		warnings = append(warnings, fmt.Sprintf(
			"integration %s (%s) invokes function %s, but no aws:lambda:Permission lets apigateway.amazonaws.com invoke it: "+
				"Portico serves its routes; on AWS every request to them answers 500 {\"message\":\"Internal Server Error\"}. Add:\n%s",
			r.name, l.where(r.node), fn.name, permissionSnippet(l.opts.Language, fn.name, api.name)))
	}
	sort.Strings(warnings)
	return warnings, unpermitted
}

// literal is r's property key evaluated to a string ("" when it is not one).
func (t *translation) literal(r *resource, key string) (string, bool) {
	v, err := t.l.eval(orNull(get(r.props, key)))
	s, ok := v.(string)
	return s, err == nil && ok
}

// markUnpermitted makes the integrations list answer as on AWS (see
// spec.Integration.Unpermitted).
func markUnpermitted(s *spec.Spec, list []unpermittedIntegration) {
	for _, u := range list {
		if a := s.APIs[u.api]; a != nil {
			if in := a.Integrations[u.key]; in != nil {
				in.Unpermitted = true
			}
		}
	}
}

// permissionSnippet is the aws:lambda:Permission to add, in the program's
// language (Options.Language). fn and api are the function's and the API's
// resource names; other languages than YAML name them in comments, and
// FUNCTION and API stand for the program's variables holding them.
func permissionSnippet(language, fn, api string) string {
	switch language {
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
	case "go":
		return fmt.Sprintf(`    lambda.NewPermission(ctx, "%sInvoke", &lambda.PermissionArgs{
        Action:    pulumi.String("lambda:InvokeFunction"),
        Function:  FUNCTION.Name, // the lambda.Function %q
        Principal: pulumi.String("apigateway.amazonaws.com"),
        SourceArn: pulumi.Sprintf("%%s/*/*", API.ExecutionArn), // the apigatewayv2.Api %q
    })`, fn, fn, api)
	}
	return fmt.Sprintf(`  %sInvoke:
    type: aws:lambda:Permission
    properties:
      action: lambda:InvokeFunction
      function: ${%s.name}
      principal: apigateway.amazonaws.com
      sourceArn: ${%s.executionArn}/*/*`, fn, fn, api)
}
