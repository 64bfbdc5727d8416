package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportPulumiLanguages: --language python and typescript write their
// programs; an unknown language is refused in one line naming the choices.
func TestExportPulumiLanguages(t *testing.T) {
	seed := filepath.Join("..", "..", "examples", "seed", "portico.yaml")
	for _, tt := range []struct {
		lang, file, want string
	}{
		{"python", "__main__.py", `pulumi.export("api_endpoint", `},
		{"typescript", "index.ts", "export const api_endpoint = "},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "seed-aws")
			b, err := exec.Command(binary, "export", "pulumi", "-f", seed, "--language", tt.lang, "-o", out).CombinedOutput()
			if err != nil {
				t.Fatalf("portico export pulumi --language %s: %v\n%s", tt.lang, err, b)
			}
			src, err := os.ReadFile(filepath.Join(out, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), tt.want) {
				t.Errorf("%s lacks %s", tt.file, tt.want)
			}
			if _, err := os.Stat(filepath.Join(out, "main.go")); err == nil {
				t.Errorf("a %s export wrote main.go", tt.lang)
			}
		})
	}
	out := filepath.Join(t.TempDir(), "none")
	b, err := exec.Command(binary, "export", "pulumi", "-f", seed, "--language", "rust", "-o", out).CombinedOutput()
	msg := strings.TrimSpace(string(b))
	if err == nil || !strings.Contains(msg, `unknown language "rust": choose go, python or typescript`) || strings.Count(msg, "\n") != 0 {
		t.Errorf("--language rust: err %v, output %q; want one line naming the choices", err, msg)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("--language rust created %s", out)
	}
}
