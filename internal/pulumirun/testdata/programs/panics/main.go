// Program panics checks a program that panics ("boom in program") after registering a role.
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
		// Registration is asynchronous: wait until the monitor has answered
		// for the role, so the panic comes after a registration, not before.
		registered := make(chan struct{})
		role.URN().ApplyT(func(pulumi.URN) error {
			close(registered)
			return nil
		})
		<-registered
		panic("boom in program")
	})
}
