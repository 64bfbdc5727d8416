package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	cryptotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// tls measures TLS termination in front of the same upstream: nginx
// (`listen ssl`) against `portico up --tls-listen`, both with one ECDSA
// P-256 certificate and TLS 1.3, over HTTPS/1.1 keep-alive connections.
func (h *harness) tls(ctx context.Context) (*Scenario, error) {
	s := &Scenario{ID: "tls", Title: "TLS termination: HTTP_PROXY over HTTPS vs nginx"}
	if h.peers.wrk == "" || h.peers.nginx == "" {
		s.Status = "skipped: needs wrk and nginx (" + h.peers.why["wrk"] + h.peers.why["nginx"] + ")"
		return s, nil
	}
	_, upURL, _, _, err := h.upstreamAndRevproxy(ctx, h.upstreamBin)
	if err != nil {
		return s, err
	}
	dir := filepath.Join(h.work, "tls")
	cert, key, err := writeCertificate(dir)
	if err != nil {
		return s, err
	}
	listen := regexp.MustCompile(`listen (127\.0\.0\.1:\d+);`)
	ng, ngURL, err := startNginx(ctx, h.cl, h.peers.nginx, dir, strings.TrimPrefix(upURL, "http://"), func(conf string) string {
		return listen.ReplaceAllString(conf, fmt.Sprintf("listen $1 ssl;\n        ssl_certificate %s;\n        ssl_certificate_key %s;\n        ssl_protocols TLSv1.3;", cert, key))
	})
	if err != nil {
		return s, err
	}
	spec := filepath.Join(dir, "portico", "portico.yaml")
	if err := writeFile(spec, gatewaySpec(upURL)); err != nil {
		return s, err
	}
	pt, err := startPortico(ctx, h.cl, h.porticoBin, spec, "--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	if err != nil {
		s.Notes = append(s.Notes, "portico: failed to start: "+err.Error())
		return s, nil
	}
	if pt.tls == "" {
		return s, fmt.Errorf("portico printed no gateway-tls line")
	}
	s.Notes = append(s.Notes,
		"Both terminate TLS 1.3 with the same ECDSA P-256 certificate and proxy to the gateway scenario's upstream over plain HTTP/1.1 keep-alive.",
		"Baseline: nginx with `worker_processes 1`, `listen ssl`; Portico: `portico up --tls-listen --tls-cert --tls-key` (HTTP/1.1 through the framing guard).",
		"Load: wrk (1 thread) over HTTPS/1.1 keep-alive connections: handshakes are not measured, record encryption is.")
	s.Commands = []string{"wrk -t1 -c{1,64} -d" + fmt.Sprint(int(h.dur.Seconds())) + "s --timeout 5s -s bench.lua https://127.0.0.1:PORT/small"}
	ngHTTPS := "https://" + strings.TrimPrefix(ngURL, "http://")
	caPEM, err := os.ReadFile(cert)
	if err != nil {
		return s, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	trust := &cryptotls.Config{RootCAs: roots}
	for _, k := range []struct {
		name string
		conc int
	}{{caseSmall1, 1}, {caseSmall64, 64}} {
		c := &Case{Name: k.name, Baseline: "nginx", Metrics: []string{mRPS, mP50, mP99, mCPU, mPeak}}
		ts := []target{
			{name: "nginx", load: load{URL: ngHTTPS + "/small", Method: http.MethodGet, TLS: trust}, pid: ng.pid(), tree: true, memTree: true, wrk: true},
			{name: "portico", load: load{URL: pt.tls + "/proxy/small", Method: http.MethodGet, TLS: trust}, pid: pt.pid(), tree: true, wrk: true},
		}
		if err := h.runCase(ctx, s.ID, c, k.conc, ts); err != nil {
			return s, err
		}
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}

// writeCertificate writes a self-signed ECDSA P-256 certificate for
// localhost and 127.0.0.1, and its key, into dir.
func writeCertificate(dir string) (certFile, keyFile string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}
