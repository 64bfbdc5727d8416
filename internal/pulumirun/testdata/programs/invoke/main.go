// Program invoke checks data sources: caller identity, region, partition and an IAM policy document, whose JSON becomes a role's trust policy.
package main

import (
	"programs/internal/awsres"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		aws := pulumi.Version(awsres.ProviderVersion)

		var caller awsres.CallerIdentity
		if err := ctx.Invoke("aws:index/getCallerIdentity:getCallerIdentity", nil, &caller, aws); err != nil {
			return err
		}
		var region awsres.Region
		if err := ctx.Invoke("aws:index/getRegion:getRegion", nil, &region, aws); err != nil {
			return err
		}
		var partition awsres.Partition
		if err := ctx.Invoke("aws:index/getPartition:getPartition", nil, &partition, aws); err != nil {
			return err
		}
		var trust awsres.PolicyDocument
		if err := ctx.Invoke("aws:iam/getPolicyDocument:getPolicyDocument", awsres.PolicyDocumentArgs{
			Statements: []awsres.PolicyStatement{{
				Effect:  "Allow",
				Actions: []string{"sts:AssumeRole"},
				Principals: []awsres.PolicyPrincipal{{
					Type:        "Service",
					Identifiers: []string{"lambda.amazonaws.com"},
				}},
			}},
		}, &trust, aws); err != nil {
			return err
		}

		var role awsres.Role
		if err := ctx.RegisterResource("aws:iam/role:Role", "role", pulumi.Map{
			"assumeRolePolicy": pulumi.String(trust.JSON),
		}, &role, aws); err != nil {
			return err
		}

		ctx.Export("accountId", pulumi.String(caller.AccountID))
		ctx.Export("region", pulumi.String(region.Name))
		ctx.Export("partition", pulumi.String(partition.Partition))
		ctx.Export("policyJson", pulumi.String(trust.JSON))
		return nil
	})
}
