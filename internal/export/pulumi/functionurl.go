package pulumi

import (
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// functionURL writes a function's URL as an aws.lambda.FunctionUrl and
// returns its export: function_url_NAME, the URL AWS assigns.
func functionURL(g *gen, name string, u *spec.FunctionURL, fnVar string) [2]string {
	var args strings.Builder
	fmt.Fprintf(&args, "FunctionName: %s.Name,\nAuthorizationType: pulumi.String(%s),\n", fnVar, q(u.AuthorizationType))
	if u.InvokeMode != "" {
		fmt.Fprintf(&args, "InvokeMode: pulumi.String(%s),\n", q(u.InvokeMode))
	}
	if c := u.Cors; c != nil {
		args.WriteString("Cors: &lambda.FunctionUrlCorsArgs{\n")
		for _, f := range []struct {
			field string
			list  []string
		}{{"AllowOrigins", c.AllowOrigins}, {"AllowMethods", c.AllowMethods}, {"AllowHeaders", c.AllowHeaders}, {"ExposeHeaders", c.ExposeHeaders}} {
			if len(f.list) > 0 {
				fmt.Fprintf(&args, "%s: %s,\n", f.field, strArray(f.list))
			}
		}
		if c.MaxAge != nil {
			fmt.Fprintf(&args, "MaxAge: pulumi.Int(%d),\n", *c.MaxAge)
		}
		if c.AllowCredentials {
			args.WriteString("AllowCredentials: pulumi.Bool(true),\n")
		}
		args.WriteString("},\n")
	}
	v := g.ident("url", name)
	g.p("// Function URL of %s.\n", name)
	g.p("%s, err := lambda.NewFunctionUrl(ctx, %s, &lambda.FunctionUrlArgs{\n%s})\nif err != nil {\nreturn err\n}\n", v, q(name+"-url"), args.String())
	return [2]string{"function_url_" + name, v + ".FunctionUrl"}
}
