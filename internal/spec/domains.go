package spec

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// DomainName is a custom domain name for HTTP APIs (API Gateway's
// DomainName, with its ApiMappings), keyed by the name itself.
type DomainName struct {
	Name string `yaml:"-"`
	Pos  Pos    `yaml:"-"`
	// CertificateFile and CertificateKeyFile are the domain's certificate
	// chain and key (PEM, relative to the spec). Omitted, a name under
	// .localhost gets one from Portico's local CA.
	CertificateFile    string `yaml:"certificateFile"`
	CertificateKeyFile string `yaml:"certificateKeyFile"`
	// MutualTLSAuthentication makes clients present a certificate that
	// chains to the truststore.
	MutualTLSAuthentication *MutualTLS `yaml:"mutualTlsAuthentication"`
	// APIMappings send the domain's requests to APIs' stages by base path.
	APIMappings []*APIMapping `yaml:"apiMappings"`

	// Certificate is the loaded pair, nil for the local CA.
	Certificate *tls.Certificate `yaml:"-" json:"-"`
}

// MutualTLS is a domain name's mutual TLS setting.
type MutualTLS struct {
	Pos Pos `yaml:"-"`
	// TruststoreFile is a PEM file of the client CAs (API Gateway's
	// truststoreUri, a file here).
	TruststoreFile string `yaml:"truststoreFile"`
	// TruststorePEM is its content, read by the validator.
	TruststorePEM []byte `yaml:"-" json:"-"`
}

// APIMapping maps a base path of a domain name to an API's stage.
type APIMapping struct {
	Pos Pos `yaml:"-"`
	// API names an API of the spec (its key under apis).
	API string `yaml:"api"`
	// Stage names one of the API's stages.
	Stage string `yaml:"stage"`
	// APIMappingKey is the base path: "" (every path) or segments joined
	// by "/", stripped from the path before routing.
	APIMappingKey string `yaml:"apiMappingKey"`
}

var (
	domainNameRe = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	mappingKeyRe = regexp.MustCompile(`^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$`)
)

func (v *validator) domainName(d *DomainName) {
	if len(d.Name) > 253 || !domainNameRe.MatchString(d.Name) {
		v.add(d.Pos, "domain name %q: must be a lower-case host name (a leading \"*.\" for a wildcard)", d.Name)
	}
	certP, keyP := v.pos.or(&d.CertificateFile, d.Pos), v.pos.or(&d.CertificateKeyFile, d.Pos)
	switch {
	case d.CertificateFile == "" && d.CertificateKeyFile == "":
		if d.Name != "localhost" && !strings.HasSuffix(d.Name, ".localhost") {
			v.add(d.Pos, "domain name %q: certificateFile and certificateKeyFile are required (only names under .localhost get certificates from the local CA)", d.Name)
		}
	case d.CertificateFile == "":
		v.add(keyP, "certificateKeyFile: only with certificateFile")
	case d.CertificateKeyFile == "":
		v.add(certP, "certificateFile: needs certificateKeyFile")
	default:
		certPEM, ok1 := v.readFile("certificateFile", d.CertificateFile, certP)
		keyPEM, ok2 := v.readFile("certificateKeyFile", d.CertificateKeyFile, keyP)
		if ok1 && ok2 {
			c, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				v.add(certP, "certificateFile: %q with key %q: %v", d.CertificateFile, d.CertificateKeyFile, err)
			} else {
				d.Certificate = &c
			}
		}
	}
	if m := d.MutualTLSAuthentication; m != nil {
		p := v.pos.or(&m.TruststoreFile, m.Pos)
		if m.TruststoreFile == "" {
			v.add(m.Pos, "mutualTlsAuthentication: truststoreFile is required")
		} else if b, ok := v.readFile("truststoreFile", m.TruststoreFile, p); ok {
			if v.pemCertificates("truststoreFile", m.TruststoreFile, b, p) {
				m.TruststorePEM = b
			}
		}
	}
	keys := map[string]bool{}
	for i, m := range d.APIMappings {
		p := v.pos.entry(&d.APIMappings, strconv.Itoa(i), d.Pos)
		if m.APIMappingKey != "" && !mappingKeyRe.MatchString(m.APIMappingKey) {
			v.add(v.pos.or(&m.APIMappingKey, p), "apiMappingKey: %q must be path segments without a leading or trailing \"/\"", m.APIMappingKey)
		}
		if keys[m.APIMappingKey] {
			v.add(v.pos.or(&m.APIMappingKey, p), "apiMappingKey: %q is mapped twice on domain %q", m.APIMappingKey, d.Name)
		}
		keys[m.APIMappingKey] = true
		a := v.spec.APIs[m.API]
		switch {
		case m.API == "":
			v.add(p, "apiMappings[%d]: api is required", i)
		case a == nil:
			v.add(v.pos.or(&m.API, p), "api: no api named %q", m.API)
		case m.Stage == "":
			v.add(p, "apiMappings[%d]: stage is required", i)
		case a.Stages[m.Stage] == nil:
			v.add(v.pos.or(&m.Stage, p), "stage: api %q has no stage %q", m.API, m.Stage)
		}
	}
}

// abs resolves a path written in the spec against its directory.
func (v *validator) abs(written string) string {
	if filepath.IsAbs(written) {
		return written
	}
	return filepath.Join(v.spec.Dir, written)
}

// readFile reads a file named in the spec (relative to its directory).
func (v *validator) readFile(field, written string, p Pos) ([]byte, bool) {
	b, err := os.ReadFile(v.abs(written))
	if err != nil {
		v.add(p, "%s: %v", field, err)
		return nil, false
	}
	return b, true
}
