package control

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/gateway"
	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/spec"
)

// TestUnpermittedIntegration: an AWS_PROXY integration a loader marks
// Unpermitted (a Pulumi program without an aws:lambda:Permission, run
// with --strict, in any language) answers 500 as on AWS without invoking
// its function; the same integration unmarked serves the function.
func TestUnpermittedIntegration(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := `
functions:
  fn: {runtime: python3.12, handler: handler.main, code: app, environment: {MARK: served}}
apis:
  shop:
    integrations:
      fn: {type: AWS_PROXY, function: fn}
    routes:
      "GET /v1": {integration: fn}
    stages:
      $default: {autoDeploy: true}
`
	path := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	creds, err := lambda.NewFunctionCredentials([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		unpermitted bool
		want        string
	}{
		{"permitted", false, "200 served"},
		{"unpermitted", true, `500 {"message":"Internal Server Error"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := spec.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sp.APIs["shop"].Integrations["fn"].Unpermitted = tt.unpermitted
			f := newFakes()
			gw := gateway.New(gateway.Deps{})
			c := New(Config{Region: "us-east-1", AccountID: "000000000000"}, Deps{Runner: f.runner, Gateway: gw, Storage: &Storage{Credentials: creds}, Builder: fakeBuilder{f}})
			c.effects.apiKeys, c.effects.keyring, c.effects.buckets = f.keys, f.keyring, f.buckets
			if err := c.Apply(context.Background(), sp); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, httptest.NewRequest("GET", "http://api.example.com/v1", nil))
			if got := rec.Result().Status[:3] + " " + rec.Body.String(); got != tt.want {
				t.Errorf("GET /v1 = %s, want %s", got, tt.want)
			}
		})
	}
}
