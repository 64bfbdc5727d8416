package pulumiyaml

import (
	"fmt"
	"slices"
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
// permission whose sourceArn matches none of the execute-api ARNs the
// integration's routes are invoked with does not count either (see
// routeARNs for the routes that are not checked).
func (t *translation) missingPermissions() (warnings []string, unpermitted []unpermittedIntegration) {
	l := t.l
	grants := map[*resource][]*resource{} // function -> its permissions for API Gateway
	for _, r := range l.order {
		if r.typ != tPermission {
			continue
		}
		if p, _ := t.literal(r, "principal"); p == apiGatewayPrincipal || p == "*" {
			if fn := t.quietRef(r, "function", tFunction); fn != nil {
				grants[fn] = append(grants[fn], r)
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
		if fn == nil {
			continue
		}
		if len(grants[fn]) > 0 {
			arns, sure := t.routeARNs(r, api)
			var scoped *resource // a permission whose sourceArn matches none of arns
			var src string
			for _, g := range grants[fn] {
				s, ok := t.literal(g, "sourceArn")
				if !ok || s == "" || !sure || slices.ContainsFunc(arns, func(a string) bool { return arnLike(s, a) }) {
					scoped = nil
					break
				}
				scoped, src = g, s
			}
			if scoped == nil {
				continue
			}
			unpermitted = append(unpermitted, unpermittedIntegration{api: api.name, key: t.key[r]})
			warnings = append(warnings, fmt.Sprintf(
				"integration %s (%s) invokes function %s, but the sourceArn %q of its aws:lambda:Permission %s (%s) matches none of the ARNs its routes are invoked with (%s): "+
					"Portico serves its routes; on AWS every request to them answers 500 {\"message\":\"Internal Server Error\"}. "+
					"Give the permission the API's executionArn followed by /*/* (every stage, method and path)",
				r.name, l.where(r.node), fn.name, src, scoped.name, l.where(scoped.node), strings.Join(arns, ", ")))
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

// routeARNs lists the execute-api ARNs API Gateway invokes integ's
// function with: arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH
// for each of api's stages and integ's routes. sure is false when a route
// is invoked with ARNs that depend on the request (the $default route,
// ANY, path parameters), which are then not checked.
func (t *translation) routeARNs(integ, api *resource) (arns []string, sure bool) {
	l := t.l
	var stages []string
	for _, r := range l.order {
		if r.typ == tStage && t.quietRef(r, "apiId", tAPI) == api {
			if s, ok := t.literal(r, "name"); ok {
				stages = append(stages, s)
			}
		}
	}
	exec, _ := api.computed(l)["executionArn"].(string)
	for _, r := range l.order {
		if r.typ != tRoute || t.quietRef(r, "apiId", tAPI) != api {
			continue
		}
		target, _ := t.literal(r, "target")
		if id, ok := strings.CutPrefix(target, "integrations/"); !ok || l.find(id, tIntegration) != integ {
			continue
		}
		key, _ := t.literal(r, "routeKey")
		method, path, ok := strings.Cut(key, " ")
		if !ok || method == "ANY" || strings.Contains(path, "{") {
			return nil, false
		}
		for _, s := range stages {
			arns = append(arns, exec+"/"+s+"/"+method+path)
		}
	}
	return arns, len(arns) > 0
}

// arnLike matches s against an ARN pattern as IAM's ArnLike does: "*"
// stands for any run of characters ("/" included), "?" for one.
func arnLike(pattern, s string) bool {
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(s) {
		switch {
		case i < len(pattern) && (pattern[i] == '?' || pattern[i] == s[j]):
			i++
			j++
		case i < len(pattern) && pattern[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(pattern) && pattern[i] == '*' {
		i++
	}
	return i == len(pattern)
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
