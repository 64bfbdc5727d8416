package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// clientPKI writes a client CA (the truststore) and a client certificate
// it signed, with their keys, into dir.
func clientPKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client ca", Organization: []string{"Portico tests"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "alice"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "truststore.pem"), filepath.Join(dir, "alice.pem"), filepath.Join(dir, "alice-key.pem")
	for f, b := range map[string][]byte{
		caFile:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// TestCustomDomains runs custom domain names on the real binary's TLS
// listener with curl: API mappings by base path (longest first, stripped,
// the stage from the mapping), a certificate file for a domain, and mutual
// TLS refused at the handshake without a client certificate and at the
// request when the handshake was for another name.
func TestCustomDomains(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("Forwarded"))
	}))
	defer upstream.Close()
	dir := t.TempDir()
	_, aliceCert, aliceKey := clientPKI(t, dir) // truststore.pem beside the spec
	filesCert, filesKey := selfSigned(t, dir, "api.example.test")
	spec := fmt.Sprintf(`apis:
  shop:
    integrations:
      up: {type: HTTP_PROXY, uri: "%[1]s/shop/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: up}
    stages:
      prod: {autoDeploy: true}
  orders:
    integrations:
      up: {type: HTTP_PROXY, uri: "%[1]s/orders/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: up}
    stages:
      $default: {autoDeploy: true}
domainNames:
  shop.localhost:
    apiMappings:
      - {api: shop, stage: prod}
      - {api: orders, stage: $default, apiMappingKey: orders}
      - {api: shop, stage: prod, apiMappingKey: orders/legacy}
  api.example.test:
    certificateFile: %[2]s
    certificateKeyFile: %[3]s
    apiMappings:
      - {api: orders, stage: $default, apiMappingKey: v1}
  secure.localhost:
    mutualTlsAuthentication: {truststoreFile: truststore.pem}
    apiMappings:
      - {api: shop, stage: prod}
`, upstream.URL, filesCert, filesKey)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, specFile, "--tls-listen", "127.0.0.1:0")
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]
	ca := filepath.Join(in.dataDir, "tls", "ca.pem")
	url := func(host, path string) []string {
		return []string{"--resolve", host + ":" + port + ":127.0.0.1", "https://" + host + ":" + port + path}
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"root mapping, stage from the mapping", append([]string{"--cacert", ca}, url("shop.localhost", "/items/1")...), "200 /shop/items/1 "},
		{"stage name is not in the path", append([]string{"--cacert", ca}, url("shop.localhost", "/prod/items/1")...), "200 /shop/prod/items/1 "},
		{"mapping key stripped", append([]string{"--cacert", ca}, url("shop.localhost", "/orders/42")...), "200 /orders/42 "},
		{"longest mapping key wins", append([]string{"--cacert", ca}, url("shop.localhost", "/orders/legacy/42")...), "200 /shop/42 "},
		{"certificate file", append([]string{"--cacert", filesCert}, url("api.example.test", "/v1/7")...), "200 /orders/7 "},
		{"no mapping", append([]string{"--cacert", filesCert}, url("api.example.test", "/v2/7")...), "404 "},
		{"mutual TLS with a client certificate", append([]string{"--cacert", ca, "--cert", aliceCert, "--key", aliceKey}, url("secure.localhost", "/x")...), "200 /shop/x "},
		{"mutual TLS domain asked over another name's handshake", append([]string{"--cacert", ca, "-H", "Host: secure.localhost"}, url("shop.localhost", "/x")...), "403 "},
		{"mutual TLS domain over plain HTTP", []string{"-H", "Host: secure.localhost", in.gateway + "/x"}, "403 "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := curl(t, append([]string{"-w", "\n%{http_code}"}, tt.args...)...)
			body, code, _ := strings.Cut(got, "\n")
			if got := code + " " + body; !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q...", got, tt.want)
			}
			if code == "200" && !strings.Contains(body, "proto=https") {
				t.Errorf("upstream saw %q, want proto=https", body)
			}
		})
	}
	t.Run("mutual TLS without a client certificate fails the handshake", func(t *testing.T) {
		out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "20", "--cacert", ca}, url("secure.localhost", "/x")...)...).CombinedOutput()
		if err == nil {
			t.Errorf("curl succeeded without a client certificate: %s", out)
		}
	})
}

