// Program good checks the whole path: a small system wired through outputs, IDs, stack config and a component, serving GET /hello.
package main

import (
	"programs/internal/awsres"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// service is a component resource that groups the function, as a library
// of Pulumi components would.
type service struct {
	pulumi.ResourceState
}

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		greeting := config.Require(ctx, "greeting")
		aws := pulumi.Version(awsres.ProviderVersion)

		var role awsres.Role
		if err := ctx.RegisterResource("aws:iam/role:Role", "role", pulumi.Map{
			"assumeRolePolicy": pulumi.String(awsres.LambdaAssumeRolePolicy),
		}, &role, aws); err != nil {
			return err
		}

		var svc service
		if err := ctx.RegisterComponentResource("programs:index:Service", "hello", &svc); err != nil {
			return err
		}
		var fn awsres.Function
		if err := ctx.RegisterResource("aws:lambda/function:Function", "fn", pulumi.Map{
			"role":    role.ARN,
			"runtime": pulumi.String("python3.12"),
			"handler": pulumi.String("handler.main"),
			"code":    pulumi.NewFileArchive("./app"),
			"environment": pulumi.Map{
				"variables": pulumi.StringMap{"GREETING": pulumi.String(greeting)},
			},
		}, &fn, pulumi.Parent(&svc), aws); err != nil {
			return err
		}
		if err := ctx.RegisterResourceOutputs(&svc, pulumi.Map{"functionName": fn.Name}); err != nil {
			return err
		}

		// The log group Lambda writes to, named after the function.
		var logs awsres.LogGroup
		if err := ctx.RegisterResource("aws:cloudwatch/logGroup:LogGroup", "logs", pulumi.Map{
			"name": fn.Name.ApplyT(func(name string) string {
				return "/aws/lambda/" + name
			}).(pulumi.StringOutput),
			"retentionInDays": pulumi.Int(7),
		}, &logs, aws); err != nil {
			return err
		}

		var api awsres.API
		if err := ctx.RegisterResource("aws:apigatewayv2/api:Api", "api", pulumi.Map{
			"protocolType": pulumi.String("HTTP"),
		}, &api, aws); err != nil {
			return err
		}
		var integration awsres.Integration
		if err := ctx.RegisterResource("aws:apigatewayv2/integration:Integration", "integration", pulumi.Map{
			"apiId":                api.ID(),
			"integrationType":      pulumi.String("AWS_PROXY"),
			"integrationUri":       fn.InvokeARN,
			"payloadFormatVersion": pulumi.String("2.0"),
		}, &integration, aws); err != nil {
			return err
		}
		var route awsres.Route
		if err := ctx.RegisterResource("aws:apigatewayv2/route:Route", "route", pulumi.Map{
			"apiId":    api.ID(),
			"routeKey": pulumi.String("GET /hello"),
			"target":   pulumi.Sprintf("integrations/%s", integration.ID()),
		}, &route, aws); err != nil {
			return err
		}
		var stage awsres.Stage
		if err := ctx.RegisterResource("aws:apigatewayv2/stage:Stage", "stage", pulumi.Map{
			"apiId":      api.ID(),
			"name":       pulumi.String("$default"),
			"autoDeploy": pulumi.Bool(true),
		}, &stage, aws, pulumi.DependsOn([]pulumi.Resource{&route})); err != nil {
			return err
		}
		var permission awsres.Permission
		if err := ctx.RegisterResource("aws:lambda/permission:Permission", "invoke", pulumi.Map{
			"action":    pulumi.String("lambda:InvokeFunction"),
			"function":  fn.Name,
			"principal": pulumi.String("apigateway.amazonaws.com"),
			"sourceArn": pulumi.Sprintf("%s/*/*", api.ExecutionARN),
		}, &permission, aws); err != nil {
			return err
		}

		ctx.Export("url", api.APIEndpoint)
		ctx.Export("functionArn", fn.ARN)
		return nil
	})
}
