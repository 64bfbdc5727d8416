package pulumi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/spec"
)

// domainNames writes the spec's custom domain names and their API
// mappings. On AWS a domain's certificate is an ACM certificate: the
// program reads its ARN from the stack's config. A truststore must be in
// S3: mutual TLS is left as a comment saying what to upload.
func (g *gen) domainNames(sp *spec.Spec, apiVars map[string]string, stageVars map[string]map[string]string) {
	if len(sp.APIs) == 0 {
		return // no apigatewayv2 import; a domain without APIs serves nothing
	}
	for _, name := range sortedKeys(sp.DomainNames) {
		d := sp.DomainNames[name]
		v := g.ident("domain", name)
		g.used[v] = true
		key := "certificateArn-" + strings.NewReplacer(".", "-", "*", "wildcard").Replace(name)
		g.p("\n// Custom domain name %s. Its certificate comes from ACM on AWS:\n//   pulumi config set %s arn:aws:acm:REGION:ACCOUNT:certificate/ID\n", name, key)
		g.p("%sCert, _ := ctx.GetConfig(%s)\n", v, q(projectName(sp)+":"+key))
		var args strings.Builder
		fmt.Fprintf(&args, "DomainName: pulumi.String(%s),\n", q(name))
		fmt.Fprintf(&args, "DomainNameConfiguration: &apigatewayv2.DomainNameDomainNameConfigurationArgs{\nCertificateArn: pulumi.String(%sCert),\nEndpointType: pulumi.String(\"REGIONAL\"),\nSecurityPolicy: pulumi.String(\"TLS_1_2\"),\n},\n", v)
		if m := d.MutualTLSAuthentication; m != nil {
			fmt.Fprintf(&args, "// Mutual TLS: upload %s to S3 and set\n// MutualTlsAuthentication: &apigatewayv2.DomainNameMutualTlsAuthenticationArgs{TruststoreUri: pulumi.String(\"s3://BUCKET/KEY\")},\n", q(m.TruststoreFile))
		}
		g.decl(v, fmt.Sprintf("apigatewayv2.NewDomainName(ctx, %s, &apigatewayv2.DomainNameArgs{\n%s})", q(name), args.String()))
		for i, m := range d.APIMappings {
			var margs strings.Builder
			fmt.Fprintf(&margs, "ApiId: %s.ID(),\nDomainName: %s.ID(),\nStage: %s.ID(),\n", apiVars[m.API], v, stageVars[m.API][m.Stage])
			if m.APIMappingKey != "" {
				fmt.Fprintf(&margs, "ApiMappingKey: pulumi.String(%s),\n", q(m.APIMappingKey))
			}
			g.decl("", fmt.Sprintf("apigatewayv2.NewApiMapping(ctx, %s, &apigatewayv2.ApiMappingArgs{\n%s})", q(name+"-"+strconv.Itoa(i)), margs.String()))
		}
		g.p("ctx.Export(%s, %s.DomainNameConfiguration.TargetDomainName())\n", q("target_domain_"+strings.ReplaceAll(name, ".", "_")), v)
	}
}
