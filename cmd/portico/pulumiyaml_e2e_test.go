package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPulumiYAMLPermission: the seed's YAML program without its
// aws:lambda:Permission warns at start as the other languages do (the
// integration at Pulumi.yaml:LINE:COL, the function, the YAML to add) and,
// with --strict, answers GET /v1/ with 500 as AWS would; with the
// permission, neither.
func TestPulumiYAMLPermission(t *testing.T) {
	for _, tt := range []struct {
		name       string
		permission bool
		strict     bool
		wantStatus int
		wantWarn   bool
	}{
		{"with a permission", true, false, 200, false},
		{"without", false, false, 200, true},
		{"without, strict", false, true, 500, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			copyExampleTo(t, "seed", filepath.Join(root, "seed"))
			dir := filepath.Join(root, "seed-pulumi-yaml")
			copyExampleTo(t, "seed-pulumi-yaml", dir)
			if !tt.permission {
				file := filepath.Join(dir, "Pulumi.yaml")
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				text := string(data)
				i, j := strings.Index(text, "  # What the seed's program forgets"), strings.Index(text, "  apiGETRoute:")
				if i < 0 || j < i {
					t.Fatal("examples/seed-pulumi-yaml: its invokePermission block moved")
				}
				if err := os.WriteFile(file, []byte(text[:i]+text[j:]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var flags []string
			if tt.strict {
				flags = append(flags, "--strict")
			}
			_, stderr, endpoints := upProgram(t, dir, flags...)
			resp, body := get(t, endpoints["v1"]+"/?text=fast+and+accurate")
			switch {
			case resp.StatusCode != tt.wantStatus:
				t.Errorf("GET /v1/: %d %s, want %d\nstderr:\n%s", resp.StatusCode, body, tt.wantStatus, stderr.String())
			case tt.wantStatus == 500 && body != `{"message":"Internal Server Error"}`:
				t.Errorf("GET /v1/: body %s, want AWS's", body)
			}
			warned := regexp.MustCompile(`integration lambdaIntegration \(Pulumi\.yaml:\d+:3\) invokes function aiServiceFunction, but no aws:lambda:Permission`).MatchString(stderr.String()) &&
				strings.Contains(stderr.String(), "  aiServiceFunctionInvoke:\n    type: aws:lambda:Permission\n")
			if warned != tt.wantWarn {
				t.Errorf("warned = %v, want %v\nstderr:\n%s", warned, tt.wantWarn, stderr.String())
			}
		})
	}
}
