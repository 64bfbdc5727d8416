package spec

import (
	"crypto/x509"
	"encoding/pem"
	"regexp"
)

// IntegrationTLS is an HTTP_PROXY integration's TLS settings for https
// upstreams: API Gateway's integration TlsConfig, plus a CA of Portico's.
type IntegrationTLS struct {
	Pos Pos `yaml:"-"`
	// ServerNameToVerify is sent in the handshake (SNI) and checked
	// against the upstream's certificate instead of the URI's host.
	ServerNameToVerify string `yaml:"serverNameToVerify"`
	// CAFile is a PEM file of the certificates the upstream's chain must
	// lead to, in place of the system roots (Portico's; relative to the
	// spec's directory).
	CAFile string `yaml:"caFile"`
	// CAPEM is CAFile's content, read by the validator.
	CAPEM []byte `yaml:"-"`
}

var hostName = regexp.MustCompile(`^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// tlsConfig checks an integration's tlsConfig and reads its CA file.
func (v *validator) tlsConfig(i *Integration) {
	c := i.TLSConfig
	if c == nil {
		return
	}
	if i.Type != HTTPProxy {
		v.add(v.pos.or(&i.TLSConfig, i.Pos), "tlsConfig: only for HTTP_PROXY integrations")
		return
	}
	if c.ServerNameToVerify != "" && (len(c.ServerNameToVerify) > 253 || !hostName.MatchString(c.ServerNameToVerify)) {
		v.add(v.pos.or(&c.ServerNameToVerify, c.Pos), "serverNameToVerify: %q is not a host name", c.ServerNameToVerify)
	}
	if c.CAFile == "" {
		return
	}
	p := v.pos.or(&c.CAFile, c.Pos)
	b, ok := v.readFile("caFile", c.CAFile, p)
	if ok && v.pemCertificates("caFile", c.CAFile, b, p) {
		c.CAFile, c.CAPEM = v.abs(c.CAFile), b
	}
}

// pemCertificates checks that b, the content of the file written in
// field, holds one or more PEM certificates and nothing unparsable.
func (v *validator) pemCertificates(field, written string, b []byte, p Pos) bool {
	n := 0
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			v.add(p, "%s: %q: certificate %d: %v", field, written, n+1, err)
			return false
		}
		n++
	}
	if n == 0 {
		v.add(p, "%s: %q holds no PEM certificate", field, written)
		return false
	}
	return true
}
