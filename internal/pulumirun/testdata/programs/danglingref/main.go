// Program danglingref checks a route whose target names an integration that was never registered ("integrations/nope").
package main

import (
	"programs/internal/awsres"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		aws := pulumi.Version(awsres.ProviderVersion)

		var api awsres.API
		if err := ctx.RegisterResource("aws:apigatewayv2/api:Api", "api", pulumi.Map{
			"protocolType": pulumi.String("HTTP"),
		}, &api, aws); err != nil {
			return err
		}
		var route awsres.Route
		if err := ctx.RegisterResource("aws:apigatewayv2/route:Route", "route", pulumi.Map{
			"apiId":    api.ID(),
			"routeKey": pulumi.String("GET /"),
			"target":   pulumi.String("integrations/nope"),
		}, &route, aws); err != nil {
			return err
		}
		return nil
	})
}
