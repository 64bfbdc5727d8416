// Program unsupported checks resource types Portico does not emulate (an SQS queue, a DynamoDB table) next to ones it does.
package main

import (
	"programs/internal/awsres"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		aws := pulumi.Version(awsres.ProviderVersion)

		var role awsres.Role
		if err := ctx.RegisterResource("aws:iam/role:Role", "role", pulumi.Map{
			"assumeRolePolicy": pulumi.String(awsres.LambdaAssumeRolePolicy),
		}, &role, aws); err != nil {
			return err
		}
		var fn awsres.Function
		if err := ctx.RegisterResource("aws:lambda/function:Function", "fn", pulumi.Map{
			"role":    role.ARN,
			"runtime": pulumi.String("python3.12"),
			"handler": pulumi.String("handler.main"),
			"code":    pulumi.NewFileArchive("./app"),
		}, &fn, aws); err != nil {
			return err
		}

		var queue awsres.Queue
		if err := ctx.RegisterResource("aws:sqs/queue:Queue", "jobs", pulumi.Map{
			"visibilityTimeoutSeconds": pulumi.Int(30),
		}, &queue, aws); err != nil {
			return err
		}
		var table awsres.Table
		if err := ctx.RegisterResource("aws:dynamodb/table:Table", "items", pulumi.Map{
			"billingMode": pulumi.String("PAY_PER_REQUEST"),
			"hashKey":     pulumi.String("id"),
			"attributes": pulumi.Array{pulumi.Map{
				"name": pulumi.String("id"),
				"type": pulumi.String("S"),
			}},
		}, &table, aws); err != nil {
			return err
		}

		ctx.Export("functionArn", fn.ARN)
		ctx.Export("queueUrl", queue.URL)
		ctx.Export("tableName", table.Name)
		return nil
	})
}
