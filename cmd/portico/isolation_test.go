package main

import (
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/lambda"
)

func TestIsolationWarning(t *testing.T) {
	tests := []struct {
		name      string
		isolation string
		want      string // "" for no line
	}{
		{"turned off", lambda.IsolationNone, "portico: warning: functions are not isolated (turned off with --isolation=none)"},
		{"default", lambda.IsolationAuto, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := lambda.New(lambda.Config{Isolation: tt.isolation, CacheDir: t.TempDir()}, lambda.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close(context.Background())
			got := isolationWarning(r)
			if on, _ := r.IsolationStatus(); tt.want == "" && !on {
				t.Skip("this machine cannot sandbox: the warning is expected")
			}
			if tt.want == "" && got != "" || tt.want != "" && !strings.HasPrefix(got, tt.want) || strings.Contains(got, "\n") {
				t.Errorf("isolationWarning = %q, want prefix %q on one line", got, tt.want)
			}
		})
	}
}
