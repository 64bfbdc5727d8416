package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// proxySpec writes a spec whose $default stage sends every request to
// upstream (HTTP_PROXY), and returns its path.
func proxySpec(t *testing.T, upstream string) string {
	t.Helper()
	spec := fmt.Sprintf(`apis:
  api:
    integrations:
      server: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: server}
    stages:
      $default: {autoDeploy: true}
`, upstream)
	file := filepath.Join(t.TempDir(), "portico.yaml")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// curl runs curl with args and returns its stdout; it fails the test when
// curl is missing under CI=true (skips otherwise) or exits non-zero.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		testtool.Missing(t, "curl", "not installed")
	}
	out, err := exec.Command(path, append([]string{"-sS", "--max-time", "20"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// selfSigned writes a self-signed certificate for names, and its key, into
// dir and returns their paths.
func selfSigned(t *testing.T, dir string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, names[0]+".pem"), filepath.Join(dir, names[0]+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestGatewayTLS serves an HTTP_PROXY route over the real binary's TLS
// listener: with the local CA (curl --cacert, HTTP/1.1 and HTTP/2), with
// certificate files chosen by SNI, prior-knowledge h2c on the plain
// listener; the framing guard holds over TLS, and body timeouts over
// HTTP/2.
func TestGatewayTLS(t *testing.T) {
	var mu sync.Mutex
	var forwarded []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		forwarded = append(forwarded, r.Method+" "+r.URL.Path+" "+r.Header.Get("Forwarded"))
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "upstream")
	}))
	defer upstream.Close()
	specFile := proxySpec(t, upstream.URL)
	certDir := t.TempDir()
	exampleCert, exampleKey := selfSigned(t, certDir, "api.example.test")
	otherCert, otherKey := selfSigned(t, certDir, "other.example.test")
	in := up(t, specFile, "--tls-listen", "127.0.0.1:0", "--h2c",
		"--tls-cert", exampleCert, "--tls-key", exampleKey, "--tls-cert", otherCert, "--tls-key", otherKey,
		"--body-timeout", "300ms", "--body-min-rate", "-1")
	if in.tls == "" {
		t.Fatal("no gateway-tls line")
	}
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]
	ca := filepath.Join(in.dataDir, "tls", "ca.pem")

	// `portico tls ca` names the same CA and says how to trust it.
	out, err := exec.Command(binary, "tls", "ca", "-f", specFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ca) || !strings.Contains(string(out), "curl --cacert") {
		t.Errorf("portico tls ca: %v\n%s", err, out)
	}

	resolve := func(host string) []string { return []string{"--resolve", host + ":" + port + ":127.0.0.1"} }
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"local CA, HTTP/2", append(resolve("api.localhost"), "--cacert", ca, "--http2", "https://api.localhost:"+port+"/a"), "upstream 2"},
		{"local CA, HTTP/1.1", append(resolve("api.localhost"), "--cacert", ca, "--http1.1", "https://api.localhost:"+port+"/b"), "upstream 1.1"},
		{"local CA, loopback address", []string{"--cacert", ca, "https://127.0.0.1:" + port + "/c"}, "upstream 2"},
		{"certificate file by SNI", append(resolve("api.example.test"), "--cacert", exampleCert, "https://api.example.test:"+port+"/d"), "upstream 2"},
		{"second certificate file by SNI", append(resolve("other.example.test"), "--cacert", otherCert, "https://other.example.test:"+port+"/e"), "upstream 2"},
		{"h2c prior knowledge", []string{"--http2-prior-knowledge", in.gateway + "/f"}, "upstream 2"},
		{"plain HTTP/1.1 beside h2c", []string{"--http1.1", in.gateway + "/g"}, "upstream 1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := curl(t, append([]string{"-w", " %{http_version}"}, tt.args...)...); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("wrong CA refused", func(t *testing.T) {
		cmd := exec.Command("curl", append(resolve("other.example.test"), "-sS", "--cacert", exampleCert, "https://other.example.test:"+port+"/x")...)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("curl trusted a certificate it was not given: %s", out)
		}
	})

	tlsAddr := strings.TrimPrefix(in.tls, "https://")
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(caPEM)
	t.Run("smuggling over TLS", func(t *testing.T) {
		c, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: roots, ServerName: "api.localhost", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"+
			"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		var got []int
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("after %v: the gateway kept the connection open", got)
				}
				break
			}
			io.Copy(io.Discard, resp.Body)
			got = append(got, resp.StatusCode)
		}
		if fmt.Sprint(got) != "[200 400]" {
			t.Errorf("statuses %v, want [200 400]", got)
		}
	})
	t.Run("body timeout over HTTP/2", func(t *testing.T) {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "api.localhost"}}}
		pr, pw := io.Pipe()
		defer pw.Close()
		go io.WriteString(pw, "abc") // and then nothing
		req, _ := http.NewRequest("POST", in.tls+"/slow", pr)
		req.ContentLength = 10
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 408 || resp.ProtoMajor != 2 {
			t.Errorf("got %d over %s, want 408 over HTTP/2", resp.StatusCode, resp.Proto)
		}
	})

	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(forwarded, "\n")
	for _, want := range []string{"GET /a", "GET /b", "GET /f", "GET /first"} {
		proto := "proto=https"
		if want == "GET /f" {
			proto = "proto=http"
		}
		found := false
		for _, line := range forwarded {
			found = found || strings.HasPrefix(line, want+" ") && strings.HasSuffix(line, proto)
		}
		if !found {
			t.Errorf("upstream did not receive %q with %s; it received:\n%s", want, proto, got)
		}
	}
	if strings.Contains(got, "smuggled") || strings.Contains(got, "/slow") {
		t.Errorf("upstream received a refused request:\n%s", got)
	}
}

