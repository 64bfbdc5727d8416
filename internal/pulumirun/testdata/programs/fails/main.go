// Program fails checks a program that returns an error ("boom: the program failed") after registering a role.
package main

import (
	"errors"
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
		return errors.New("boom: the program failed")
	})
}
