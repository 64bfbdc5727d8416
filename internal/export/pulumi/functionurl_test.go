package pulumi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/spec"
)

func TestStreamingURL(t *testing.T) {
	api := func(auth ...string) *spec.API {
		a := &spec.API{Routes: map[string]*spec.Route{}, Cors: &spec.Cors{AllowOrigins: []string{"*"}}}
		for i, t := range auth {
			a.Routes["GET /"+string(rune('a'+i))] = &spec.Route{Integration: "s", AuthorizationType: t}
		}
		return a
	}
	tests := []struct {
		name     string
		api      *spec.API
		wantAuth string
		wantWhy  string
	}{
		{"open routes", api("NONE", ""), "NONE", ""},
		{"signed routes", api("AWS_IAM"), "AWS_IAM", ""},
		{"JWT refused", api("NONE", "JWT"), "", `uses JWT authorization, which function URLs do not support`},
		{"Lambda authorizer refused", api("CUSTOM"), "", `uses CUSTOM authorization`},
		{"mixed refused", api("NONE", "AWS_IAM"), "", "mix NONE and AWS_IAM"},
		{"unused", api(), "", "no route uses"},
		{"API key refused", func() *spec.API { a := api("NONE"); a.Routes["GET /a"].APIKeyRequired = true; return a }(), "", "requires an API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, why := streamingURL(tt.api, "s")
			switch {
			case tt.wantAuth != "" && (u == nil || u.AuthorizationType != tt.wantAuth || u.InvokeMode != "RESPONSE_STREAM" || u.Cors == nil):
				t.Errorf("url %+v (%s), want %s RESPONSE_STREAM with the API's CORS", u, why, tt.wantAuth)
			case tt.wantAuth == "" && (u != nil || !strings.Contains(why, tt.wantWhy)):
				t.Errorf("url %+v, reason %q, want none because %q", u, why, tt.wantWhy)
			}
		})
	}
}

// TestStreamingRouteExported: examples/ai's streaming route becomes a
// RESPONSE_STREAM function URL in the program, and the notes say so.
func TestStreamingRouteExported(t *testing.T) {
	sp := load(t, "ai")
	dir := t.TempDir()
	rep, err := WriteReport(sp, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if !strings.Contains(src, "lambda.NewFunctionUrl(ctx, \"streamer-url\"") || !regexp.MustCompile(`InvokeMode: +pulumi.String\("RESPONSE_STREAM"\)`).MatchString(src) ||
		!strings.Contains(src, `ctx.Export("function_url_streamer"`) {
		t.Errorf("main.go lacks the streamer's function URL:\n%s", src)
	}
	if !strings.Contains(strings.Join(rep.NotExported, "\n"), "exported as function URL function_url_streamer (RESPONSE_STREAM)") {
		t.Errorf("notes: %q", rep.NotExported)
	}
}
