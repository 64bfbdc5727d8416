package main

import (
	"os"
	"strings"
)

// keptMarker starts the part of benchmarks.md that the harness does not
// measure (package benchmarks run by hand, with their commands): a rewrite
// keeps it, from the marker to the end, after the generated report.
const keptMarker = "<!-- kept by go run ./bench: hand-run package benchmarks below -->"

// keptTail is the kept part of the report at path, "" when there is none.
func keptTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	i := strings.Index(string(b), keptMarker)
	if i < 0 {
		return ""
	}
	return "\n" + string(b[i:])
}
