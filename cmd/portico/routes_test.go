package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/control"
)

func TestRoutesCommand(t *testing.T) {
	good := filepath.Join("testdata", "routes", "portico.yaml")
	tests := []struct {
		name       string
		args       []string
		wantStdout []string
		wantStderr []string
		wantExit   int // 0: no error; -1: a usage error
	}{
		{name: "table", args: []string{"-f", good}, wantStdout: []string{`API shop (shop123456), stage dev
ROUTE KEY    INTEGRATION                             AUTHORIZATION         API KEY  THROTTLE
$default     web: HTTP_PROXY http://127.0.0.1:9000/  NONE                  no       -
GET /items   itemsFn: AWS_PROXY items                JWT jwt [read admin]  no       -
POST /items  itemsFn: AWS_PROXY items                NONE                  yes      -

API shop (shop123456), stage prod
ROUTE KEY    INTEGRATION                             AUTHORIZATION         API KEY  THROTTLE
$default     web: HTTP_PROXY http://127.0.0.1:9000/  NONE                  no       100/s burst 50
GET /items   itemsFn: AWS_PROXY items                JWT jwt [read admin]  no       100/s burst 50
POST /items  itemsFn: AWS_PROXY items                NONE                  yes      5/s burst 50
`}},
		{name: "bad spec", args: []string{"-f", filepath.Join("testdata", "routes", "bad.yaml")}, wantExit: 1,
			wantStderr: []string{"bad.yaml:6:", "missing", "bad.yaml:7:", "FETCH"}},
		{name: "missing file", args: []string{"-f", filepath.Join("testdata", "routes", "nope.yaml")}, wantExit: 1,
			wantStderr: []string{"nope.yaml"}},
		{name: "bad output", args: []string{"-f", good, "--output", "yaml"}, wantExit: -1},
		{name: "stray argument", args: []string{"-f", good, "extra"}, wantExit: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), append([]string{"routes"}, tt.args...), &stdout, &stderr)
			switch {
			case tt.wantExit == 0 && code != 0:
				t.Fatalf("exit %d\n%s", code, stderr.String())
			case tt.wantExit > 0 && code != tt.wantExit:
				t.Fatalf("exit %d, want %d", code, tt.wantExit)
			case tt.wantExit < 0 && (code != 1 || !strings.HasPrefix(stderr.String(), "portico routes: ")):
				t.Fatalf("exit %d, want 1 with the command's error\n%s", code, stderr.String())
			}
			wantIn(t, "stdout", stdout.String(), tt.wantStdout)
			wantIn(t, "stderr", stderr.String(), tt.wantStderr)
		})
	}
}

func TestRoutesJSON(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"routes", "-f", filepath.Join("testdata", "routes", "portico.yaml"), "--output", "json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if len(got) != 2 || got[1]["StageName"] != "prod" || got[1]["ApiId"] != "shop123456" {
		t.Fatalf("stages = %v", got)
	}
	items, _ := got[1]["Items"].([]any)
	if len(items) != 3 {
		t.Fatalf("items = %v", items)
	}
	getItems, _ := json.Marshal(items[1])
	want := `{"ApiGatewayManaged":false,"ApiKeyRequired":false,"AuthorizationScopes":["read","admin"],"AuthorizationType":"JWT","AuthorizerId":"` +
		control.AuthorizerID("shop123456", "jwt") + `","RouteId":"` + control.RouteID("shop123456", "GET /items") +
		`","RouteKey":"GET /items","Target":"integrations/` + control.IntegrationID("shop123456", "itemsFn") + `"}`
	if string(getItems) != want {
		t.Errorf("GET /items = %s\nwant          %s", getItems, want)
	}
	settings, _ := json.Marshal(got[1]["RouteSettings"])
	if string(settings) != `{"POST /items":{"ThrottlingRateLimit":5}}` {
		t.Errorf("RouteSettings = %s", settings)
	}
	if d, _ := json.Marshal(got[1]["DefaultRouteSettings"]); string(d) != `{"ThrottlingBurstLimit":50,"ThrottlingRateLimit":100}` {
		t.Errorf("DefaultRouteSettings = %s", d)
	}
}
