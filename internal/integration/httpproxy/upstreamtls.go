package httpproxy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
)

// UpstreamTLS tunes how a Proxy verifies its https upstreams (API
// Gateway's integration TlsConfig, plus a CA of Portico's).
type UpstreamTLS struct {
	// ServerName is sent in the handshake (SNI) and verified against the
	// upstream's certificate instead of the URI's host (API Gateway's
	// serverNameToVerify). "" keeps the URI's host.
	ServerName string
	// CAPEM holds the certificates (PEM) the upstream's chain must lead
	// to, in place of the system roots. Empty means the Transport's roots.
	CAPEM []byte
}

// tlsKey and roots compile t: connections to the same address share a pool
// only when they verify the same way.
func (t *UpstreamTLS) compile() (key tlsKey, roots *x509.CertPool, err error) {
	if t == nil {
		return tlsKey{}, nil, nil
	}
	key.serverName = t.ServerName
	if len(t.CAPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(t.CAPEM) {
			return tlsKey{}, nil, errors.New("tls: no PEM certificate in the CA")
		}
		sum := sha256.Sum256(t.CAPEM)
		key.ca = hex.EncodeToString(sum[:])
	}
	return key, roots, nil
}

// tlsKey is the part of a pool's key that says how it verifies upstreams.
type tlsKey struct {
	serverName string // "" for the address's host
	ca         string // SHA-256 of the CA PEM, "" for the Transport's roots
}
