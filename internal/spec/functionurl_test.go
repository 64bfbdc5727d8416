package spec

import (
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestFunctionURLSpec(t *testing.T) {
	s, _, err := parseInDir(t, "functions:\n  fn:\n    runtime: python3.12\n    handler: app.main\n    code: app\n    url: {authorizationType: AWS_IAM, invokeMode: RESPONSE_STREAM, cors: {allowOrigins: ['*']}}\n")
	if err != nil {
		t.Fatal(err)
	}
	u := s.Functions["fn"].URL
	if u == nil || u.AuthorizationType != AuthIAM || u.InvokeMode != "RESPONSE_STREAM" || u.Cors == nil {
		t.Errorf("url = %+v", u)
	}
	if id := DeriveURLID("fn"); !regexp.MustCompile(`^[a-z0-9]{32}$`).MatchString(id) || id != DeriveURLID("fn") || id == DeriveURLID("fm") {
		t.Errorf("DeriveURLID = %q", id)
	}
}

func TestFunctionURLSpecErrors(t *testing.T) {
	const head = "functions:\n  fn:\n    runtime: python3.12\n    handler: app.main\n    code: app\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"no auth type", head + "    url: {invokeMode: BUFFERED}\n", []string{`6:10: url: authorizationType is required (NONE or AWS_IAM)`}},
		{"bad auth type", head + "    url: {authorizationType: AWS_IAN}\n", []string{`6:30: authorizationType: must be NONE or AWS_IAM, got "AWS_IAN" (did you mean "AWS_IAM"?)`}},
		{"bad invoke mode", head + "    url: {authorizationType: NONE, invokeMode: STREAM}\n", []string{`6:48: invokeMode: must be BUFFERED or RESPONSE_STREAM, got "STREAM"`}},
		{"unknown field", head + "    url: {authorizationType: NONE, auth: x}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, dir, err := parseInDir(t, tt.yaml)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if tt.want == nil {
				if !strings.Contains(err.Error(), "auth") {
					t.Errorf("error %v", err)
				}
				return
			}
			got := positioned(t, err, filepath.Join(dir, "portico.yaml"))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
