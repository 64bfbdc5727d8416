package pulumi

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/pulumirun"
	"github.com/portico-dev/portico/internal/spec"
	"gopkg.in/yaml.v3"
)

// TestRoundTrip holds for every example spec: the exported program, built
// and run under Portico's own resource monitor, registers the same resource
// model as the spec — up to what the exporter documents as not exported
// (Portico extensions), what it adds (the shared default role, a trust
// policy where the spec gives none, lambda permissions, log groups) and
// where code lives (copied under the program, compared file by file).
func TestRoundTrip(t *testing.T) {
	requirePulumiModules(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "*", "portico.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(filepath.Dir(file))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, err := spec.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), name)
			if _, err := WriteReport(want, dir); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			p, err := pulumirun.Run(context.Background(), pulumirun.Config{Dir: dir, BuildDir: t.TempDir(), Timeout: time.Minute, Output: &out})
			if err != nil {
				t.Fatalf("run the exported program: %v\n%s", err, out.String())
			}
			if len(p.Warnings) != 0 {
				t.Errorf("warnings: %q", p.Warnings)
			}
			sameModel(t, want, p.Spec)
		})
	}
}

// sameModel checks that got, the model an exported program registered,
// is want's, up to what the exporter leaves out and adds.
func sameModel(t *testing.T, want, got *spec.Spec) {
	t.Helper()
	sameFiles(t, "function", want.Functions, got.Functions, func(f *spec.Function) *string { return &f.Code })
	sameFiles(t, "bucket", want.Buckets, got.Buckets, func(b *spec.Bucket) *string { return &b.Contents })
	sameLayers(t, want.Functions, got.Functions)
	dropExtensions(want)
	dropAdditions(got)
	for name, f := range got.Functions {
		// The function URL that carries a streaming HTTP API
		// integration to AWS.
		if w := want.Functions[name]; w != nil && w.URL == nil && f.URL != nil && f.URL.InvokeMode == "RESPONSE_STREAM" {
			f.URL = nil
		}
	}
	if w, g := modelText(t, want), modelText(t, got); w != g {
		t.Errorf("round trip changed the model\n--- spec (extensions dropped):\n%s\n--- from the exported program:\n%s", w, g)
	}
}

// dropExtensions removes from sp what the exporter leaves out, or writes
// as AWS has it, as its README lists.
func dropExtensions(sp *spec.Spec) {
	sp.AccessKeys, sp.UsagePlans, sp.APIKeys, sp.Storage, sp.Account = nil, nil, nil, nil, nil
	for _, f := range sp.Functions {
		f.Interpreter = ""
	}
	for _, r := range sp.Roles {
		if r.AssumeRolePolicy == nil {
			_ = json.Unmarshal([]byte(lambdaTrust), &r.AssumeRolePolicy)
		}
	}
	for _, a := range sp.APIs {
		for _, r := range a.Routes {
			r.APIKeyRequired = false
		}
		for _, in := range a.Integrations {
			if len(in.Upstreams) > 0 {
				first := in.Upstreams[0]
				for _, u := range in.Upstreams {
					if u.Priority < first.Priority {
						first = u
					}
				}
				in.URI, in.Upstreams = first.URI, nil
			}
			in.InvokeMode, in.IdleTimeoutInMillis, in.OpenAICompatible = spec.InvokeBuffered, nil, false
			in.MaxConcurrency, in.MaxQueue, in.QueueTimeoutInMillis = nil, nil, nil
			in.TimeoutInMillis = min(in.TimeoutInMillis, maxIntegrationTimeout)
		}
		for _, st := range a.Stages {
			for _, rs := range append([]*spec.RouteSettings{st.DefaultRouteSettings}, values(st.RouteSettings)...) {
				if rs != nil {
					rs.TokenLimits = nil
				}
			}
			if al := st.AccessLogSettings; al != nil {
				// On AWS the log goes to a CloudWatch log group, and a
				// format is required.
				al.Destination = ""
				if al.Format == "" {
					al.Format = defaultAccessLogFormat
				}
			}
		}
	}
}

// dropAdditions removes from a round-tripped model what the exporter adds.
func dropAdditions(sp *spec.Spec) {
	const defaultRole = "porticoDefaultLambdaRole"
	delete(sp.Roles, defaultRole)
	for _, r := range sp.Roles {
		r.Policies = slices.DeleteFunc(r.Policies, func(p any) bool {
			st, _ := p.(map[string]any)["Statement"].([]any)
			return len(st) == 1 && st[0].(map[string]any)["Sid"] == DestinationsSid
		})
	}
	for _, f := range sp.Functions {
		if f.Role == defaultRole {
			f.Role = ""
		}
	}
	for _, a := range sp.APIs {
		for _, st := range a.Stages {
			if st.AccessLogSettings != nil {
				st.AccessLogSettings.Destination = ""
			}
		}
	}
}

// modelText is the model as YAML: names, positions and paths are not
// part of it; provided runtimes' handlers mean nothing.
func modelText(t *testing.T, sp *spec.Spec) string {
	t.Helper()
	for _, f := range sp.Functions {
		if strings.HasPrefix(f.Runtime, "provided") {
			f.Handler = ""
		}
	}
	b, err := yaml.Marshal(map[string]any{"functions": sp.Functions, "roles": sp.Roles, "buckets": sp.Buckets, "apis": sp.APIs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameFiles checks that every file of each original directory is in its
// round-tripped copy with the same bytes, then clears both paths.
func sameFiles[T any](t *testing.T, kind string, want, got map[string]*T, dir func(*T) *string) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if g == nil {
			continue // the model comparison reports it
		}
		wd, gd := dir(w), dir(g)
		if *wd == "" {
			continue // a bucket without contents
		}
		err := filepath.WalkDir(*wd, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if d != nil && d.IsDir() && p != *wd && (d.Name() == "__pycache__" || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return err
			}
			rel, _ := filepath.Rel(*wd, p)
			a, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(filepath.Join(*gd, rel))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s %s: %s differs in the exported program (%v)", kind, name, rel, err)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s %s: %v", kind, name, err)
		}
		*wd, *gd = "", ""
	}
}

// sameLayers checks each function's layers (directories or zip files), in
// order, as sameFiles checks code, then clears them.
func sameLayers(t *testing.T, want, got map[string]*spec.Function) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if g == nil {
			continue
		}
		if len(w.Layers) != len(g.Layers) {
			t.Errorf("function %s: %d layers in the exported program, want %d", name, len(g.Layers), len(w.Layers))
			continue
		}
		for i := range w.Layers {
			sameFiles(t, "layer of function", map[string]*string{name: &w.Layers[i]}, map[string]*string{name: &g.Layers[i]},
				func(p *string) *string { return p })
		}
		w.Layers, g.Layers = nil, nil
	}
}

func values[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
