package accesslog

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/portico-dev/portico/internal/observe"
)

func FuzzFormat(f *testing.F) {
	for _, s := range []string{PresetCLF, PresetJSON, PresetXML, PresetCSV, "", "$context.", "$context.requestId.",
		`{"a":$context.requestId,"b":"\"$context.status\\"}`, "$context.nope $context.requestId"} {
		f.Add(s, "v\n\"\\<&\x00\xff")
	}
	f.Fuzz(func(t *testing.T, format, v string) {
		fm, err := Compile(format)
		if err != nil {
			return
		}
		r := &observe.Record{RequestID: v, SourceIP: v, UserAgent: v, RouteKey: v, Path: v, IntegrationError: v, Status: 200, Model: v}
		line := fm.Append(nil, r)
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line break in %q", line)
		}
		if format == "" && !json.Valid(line) {
			t.Fatalf("default record is not JSON: %s", line)
		}
	})
}
