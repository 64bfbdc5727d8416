package pulumiyaml

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Custom domain names and API mappings: aws:apigatewayv2:DomainName and
// aws:apigatewayv2:ApiMapping become the spec's domainNames.

const (
	tDomainName = "aws:apigatewayv2:DomainName"
	tAPIMapping = "aws:apigatewayv2:ApiMapping"
)

// domainOutputs adds the outputs AWS computes for a DomainName: its id
// and name are the domain name; the target of its DNS record is, locally,
// the name itself (Portico answers for it).
func domainOutputs(out map[string]any, prop func(string) (string, bool), name string) string {
	id := name
	if n, ok := prop("domainName"); ok {
		id = n
	}
	out["domainName"] = id
	out["arn"] = "arn:aws:apigateway:" + Region + "::/domainnames/" + id
	out["apiMappingSelectionExpression"] = "$request.basepath"
	out["domainNameConfiguration"] = map[string]any{"targetDomainName": id, "endpointType": "REGIONAL", "securityPolicy": "TLS_1_2"}
	return id
}

// domainName translates a DomainName. Its ACM certificate has no local
// counterpart: names under .localhost get theirs from Portico's local CA,
// others are refused. Mutual TLS needs a truststore file, which a program
// cannot name yet: refused rather than served without it.
func (t *translation) domainName(r *resource) {
	l := t.l
	name, n, _ := l.str(r, "domainName", true)
	if name == "" {
		return
	}
	if name != "localhost" && !strings.HasSuffix(name, ".localhost") {
		l.errorf(n, "resource %s: domainName %q: Portico serves a program's custom domain names only under .localhost, with certificates from its local CA (an ACM certificateArn has no local equivalent; give other names certificate files in a spec's domainNames)", r.name, name)
		return
	}
	if _, mn, ok := l.prop(r, "mutualTlsAuthentication"); ok {
		l.errorf(mn, "resource %s: mutualTlsAuthentication is not supported in Pulumi programs yet (use a spec's domainNames with truststoreFile)", r.name)
		return
	}
	if !t.claim(r, n, "domain name", name, "domainNames") {
		return
	}
	t.b.mapping(pos(n), "domainNames", name)
}

// apiMapping translates an ApiMapping onto its domain name's apiMappings.
func (t *translation) apiMapping(r *resource) {
	l := t.l
	api := l.refTo(r, "apiId", true, tAPI)
	dom := l.refTo(r, "domainName", true, tDomainName)
	stage, sn, _ := l.str(r, "stage", true)
	if api == nil || dom == nil || stage == "" {
		return
	}
	if st := l.find(stage, tStage); st != nil {
		stage = st.computed(l)["id"].(string)
	}
	name, _ := dom.computed(l)["domainName"].(string)
	m := map[string]any{"api": t.key[api], "stage": stage}
	if key, _, ok := l.str(r, "apiMappingKey", false); ok {
		m["apiMappingKey"] = key
	}
	d := t.b.mapping(pos(sn), "domainNames", name)
	var list *yaml.Node
	for i := 0; i+1 < len(d.Content); i += 2 {
		if d.Content[i].Value == "apiMappings" {
			list = d.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		d.Content = append(d.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "apiMappings"}, list)
	}
	e := valueNode(m)
	e.HeadComment = at(pos(nameNode(r, "apiId")))
	list.Content = append(list.Content, e)
}
