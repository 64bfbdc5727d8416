package main

// An Express app through @codegenie/serverless-express, the framework
// that hit the response-mapping differences docs/lambda-proxy.md records:
// numeric header values, static files, HEAD, 204 and percent-encoded paths.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testtool"
)

// expressFixture returns the spec of testdata/express, installing its
// pinned npm packages first when they are missing.
func expressFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "express")
	if _, err := os.Stat(filepath.Join(dir, "app", "node_modules", "@codegenie", "serverless-express")); err != nil {
		npm := requireTool(t, "npm")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "ci", "--prefix", filepath.Join(dir, "app"), "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			testtool.Missing(t, "npm ci", fmt.Sprintf("failed (the npm registry may be out of reach): %v\n%s", err, out))
		}
	}
	return filepath.Join(dir, "portico.yaml")
}

func TestExpressApp(t *testing.T) {
	requireTool(t, "node")
	in := up(t, expressFixture(t), "--data-dir", t.TempDir())
	page, err := os.ReadFile(filepath.Join("testdata", "express", "app", "public", "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", "/v1"} {
		version := map[string]string{"": "payload 2.0", "/v1": "payload 1.0"}[prefix]
		base := in.gateway + prefix
		t.Run(version, func(t *testing.T) {
			resp, body := get(t, base+"/hello")
			if resp.StatusCode != 200 || body != `{"hello":"world"}` || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("GET /hello: %d %q %v", resp.StatusCode, body, resp.Header)
			}

			// Express's 404 (finalhandler) sets a numeric content-length.
			resp, body = get(t, base+"/nope")
			if resp.StatusCode != 404 || !strings.Contains(body, "Cannot GET ") || !strings.Contains(body, "/nope</pre>") {
				t.Errorf("GET /nope: %d %q, want Express's own 404", resp.StatusCode, body)
			}
			if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("GET /nope headers: %v", resp.Header)
			}

			for _, path := range []string{"/page.html", "/file"} {
				resp, body = get(t, base+path)
				if resp.StatusCode != 200 || body != string(page) || resp.Header.Get("Content-Type") != "text/html; charset=UTF-8" ||
					resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
					t.Errorf("GET %s: %d %q %v", path, resp.StatusCode, body, resp.Header)
				}
			}

			// HEAD keeps the function's Content-Length (the GET's) and has no body.
			req, _ := http.NewRequest(http.MethodHead, base+"/page.html", nil)
			resp, body = do(t, req)
			if resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len(page)) {
				t.Errorf("HEAD /page.html: %d %q Content-Length %d, want %d", resp.StatusCode, body, resp.ContentLength, len(page))
			}

			// A 204 without a content type gets none.
			resp, body = get(t, base+"/empty")
			if resp.StatusCode != 204 || body != "" || len(resp.Header.Values("Content-Type")) != 0 {
				t.Errorf("GET /empty: %d %q %v", resp.StatusCode, body, resp.Header)
			}

			// The path reaches the app decoded, as HTTP APIs deliver it
			// (Express's req.path encodes the space again).
			resp, body = get(t, base+"/echo/a%20b")
			var echo struct{ Path, URL string }
			if err := json.Unmarshal([]byte(body), &echo); err != nil || resp.StatusCode != 200 || echo.URL != "/echo/a b" || echo.Path != "/echo/a%20b" {
				t.Errorf("GET /echo/a%%20b: %d %q, want req.url /echo/a b", resp.StatusCode, body)
			}
		})
	}
}
