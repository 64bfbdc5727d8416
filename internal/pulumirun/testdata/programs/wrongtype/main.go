// Program wrongtype checks a property of the wrong type: a function whose runtime is the number 42.
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
			"runtime": pulumi.Int(42),
			"handler": pulumi.String("handler.main"),
			"code":    pulumi.NewFileArchive("./app"),
		}, &fn, aws); err != nil {
			return err
		}
		return nil
	})
}
