package control

import (
	"net/http"

	"github.com/portico-dev/portico/internal/spec"
)

// The custom domain names of the spec (docs/domains.md) as apigatewayv2's
// GetDomainNames, GetDomainName, GetApiMappings and GetApiMapping answer
// them. A domain's certificate is a file or Portico's local CA, never an
// ACM certificate: CertificateArn is left out.

type domainNameOut struct {
	APIMappingSelectionExpression string            `json:"apiMappingSelectionExpression"`
	DomainName                    string            `json:"domainName"`
	DomainNameConfigurations      []domainConfigOut `json:"domainNameConfigurations"`
	MutualTLSAuthentication       *mutualTLSOut     `json:"mutualTlsAuthentication,omitempty"`
	Tags                          map[string]string `json:"tags"`
}

type domainConfigOut struct {
	APIGatewayDomainName string `json:"apiGatewayDomainName"`
	DomainNameStatus     string `json:"domainNameStatus"`
	EndpointType         string `json:"endpointType"`
	SecurityPolicy       string `json:"securityPolicy"`
}

type mutualTLSOut struct {
	TruststoreURI string `json:"truststoreUri"`
}

type apiMappingOut struct {
	APIID         string `json:"apiId"`
	APIMappingID  string `json:"apiMappingId"`
	APIMappingKey string `json:"apiMappingKey"`
	Stage         string `json:"stage"`
}

func domainOut(d *spec.DomainName) domainNameOut {
	out := domainNameOut{APIMappingSelectionExpression: "$request.basepath", DomainName: d.Name, Tags: map[string]string{},
		// Portico answers for the name itself: it is its own target.
		DomainNameConfigurations: []domainConfigOut{{APIGatewayDomainName: d.Name, DomainNameStatus: "AVAILABLE",
			EndpointType: "REGIONAL", SecurityPolicy: "TLS_1_2"}}}
	if m := d.MutualTLSAuthentication; m != nil {
		out.MutualTLSAuthentication = &mutualTLSOut{TruststoreURI: "file://" + m.TruststoreFile}
	}
	return out
}

func mappingsOut(sp *spec.Spec, d *spec.DomainName) []apiMappingOut {
	out := []apiMappingOut{}
	for _, m := range d.APIMappings {
		id := m.API
		if a := sp.APIs[m.API]; a != nil {
			id = a.ID
		}
		out = append(out, apiMappingOut{APIID: id, APIMappingID: resourceID(d.Name, "apimapping", m.APIMappingKey),
			APIMappingKey: m.APIMappingKey, Stage: m.Stage})
	}
	return out
}

// domain finds the request's {domainName}.
func (v mgmtView) domain(r *http.Request) (*spec.DomainName, error) {
	name := r.PathValue("domainName")
	if v.sp != nil {
		if d := v.sp.DomainNames[name]; d != nil {
			return d, nil
		}
	}
	return nil, apigwNotFound("domain name", name)
}

func (c *Controller) getDomainNames(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	items := []domainNameOut{}
	if v.sp != nil {
		for _, name := range sortedKeys(v.sp.DomainNames) {
			items = append(items, domainOut(v.sp.DomainNames[name]))
		}
	}
	writeItems(w, r, items)
}

func (c *Controller) getDomainName(w http.ResponseWriter, r *http.Request) {
	d, err := c.view().domain(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, domainOut(d))
}

func (c *Controller) getAPIMappings(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	d, err := v.domain(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeItems(w, r, mappingsOut(v.sp, d))
}

func (c *Controller) getAPIMapping(w http.ResponseWriter, r *http.Request) {
	v := c.view()
	d, err := v.domain(r)
	if err != nil {
		writeError(w, err)
		return
	}
	id := r.PathValue("apiMappingId")
	for _, m := range mappingsOut(v.sp, d) {
		if m.APIMappingID == id {
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	writeError(w, apigwNotFound("ApiMapping", id))
}
