package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/testtool"
)

// TestCustomDomainsBrowserMutualTLS: headless Chromium on a custom domain
// with mutual TLS. Chromium takes client certificates from its NSS
// database ($HOME/.pki/nssdb, filled with certutil and pk12util) and
// presents one without asking where the profile's auto-select-certificate
// setting names the site (without that setting, headless Chromium waits at
// its certificate picker, which no one can click). With a
// certificate the truststore's CA signed, the page loads over HTTP/2; with
// none, or one from another CA, the handshake is refused, which a page's
// fetch sees as a network error.
func TestCustomDomainsBrowserMutualTLS(t *testing.T) {
	tools := map[string]string{}
	for _, tool := range []string{"chromium", "certutil", "pk12util", "openssl"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			testtool.Missing(t, tool, "not installed")
		}
		tools[tool] = path
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body><p id="p">upstream saw %s</p><script>
document.body.dataset.proto = performance.getEntriesByType('navigation')[0].nextHopProtocol;
</script></body></html>`, r.URL.Path)
	}))
	defer upstream.Close()
	dir := t.TempDir()
	_, aliceCert, aliceKey := clientPKI(t, dir) // truststore.pem beside the spec
	_, malloryCert, malloryKey := clientPKI(t, t.TempDir())
	spec := fmt.Sprintf(`apis:
  site:
    integrations:
      up: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "GET /{proxy+}": {integration: up}
    stages:
      live: {autoDeploy: true}
domainNames:
  secure.localhost:
    mutualTlsAuthentication: {truststoreFile: truststore.pem}
    apiMappings:
      - {api: site, stage: live}
`, upstream.URL)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, specFile, "--tls-listen", "127.0.0.1:0")
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]
	origin := "https://secure.localhost:" + port

	// A page on another origin probes the domain with fetch: a no-cors
	// fetch resolves when the exchange happened and rejects when the
	// connection failed, which is how a page sees a refused handshake.
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body><script>
fetch(%q, {mode: 'no-cors'}).then(() => { document.body.dataset.result = 'reached'; },
  (e) => { document.body.dataset.result = 'refused: ' + e.name; });
</script></body></html>`, origin+"/probe")
	}))
	defer probe.Close()

	for _, tt := range []struct {
		name      string
		cert, key string // "" for an empty NSS database
		url       string
		want      string
	}{
		{"certificate from the truststore's CA, page", aliceCert, aliceKey, origin + "/index.html", "upstream saw /index.html"},
		{"certificate from the truststore's CA, fetch", aliceCert, aliceKey, probe.URL, `data-result="reached"`},
		{"no certificate", "", "", probe.URL, `data-result="refused: TypeError"`},
		{"certificate from another CA", malloryCert, malloryKey, probe.URL, `data-result="refused: TypeError"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			nssDB(t, tools, home, tt.cert, tt.key)
			dom := runChromiumIn(t, tools["chromium"], []string{"HOME=" + home}, autoSelectProfile(t, origin),
				"--host-resolver-rules=MAP secure.localhost 127.0.0.1",
				"--ignore-certificate-errors-spki-list="+caSPKI(t, in.dataDir),
				"--virtual-time-budget=3000", "--dump-dom", tt.url)
			if !strings.Contains(dom, tt.want) {
				t.Errorf("DOM lacks %s:\n%.2000s", tt.want, dom)
			}
			if strings.HasSuffix(tt.url, "/index.html") && !strings.Contains(dom, `data-proto="h2"`) {
				t.Errorf("page not over HTTP/2:\n%.2000s", dom)
			}
		})
	}
}

// nssDB creates the NSS database Chromium reads under home and, when
// certFile is not "", imports the certificate and its key (as PKCS#12,
// the form pk12util takes).
func nssDB(t *testing.T, tools map[string]string, home, certFile, keyFile string) {
	t.Helper()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) {
		if out, err := exec.Command(tools[name], args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("certutil", "-N", "-d", "sql:"+db, "--empty-password")
	if certFile == "" {
		return
	}
	p12 := filepath.Join(home, "client.p12")
	run("openssl", "pkcs12", "-export", "-in", certFile, "-inkey", keyFile, "-out", p12, "-passout", "pass:test", "-name", "client")
	run("pk12util", "-i", p12, "-d", "sql:"+db, "-W", "test", "-K", "")
}

// autoSelectProfile writes a Chromium profile whose auto-select-certificate
// setting (what the AutoSelectCertificateForUrls policy sets) picks, for
// origin, any certificate whose issuer is the tests' client CA.
func autoSelectProfile(t *testing.T, origin string) string {
	t.Helper()
	profile := t.TempDir()
	prefs := map[string]any{"profile": map[string]any{"content_settings": map[string]any{"exceptions": map[string]any{
		"auto_select_certificate": map[string]any{origin + ",*": map[string]any{
			"setting": map[string]any{"filters": []any{map[string]any{"ISSUER": map[string]any{"CN": "client ca"}}}},
		}},
	}}}}
	b, _ := json.Marshal(prefs)
	if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return profile
}
