package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/edge"
	"github.com/portico-dev/portico/internal/integration"
)

// Custom domain names and API mappings (API Gateway's DomainName and
// ApiMapping). A request whose host is a domain name of the deployment is
// routed by that domain's mappings alone: the mapping whose key is the
// longest run of leading path segments selects the API and stage, the key
// is stripped from the path, and the stage name is not part of the path.

// Domain is a custom domain name with its API mappings.
type Domain struct {
	Name string // lower case; "*.example.com" matches one more label
	// Certificate is served to clients that ask for Name (SNI); nil
	// leaves the choice to the listener's own certificates.
	Certificate *tls.Certificate
	// ClientCAs, when set, make the domain require a client certificate
	// that chains to one of them (mutual TLS): the handshake fails
	// without one, and a request for the domain over a connection that
	// did not verify one for it is refused with 403.
	ClientCAs *x509.CertPool
	mappings  []domainMapping // longest key first
}

type domainMapping struct {
	key   string // "" or segments without leading or trailing "/"
	api   *API
	stage *Stage
}

// NewDomain returns a domain name without mappings.
func NewDomain(name string, cert *tls.Certificate, clientCAs *x509.CertPool) *Domain {
	return &Domain{Name: strings.ToLower(name), Certificate: cert, ClientCAs: clientCAs}
}

// Map sends the requests whose path starts with the segments of key (""
// for every path) to api's stage.
func (dm *Domain) Map(key string, api *API, stage string) error {
	st := api.stages[stage]
	if st == nil {
		return fmt.Errorf("domain %s: api %s has no stage %q", dm.Name, api.Name, stage)
	}
	for _, m := range dm.mappings {
		if m.key == key {
			return fmt.Errorf("domain %s: api mapping key %q is mapped twice", dm.Name, key)
		}
	}
	dm.mappings = append(dm.mappings, domainMapping{key: key, api: api, stage: st})
	sort.SliceStable(dm.mappings, func(i, j int) bool { return len(dm.mappings[i].key) > len(dm.mappings[j].key) })
	return nil
}

// match returns the mapping of rawPath and the path left once its key is
// stripped.
func (dm *Domain) match(rawPath string) (*domainMapping, string) {
	for i := range dm.mappings {
		m := &dm.mappings[i]
		if m.key == "" {
			return m, rawPath
		}
		rest, ok := strings.CutPrefix(rawPath, "/"+m.key)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		if rest == "" {
			rest = "/"
		}
		return m, rest
	}
	return nil, ""
}

// SetDomains gives the deployment its custom domain names.
func (d *Deployment) SetDomains(domains []*Domain) {
	d.domains = make(map[string]*Domain, len(domains))
	for _, dm := range domains {
		d.domains[dm.Name] = dm
	}
}

// domain returns the domain name host (any case, port or not) is, or nil:
// an exact name first, then a wildcard one label up.
func (d *Deployment) domain(host string) *Domain {
	if len(d.domains) == 0 {
		return nil
	}
	host = strings.ToLower(strings.TrimSuffix(hostOnly(host), "."))
	if dm := d.domains[host]; dm != nil {
		return dm
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		return d.domains["*"+host[i:]]
	}
	return nil
}

// viaDomain resolves a request for the custom domain dm: its API, stage
// and path (the mapping key stripped), after checking mutual TLS; the
// client's certificate goes to ir.
func viaDomain(dm *Domain, r *http.Request, ir *integration.Request, rawPath string) (*API, *Stage, string, error) {
	if dm.ClientCAs != nil {
		// The certificate was verified in the handshake; the connection
		// must also have been made for this domain, so that a client
		// cannot handshake for another name and then ask for this one.
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 || !nameMatches(dm.Name, r.TLS.ServerName) {
			return nil, nil, "", edge.New(edge.Forbidden, errors.New("mutual TLS: no client certificate verified for "+dm.Name))
		}
		ir.ClientCert = r.TLS.PeerCertificates[0]
	}
	m, path := dm.match(rawPath)
	if m == nil {
		return nil, nil, "", edge.New(edge.NotFound, fmt.Errorf("domain %s: no api mapping for path %q", dm.Name, rawPath))
	}
	return m.api, m.stage, path, nil
}

// nameMatches reports whether server name sni is pattern (a name, or a
// wildcard "*.example.com" covering one label).
func nameMatches(pattern, sni string) bool {
	sni = strings.ToLower(strings.TrimSuffix(sni, "."))
	if pattern == sni {
		return true
	}
	if rest, ok := strings.CutPrefix(pattern, "*"); ok {
		i := strings.IndexByte(sni, '.')
		return i > 0 && sni[i:] == rest
	}
	return false
}

// TLSConfig returns base for a TLS listener of s, with each custom domain
// name's certificate and client CAs (mutual TLS) applied to the handshakes
// that ask for it (SNI), as the current deployment has them.
func (s *Server) TLSConfig(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		d := s.current.Load()
		if d == nil || len(d.domains) == 0 || hello.ServerName == "" {
			return nil, nil
		}
		dm := d.domain(hello.ServerName)
		if dm == nil || (dm.Certificate == nil && dm.ClientCAs == nil) {
			return nil, nil
		}
		c := base.Clone()
		if dm.Certificate != nil {
			c.Certificates, c.GetCertificate = []tls.Certificate{*dm.Certificate}, nil
		}
		if dm.ClientCAs != nil {
			c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, dm.ClientCAs
		}
		return c, nil
	}
	return cfg
}
