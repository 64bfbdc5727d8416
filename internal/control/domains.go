package control

import (
	"crypto/x509"
	"fmt"

	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/spec"
)

// domains compiles the spec's custom domain names and API mappings onto
// the deployment's APIs.
func domains(sp *spec.Spec, apis []*gateway.API) ([]*gateway.Domain, error) {
	byName := make(map[string]*gateway.API, len(apis))
	for _, a := range apis {
		byName[a.Name] = a
	}
	var out []*gateway.Domain
	for _, name := range sortedKeys(sp.DomainNames) {
		d := sp.DomainNames[name]
		var cas *x509.CertPool
		if m := d.MutualTLSAuthentication; m != nil {
			cas = x509.NewCertPool()
			if !cas.AppendCertsFromPEM(m.TruststorePEM) {
				return nil, fmt.Errorf("domain %s: truststore holds no certificate", name)
			}
		}
		dm := gateway.NewDomain(name, d.Certificate, cas)
		for _, m := range d.APIMappings {
			a := byName[sp.APIs[m.API].Name]
			if a == nil {
				return nil, fmt.Errorf("domain %s: no api %s", name, m.API)
			}
			if err := dm.Map(m.APIMappingKey, a, m.Stage); err != nil {
				return nil, err
			}
		}
		out = append(out, dm)
	}
	return out, nil
}
