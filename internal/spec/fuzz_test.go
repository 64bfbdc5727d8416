package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and that every error it
// reports carries a position in the file.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "---\n---\n", "a: &a [*a]\n", "functions: {f: &f {runtime: *f}}\n",
		"apis: {a: {routes: {'GET /{x}/{x}': {integration: i}}}}\n", "buckets: {<<: {}}\n", "\t", "functions:\n  f: !!binary aGk=\n"} {
		f.Add([]byte(s))
	}
	file := filepath.Join("testdata", "fuzz.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(file, data)
		if err == nil {
			if s == nil {
				t.Fatal("nil spec without error")
			}
			return
		}
		if s != nil {
			t.Fatal("spec returned with an error")
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
		}
		for _, e := range list {
			if e.File != file || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Msg == "" {
				t.Fatalf("error without position: %#v", e)
			}
		}
	})
}