// TestCustomDomainsBadSpec: domain names with missing certificates, bad
// mappings and a truststore without certificates are refused with their
// positions.
func TestCustomDomainsBadSpec(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.pem"), []byte("nothing here\n"), 0o644)
	spec := `apis:
  shop:
    integrations:
      up: {type: HTTP_PROXY, uri: "http://127.0.0.1:9/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: up}
    stages:
      prod: {autoDeploy: true}
domainNames:
  api.example.com:
    apiMappings:
      - {api: shop, stage: prod}
  shop.localhost:
    mutualTlsAuthentication: {truststoreFile: empty.pem}
    apiMappings:
      - {api: shpo, stage: prod}
      - {api: shop, stage: dev, apiMappingKey: /v1/}
`
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "validate", "-f", specFile).CombinedOutput()
	if err == nil {
		t.Fatalf("validate accepted the spec:\n%s", out)
	}
	for _, want := range []string{
		`portico.yaml:10:3: domain name "api.example.com": certificateFile and certificateKeyFile are required`,
		`portico.yaml:14:47: truststoreFile: "empty.pem" holds no PEM certificate`,
		`portico.yaml:16:15: api: no api named "shpo"`,
		`portico.yaml:17:48: apiMappingKey: "/v1/" must be path segments`,
		`portico.yaml:17:28: stage: api "shop" has no stage "dev"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestCustomDomainsBrowser loads a page through a custom domain's API
// mapping in headless Chromium (HTTP/2, the local CA trusted by its public
// key): the mapping key is stripped before the upstream sees the path.
func TestCustomDomainsBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testtool.Missing(t, "chromium", "not installed")
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body><p id="p">upstream saw %s</p><script>
document.body.dataset.proto = performance.getEntriesByType('navigation')[0].nextHopProtocol;
</script></body></html>`, r.URL.Path)
	}))
	defer upstream.Close()
	dir := t.TempDir()
	spec := fmt.Sprintf(`apis:
  site:
    integrations:
      up: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "GET /{proxy+}": {integration: up}
    stages:
      live: {autoDeploy: true}
domainNames:
  www.localhost:
    apiMappings:
      - {api: site, stage: live, apiMappingKey: app}
`, upstream.URL)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, specFile, "--tls-listen", "127.0.0.1:0")
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]
	dom := runChromium(t, chromium, "--host-resolver-rules=MAP www.localhost 127.0.0.1",
		"--ignore-certificate-errors-spki-list="+caSPKI(t, in.dataDir),
		"--virtual-time-budget=3000", "--dump-dom", "https://www.localhost:"+port+"/app/index.html")
	for _, want := range []string{"upstream saw /index.html", `data-proto="h2"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s:\n%s", want, dom)
		}
	}
}

// TestCustomDomainsLambdaEvent: a function behind a mutual TLS custom
// domain gets the domain name and the client certificate in its 2.0 event.
func TestCustomDomainsLambdaEvent(t *testing.T) {
	dir := t.TempDir()
	_, aliceCert, aliceKey := clientPKI(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	code := "import json\ndef handler(event, context):\n    return {'statusCode': 200, 'body': json.dumps(event['requestContext'])}\n"
	if err := os.WriteFile(filepath.Join(dir, "fn", "index.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `functions:
  ctx: {runtime: python3.12, handler: index.handler, code: fn}
apis:
  api:
    integrations:
      ctx: {type: AWS_PROXY, function: ctx}
    routes:
      "GET /ctx": {integration: ctx}
    stages:
      $default: {autoDeploy: true}
domainNames:
  secure.localhost:
    mutualTlsAuthentication: {truststoreFile: truststore.pem}
    apiMappings:
      - {api: api, stage: $default, apiMappingKey: v1}
`
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, specFile, "--tls-listen", "127.0.0.1:0")
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]
	out := curl(t, "--cacert", filepath.Join(in.dataDir, "tls", "ca.pem"), "--cert", aliceCert, "--key", aliceKey,
		"--resolve", "secure.localhost:"+port+":127.0.0.1", "https://secure.localhost:"+port+"/v1/ctx")
	var rc struct {
		DomainName, DomainPrefix string
		HTTP                     struct{ Path string }
		Authentication           struct {
			ClientCert struct {
				ClientCertPem, SubjectDN, IssuerDN, SerialNumber string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	c := rc.Authentication.ClientCert
	if rc.DomainName != "secure.localhost" || rc.DomainPrefix != "secure" || rc.HTTP.Path != "/v1/ctx" ||
		c.SubjectDN != "CN=alice" || c.IssuerDN != "CN=client ca,O=Portico tests" || c.SerialNumber != "10:92" ||
		!strings.HasPrefix(c.ClientCertPem, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("requestContext = %+v", rc)
	}
}
