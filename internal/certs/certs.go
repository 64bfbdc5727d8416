// Package certs provides the gateway's server certificates: key pairs
// loaded from PEM files, chosen by the client's server name (SNI), and a
// local certificate authority that Portico creates in its state directory
// to issue certificates for "localhost" and "*.localhost" names on demand.
//
// The local CA is for development on one machine: its key stays in the
// state directory (mode 0600), and a client trusts it only once its user
// has been told to (see Trust).
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Pair names a certificate chain file and its private key file (PEM).
type Pair struct{ CertFile, KeyFile string }

// LoadPairs loads every pair; the errors name the files.
func LoadPairs(pairs []Pair) ([]tls.Certificate, error) {
	var out []tls.Certificate
	for _, p := range pairs {
		c, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certificate %s with key %s: %w", p.CertFile, p.KeyFile, err)
		}
		if c.Leaf == nil {
			if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
				return nil, fmt.Errorf("certificate %s: %w", p.CertFile, err)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// The local CA's files, in its directory.
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"
)

// CA is a local certificate authority. It issues, and keeps in memory, one
// certificate per server name. Safe for concurrent use.
type CA struct {
	Dir  string // where ca.pem and ca-key.pem are
	cert *x509.Certificate
	key  crypto.Signer

	mu     sync.Mutex
	issued map[string]*tls.Certificate
}

// LoadOrCreateCA loads the CA kept in dir, or creates one there (a P-256
// key, valid ten years) when dir has none.
func LoadOrCreateCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		if err := createCA(dir); err != nil {
			return nil, fmt.Errorf("local CA: create in %s: %w", dir, err)
		}
		certPEM, err = os.ReadFile(certPath)
	}
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("local CA %s: %w", certPath, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("local CA %s: %w", certPath, err)
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("local CA %s: not a CA certificate with a signing key", certPath)
	}
	return &CA{Dir: dir, cert: cert, key: signer, issued: map[string]*tls.Certificate{}}, nil
}

func createCA(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"Portico local CA"}, CommonName: "Portico local CA " + now.UTC().Format("2006-01-02 15:04")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// The key first: a directory with ca.pem and no key is not a CA.
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

// Path is the CA certificate's file, the one clients are told to trust.
func (ca *CA) Path() string { return filepath.Join(ca.Dir, CAFile) }

// Certificate returns the CA's certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// Covers reports whether the CA issues certificates for name: "localhost",
// a name under ".localhost", or an IP address of the loopback interface.
func Covers(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if ip := net.ParseIP(name); ip != nil {
		return ip.IsLoopback()
	}
	return name == "localhost" || (strings.HasSuffix(name, ".localhost") && len(name) > len(".localhost"))
}

// Issue returns a certificate for name (see Covers), issuing it on first
// use. An empty name (a client that sent no SNI) gets one for localhost and
// the loopback addresses.
func (ca *CA) Issue(name string) (*tls.Certificate, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		name = "localhost"
	}
	if !Covers(name) {
		return nil, fmt.Errorf("local CA: %q is not localhost, a *.localhost name or a loopback address", name)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.issued[name]; c != nil && time.Now().Before(c.Leaf.NotAfter.Add(-time.Hour)) {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"Portico local CA"}, CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(0, 0, 90),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
		if name == "localhost" {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("local CA: issue %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}
	ca.issued[name] = c
	return c, nil
}

// ServerConfig returns the TLS configuration of a listener that serves
// certs, chosen by the client's server name, and, for names they do not
// cover and clients that send no name (an IP address in the URL),
// certificates that ca issues (ca may be nil); without ca, the first of
// certs. It offers HTTP/2 and
// HTTP/1.1 (ALPN), TLS 1.2 and later.
func ServerConfig(certs []tls.Certificate, ca *CA) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		name := hello.ServerName
		if name == "" && hello.Conn != nil {
			// No SNI (a URL with an IP address): the address dialled.
			if a, ok := hello.Conn.LocalAddr().(*net.TCPAddr); ok {
				name = a.IP.String()
			}
		}
		for i := range certs {
			if hello.ServerName != "" && hello.SupportsCertificate(&certs[i]) == nil {
				return &certs[i], nil
			}
			if hello.ServerName == "" && name != "" && certs[i].Leaf != nil && certs[i].Leaf.VerifyHostname(name) == nil {
				return &certs[i], nil
			}
		}
		if ca != nil && (name == "" || Covers(name)) {
			return ca.Issue(name)
		}
		if len(certs) > 0 {
			return &certs[0], nil // the client sees the name mismatch
		}
		return nil, fmt.Errorf("no certificate for server name %q", hello.ServerName)
	}
	return cfg
}

// Trust returns the instructions that make clients trust the CA at path.
func Trust(path string) string {
	return fmt.Sprintf(`Portico's local CA: %[1]s
It signs certificates for localhost, *.localhost and loopback addresses, for the gateway's TLS listener.

Trust it:
  curl:            curl --cacert %[1]s https://api.localhost:8443/
  Debian/Ubuntu:   sudo cp %[1]s /usr/local/share/ca-certificates/portico-local-ca.crt && sudo update-ca-certificates
  Fedora/RHEL:     sudo cp %[1]s /etc/pki/ca-trust/source/anchors/portico-local-ca.pem && sudo update-ca-trust
  macOS:           sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %[1]s
  Python/boto3:    export AWS_CA_BUNDLE=%[1]s  (requests: REQUESTS_CA_BUNDLE)
  Node.js:         export NODE_EXTRA_CA_CERTS=%[1]s
  Chrome/Chromium: Settings > Privacy and security > Security > Manage certificates > Authorities > Import
  Firefox:         Settings > Privacy & Security > Certificates > View Certificates > Authorities > Import

Remove the trust (and the files) when you no longer need it: whoever holds the key can sign for these names.
`, path)
}
