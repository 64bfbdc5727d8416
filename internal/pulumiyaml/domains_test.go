package pulumiyaml

import (
	"reflect"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

// TestDomainNames translates DomainName and ApiMapping resources into the
// spec's domainNames, and refuses what has no local equivalent.
func TestDomainNames(t *testing.T) {
	stage := "  prod:\n    type: aws:apigatewayv2/stage:Stage\n    properties:\n      apiId: ${api.id}\n      name: prod\n      autoDeploy: true\n"
	domain := func(name, extra string) string {
		return "  dn:\n    type: aws:apigatewayv2/domainName:DomainName\n    properties:\n      domainName: " + name + "\n" +
			"      domainNameConfiguration: {certificateArn: arn:aws:acm:us-east-1:000000000000:certificate/x, endpointType: REGIONAL, securityPolicy: TLS_1_2}\n" + extra
	}
	mapping := "  m:\n    type: aws:apigatewayv2/apiMapping:ApiMapping\n    properties:\n      apiId: ${api.id}\n      domainName: ${dn.id}\n      stage: ${prod.id}\n      apiMappingKey: v1\n"
	outputs := "outputs:\n  target: ${dn.domainNameConfiguration.targetDomainName}\n"

	p := loadFiles(t, head+fn+api+stage+mapping+domain("shop.localhost", "")+outputs, []string{"app/index.py"}, "")
	s := p.Spec
	want := []*spec.APIMapping{{API: "api", Stage: "prod", APIMappingKey: "v1"}}
	d := s.DomainNames["shop.localhost"]
	if d == nil || len(d.APIMappings) != 1 {
		t.Fatalf("domainNames = %+v\n%s", s.DomainNames, p.SpecText)
	}
	got := *d.APIMappings[0]
	got.Pos = spec.Pos{}
	if !reflect.DeepEqual(&got, want[0]) {
		t.Errorf("mapping = %+v, want %+v", got, want[0])
	}
	if len(p.Outputs) != 1 || p.Outputs[0].Value != "shop.localhost" {
		t.Errorf("outputs = %+v", p.Outputs)
	}

	loadFiles(t, head+fn+api+stage+domain("api.example.com", ""), []string{"app/index.py"}, "34:19: resource dn: domainName \"api.example.com\": Portico serves")
	loadFiles(t, head+fn+api+stage+domain("shop.localhost", "      mutualTlsAuthentication: {truststoreUri: s3://b/k}\n"), []string{"app/index.py"}, "36:32: resource dn: mutualTlsAuthentication is not supported")
	loadFiles(t, head+fn+api+stage+"  m:\n    type: aws:apigatewayv2/apiMapping:ApiMapping\n    properties:\n      apiId: ${api.id}\n      domainName: nowhere.localhost\n      stage: prod\n", []string{"app/index.py"}, "35:19: resource m: domainName \"nowhere.localhost\" does not refer")
}
