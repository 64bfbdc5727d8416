package control

import (
	"archive/zip"
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/lambda/invokeapi"
	"github.com/portico-dev/portico/internal/spec"
)

func TestPage(t *testing.T) {
	items := []int{0, 1, 2, 3, 4}
	tests := []struct {
		name     string
		query    string
		p        pageParams
		want     []int
		wantNext bool
		wantErr  string
	}{
		{name: "apigatewayv2: everything", query: "", p: apigwPaging, want: items},
		{name: "apigatewayv2: first page", query: "maxResults=2", p: apigwPaging, want: []int{0, 1}, wantNext: true},
		{name: "apigatewayv2: last page", query: "maxResults=2&nextToken=" + encodeToken(4), p: apigwPaging, want: []int{4}},
		{name: "apigatewayv2: bad size", query: "maxResults=0", p: apigwPaging, wantErr: "invalid maxResults"},
		{name: "apigatewayv2: not a number", query: "maxResults=x", p: apigwPaging, wantErr: "invalid maxResults"},
		{name: "apigatewayv2: foreign token", query: "nextToken=abc", p: apigwPaging, wantErr: "invalid nextToken"},
		{name: "apigatewayv2: token past the end", query: "nextToken=" + encodeToken(9), p: apigwPaging, wantErr: "invalid nextToken"},
		{name: "lambda: at most 50", query: "", p: pageParams{token: "Marker", size: "MaxItems", def: 2, max: 2, sizeMax: 10000}, want: []int{0, 1}, wantNext: true},
		{name: "lambda: MaxItems above the cap", query: "MaxItems=100", p: pageParams{token: "Marker", size: "MaxItems", def: 2, max: 2, sizeMax: 10000}, want: []int{0, 1}, wantNext: true},
		{name: "lambda: MaxItems out of range", query: "MaxItems=10001", p: lambdaPaging, wantErr: "1 to 10000"},
		{name: "lambda: marker", query: "MaxItems=3&Marker=" + encodeToken(3), p: lambdaPaging, want: []int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			got, next, err := page(items, q, tt.p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) || (next != "") != tt.wantNext {
				t.Fatalf("page = %v, %q, %v; want %v (next %v)", got, next, err, tt.want, tt.wantNext)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("page = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// FuzzDecodeToken checks that any token decodes to an error or to an
// offset that round-trips.
func FuzzDecodeToken(f *testing.F) {
	f.Add(encodeToken(3))
	f.Add("cG9ydGljbzot")
	f.Fuzz(func(t *testing.T, tok string) {
		n, err := decodeToken(tok)
		if err != nil {
			return
		}
		if back, err := decodeToken(encodeToken(n)); n < 0 || err != nil || back != n {
			t.Fatalf("decodeToken(%q) = %d, which does not round-trip (%d, %v)", tok, n, back, err)
		}
	})
}

func TestResourceIDs(t *testing.T) {
	a, b := RouteID("api1", "GET /"), RouteID("api1", "GET /x")
	if len(a) != 7 || a == b || a != RouteID("api1", "GET /") || a == RouteID("api2", "GET /") || a == IntegrationID("api1", "GET /") {
		t.Errorf("IDs %q %q: want 7 characters, stable, distinct per API, kind and name", a, b)
	}
}

// packageOf builds a .zip with the given entries (name -> mode, content).
func packageOf(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type zipEntry struct {
	name    string
	mode    os.FileMode
	content string
}

func TestExtractCode(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		check   func(t *testing.T, dir string)
		wantErr string
	}{
		{name: "files, directories and executable bits", data: packageOf(t,
			zipEntry{"bootstrap", 0o755, "#!/bin/sh\n"}, zipEntry{"lib/", os.ModeDir | 0o755, ""}, zipEntry{"lib/a.py", 0o644, "x = 1\n"}),
			check: func(t *testing.T, dir string) {
				if fi, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil || fi.Mode().Perm()&0o100 == 0 {
					t.Errorf("bootstrap: %v %v, want executable", fi, err)
				}
				if b, _ := os.ReadFile(filepath.Join(dir, "lib", "a.py")); string(b) != "x = 1\n" {
					t.Errorf("lib/a.py = %q", b)
				}
			}},
		{name: "not a zip", data: []byte("garbage"), wantErr: "not a valid zip"},
		{name: "entry leaving the directory", data: packageOf(t, zipEntry{"../evil.py", 0o644, "x"}), wantErr: "outside"},
		{name: "absolute entry", data: packageOf(t, zipEntry{"/etc/evil", 0o644, "x"}), wantErr: "outside"},
		{name: "symbolic link", data: packageOf(t, zipEntry{"link", os.ModeSymlink | 0o777, "/etc/passwd"}), wantErr: "symbolic links"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			c := New(Config{DataDir: data}, Deps{})
			dir, err := c.extractCode("fn", "id1", tt.data, false)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(data, "functions", "evil.py")); err == nil {
					t.Error("an entry was written outside the package's directory")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(dir) || !strings.HasPrefix(dir, data) {
				t.Errorf("dir %q, want an absolute path under %q", dir, data)
			}
			tt.check(t, dir)
		})
	}
}

func TestOverrideApply(t *testing.T) {
	f := &spec.Function{Name: "f", Runtime: "python3.12", Handler: "app.main", Code: "/code", Timeout: 3, MemorySize: 128,
		Environment: map[string]string{"A": "1"}}
	if got := (*override)(nil).apply(f); got != f {
		t.Error("no override: want the spec's function itself")
	}
	timeout, handler := 10, "app.other"
	o := &override{code: "/uploaded", timeout: &timeout, handler: &handler, environment: map[string]string{"B": "2"}, envSet: true}
	got := o.apply(f)
	if got.Code != "/uploaded" || got.Timeout != 10 || got.Handler != "app.other" || got.MemorySize != 128 ||
		got.Environment["A"] != "" || got.Environment["B"] != "2" || f.Timeout != 3 || f.Environment["A"] != "1" {
		t.Errorf("applied = %+v (spec %+v)", got, f)
	}
}

// TestUnsupported checks that what neither the management API nor the
// Invoke API serves is a JSON error of the service, never a plain 404.
func TestUnsupported(t *testing.T) {
	c := New(Config{}, Deps{})
	invoke := http.NewServeMux()
	invoke.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	tests := []struct {
		handler      http.Handler
		method, path string
		wantStatus   int
		wantType     string
		wantBody     string
	}{
		{c.Handler(), "POST", "/v2/apis", 501, "NotImplemented", `{"message":"Portico does not serve this apigatewayv2 operation: POST /v2/apis"}`},
		{c.Handler(), "GET", "/v2/apis/x", 404, "NotFoundException", `{"message":"Invalid API identifier specified x"}`},
		{c.Handler(), "GET", "/v2/domainnames/example.com/apimappings", 404, "NotFoundException", ""},
		{c.LambdaHandler(invoke), "DELETE", "/2015-03-31/functions/x", 501, "NotImplemented", `"Portico does not serve this Lambda operation: DELETE /2015-03-31/functions/x"`},
		{c.LambdaHandler(invoke), "GET", "/nope", 501, "NotImplemented", `"Type":"Service"`},
		// The real Invoke API in front: its patterns are consulted too.
		{c.LambdaHandler(invokeapi.New(nil)), "DELETE", "/2015-03-31/functions/x", 501, "NotImplemented", `"Portico does not serve this Lambda operation: DELETE /2015-03-31/functions/x"`},
		{c.LambdaHandler(invoke), "GET", "/2015-03-31/functions/x", 404, "ResourceNotFoundException", `Function not found`},
		{c.LambdaHandler(invoke), "POST", "/2015-03-31/functions/x/invocations", 299, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus || rec.Header().Get("x-amzn-ErrorType") != tt.wantType || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("%d %s %q, want %d %s %q", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body.String(), tt.wantStatus, tt.wantType, tt.wantBody)
			}
			if lambdaPath := strings.HasPrefix(tt.path, "/2015-03-31/"); c.IsLambdaManagement(httptest.NewRequest(tt.method, tt.path, nil)) != (lambdaPath && tt.wantStatus == 404) {
				t.Errorf("IsLambdaManagement = %v", !(lambdaPath && tt.wantStatus == 404))
			}
			if tt.wantType != "" && rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}
