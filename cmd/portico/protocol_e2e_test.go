package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestContextProtocol: requests over TLS (ALPN h2 and HTTP/1.1), h2c and
// plain HTTP/1.1 are all served, and $context.protocol in the access log is
// HTTP/1.1 for each, as API Gateway reports it for HTTP/2 clients too.
func TestContextProtocol(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer upstream.Close()
	dir := t.TempDir()
	spec := fmt.Sprintf(`apis:
  api:
    integrations:
      server: {type: HTTP_PROXY, uri: "%s/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: server}
    stages:
      $default:
        autoDeploy: true
        accessLogSettings: {destination: ./logs/access.log, format: '$context.path $context.protocol $context.requestId'}
`, upstream.URL)
	specFile := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "logs"), 0o755)
	in := up(t, specFile, "--tls-listen", "127.0.0.1:0", "--h2c")
	port := in.tls[strings.LastIndexByte(in.tls, ':')+1:]
	ca := filepath.Join(in.dataDir, "tls", "ca.pem")
	resolve := []string{"--resolve", "api.localhost:" + port + ":127.0.0.1", "--cacert", ca}
	for _, args := range [][]string{
		append(resolve, "--http2", "https://api.localhost:"+port+"/tls-h2"),
		append(resolve, "--http1.1", "https://api.localhost:"+port+"/tls-h1"),
		{"--http2-prior-knowledge", in.gateway + "/h2c"},
		{"--http1.1", in.gateway + "/plain-h1"},
	} {
		if got := curl(t, args...); got != "ok" {
			t.Fatalf("curl %v: %q", args, got)
		}
	}
	in.stop(t)
	log, err := os.ReadFile(filepath.Join(dir, "logs", "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			lines = append(lines, f[0]+" "+f[1])
		} else {
			t.Errorf("access log line %q", line)
		}
	}
	sort.Strings(lines)
	want := "/h2c HTTP/1.1\n/plain-h1 HTTP/1.1\n/tls-h1 HTTP/1.1\n/tls-h2 HTTP/1.1"
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("access log:\n%s\nwant:\n%s", got, want)
	}
}
