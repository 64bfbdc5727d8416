// Program hangs checks a program that registers a role and then never returns.
package main

import (
	"programs/internal/awsres"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		var role awsres.Role
		if err := ctx.RegisterResource("aws:iam/role:Role", "role", pulumi.Map{
			"assumeRolePolicy": pulumi.String(awsres.LambdaAssumeRolePolicy),
		}, &role, pulumi.Version(awsres.ProviderVersion)); err != nil {
			return err
		}
		select {} // never returns
	})
}