// TestGatewayTLSBadCertificate: a certificate file that is not one, or a
// key that does not match, stops `portico up` with the file's name.
func TestGatewayTLSBadCertificate(t *testing.T) {
	specFile := proxySpec(t, "http://127.0.0.1:9")
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "a.example.test")
	_, otherKey := selfSigned(t, dir, "b.example.test")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o644)
	for _, tt := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"not PEM", []string{"--tls-listen", "127.0.0.1:0", "--tls-cert", garbage, "--tls-key", key}, "garbage.pem"},
		{"key of another certificate", []string{"--tls-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", otherKey}, "private key does not match"},
		{"unpaired", []string{"--tls-listen", "127.0.0.1:0", "--tls-cert", cert}, "in pairs"},
		{"no listener", []string{"--tls-cert", cert, "--tls-key", key}, "--tls-cert needs --tls-listen"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"up", "-f", specFile, "--listen", "127.0.0.1:0", "--aws-listen", "127.0.0.1:0", "--admin-listen", "", "--watch=false"}, tt.flags...)
			cmd := exec.Command(binary, args...)
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("portico up kept running:\n%s", out)
			}
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("exit %v, want a failure naming %q:\n%s", err, tt.want, out)
			}
		})
	}
}

// TestGatewayTLSBrowser loads a page through the TLS listener in headless
// Chromium, trusting the local CA by its public key, and checks that the
// page arrived over HTTP/2.
func TestGatewayTLSBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testtool.Missing(t, "chromium", "not installed")
	}
	page := `<!doctype html><html><body><p id="p">upstream page</p><script>
document.body.dataset.proto = performance.getEntriesByType('navigation')[0].nextHopProtocol;
</script></body></html>`
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	defer upstream.Close()
	in := up(t, proxySpec(t, upstream.URL), "--tls-listen", "127.0.0.1:0")
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]

	dom := runChromium(t, chromium, "--host-resolver-rules=MAP api.localhost 127.0.0.1",
		"--ignore-certificate-errors-spki-list="+caSPKI(t, in.dataDir),
		"--virtual-time-budget=3000", "--dump-dom", "https://api.localhost:"+port+"/index.html")
	for _, want := range []string{"upstream page", `data-proto="h2"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %s:\n%s", want, dom)
		}
	}
}

// runChromium runs headless Chromium with args (after its usual flags for
// tests) for at most 45s, and returns its stdout.
func runChromium(t *testing.T, chromium string, args ...string) string {
	t.Helper()
	return runChromiumIn(t, chromium, nil, t.TempDir(), args...)
}

// runChromiumIn is runChromium with env added to the environment and
// profile as the user data directory.
func runChromiumIn(t *testing.T, chromium string, env []string, profile string, args ...string) string {
	t.Helper()
	cmd := exec.Command(chromium, append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile}, args...)...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so its helpers can be reaped with it
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(45 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("chromium did not finish within 45s\nstderr:\n%s", stderr.String())
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // any helper left behind
	if err != nil {
		t.Fatalf("chromium: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String()
}

// TestUpstreamTLS: an HTTP_PROXY integration reaches an https upstream
// whose certificate only the spec's caFile trusts, verified under
// serverNameToVerify; without tlsConfig the same upstream is refused (503).
func TestUpstreamTLS(t *testing.T) {
	upstream := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure upstream")
	}))
	defer upstream.Close()
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: upstream.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "upstream-ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`apis:
  api:
    integrations:
      trusted:
        type: HTTP_PROXY
        uri: "%[1]s/{proxy}"
        tlsConfig: {serverNameToVerify: example.com, caFile: upstream-ca.pem}
      untrusted: {type: HTTP_PROXY, uri: "%[1]s/{proxy}"}
    routes:
      "GET /trusted/{proxy+}": {integration: trusted}
      "GET /untrusted/{proxy+}": {integration: untrusted}
    stages:
      $default: {autoDeploy: true}
`, upstream.URL)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	in := up(t, specFile)
	for path, want := range map[string]string{"/trusted/x": "200 secure upstream", "/untrusted/x": "503 "} {
		resp, err := http.Get(in.gateway + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := fmt.Sprint(resp.StatusCode, " ", string(b)); !strings.HasPrefix(got, want) {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}
}

// caSPKI is the base64 SHA-256 of the local CA's public key in dataDir, as
// Chromium's --ignore-certificate-errors-spki-list takes it.
func caSPKI(t *testing.T, dataDir string) string {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		t.Fatal("ca.pem: no PEM block")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
