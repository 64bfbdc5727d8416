// Program compileerror checks a program that does not compile (a string where an int belongs).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		var retentionInDays int = "seven"
		ctx.Export("retentionInDays", pulumi.Int(retentionInDays))
		return nil
	})
}
