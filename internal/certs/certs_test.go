package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCovers(t *testing.T) {
	for name, want := range map[string]bool{
		"localhost": true, "api.localhost": true, "a.b.LOCALHOST.": true, "127.0.0.1": true, "::1": true,
		".localhost": false, "localhost.example.com": false, "example.com": false, "10.0.0.1": false, "": false,
	} {
		if got := Covers(name); got != want {
			t.Errorf("Covers(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestLocalCA creates a CA, reloads it from its files, and verifies the
// certificates it issues the way a client trusting ca.pem would.
func TestLocalCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil || !again.Certificate().Equal(ca.Certificate()) {
		t.Fatalf("reload: %v, same CA %v", err, err == nil && again.Certificate().Equal(ca.Certificate()))
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	for _, name := range []string{"api.localhost", "localhost", "127.0.0.1"} {
		c, err := again.Issue(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ca.Issue("example.com"); err == nil || !strings.Contains(err.Error(), "not localhost") {
		t.Errorf("issue example.com: %v, want a refusal", err)
	}
	if c1, _ := ca.Issue("api.localhost"); c1 != nil {
		if c2, _ := ca.Issue("API.localhost."); c2 != c1 {
			t.Error("a second request for the same name issued a new certificate")
		}
	}
}

func TestLoadOrCreateCABadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, CAFile), []byte("not PEM"), 0o644)
	os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("not PEM"), 0o600)
	if _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), CAFile) {
		t.Errorf("got %v, want an error naming %s", err, CAFile)
	}
}

// TestServerConfigPicksBySNI: a handshake for a name a file covers gets
// that file's certificate; a localhost name gets the CA's.
func TestServerConfigPicksBySNI(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadOrCreateCA(t.TempDir()) // stands in for a file's issuer
	if err != nil {
		t.Fatal(err)
	}
	fileCert, err := other.Issue("files.localhost")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig([]tls.Certificate{*fileCert}, ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for _, tt := range []struct {
		name string
		want *CA
	}{{"files.localhost", other}, {"api.localhost", ca}, {"", ca}} {
		roots := x509.NewCertPool()
		roots.AddCert(tt.want.Certificate())
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: tt.name, RootCAs: roots,
			InsecureSkipVerify: tt.name == "", VerifyConnection: func(cs tls.ConnectionState) error {
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: hostOr(tt.name, ln.Addr())})
				return err
			}})
		if err != nil {
			t.Errorf("%q: %v", tt.name, err)
			continue
		}
		c.Close()
	}
}

func hostOr(name string, a net.Addr) string {
	if name != "" {
		return name
	}
	return a.(*net.TCPAddr).IP.String()
}
