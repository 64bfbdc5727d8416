package main

import (
	"context"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestCLI runs the command line in-process: help and version exit 0,
// usage mistakes exit 2 with a one-line error and a hint, a command's own
// failure exits 1.
func TestCLI(t *testing.T) {
	good := filepath.Join("..", "..", "examples", "seed", "portico.yaml")
	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "help flag", args: []string{"--help"}, wantStdout: []string{
			"Usage:\n  portico [flags]\n  portico [command]",
			"up          Run a spec or a Pulumi program",
			"validate    Check a spec or Pulumi program as up would",
			"completion  Generate the autocompletion script",
			"--version"}},
		{name: "help command", args: []string{"help"}, wantStdout: []string{"Available Commands:", "invoke      Invoke a function once"}},
		{name: "help up", args: []string{"help", "up"}, wantStdout: []string{
			"portico up [DIR | FILE | -f FILE] [flags]", "Examples:\n  portico up\n", "-f, --file string", "--aws-listen string", "--tls-cert stringArray"}},
		{name: "up -h", args: []string{"up", "-h"}, wantStdout: []string{"portico up [DIR | FILE | -f FILE]", "--listen string"}},
		{name: "nested help", args: []string{"tls", "ca", "--help"}, wantStdout: []string{"portico tls ca [DIR | -f FILE] [flags]", "--path"}},
		{name: "version", args: []string{"--version"}, wantStdout: []string{"portico (devel) (commit "}},
		{name: "bash completion", args: []string{"completion", "bash"}, wantStdout: []string{"# bash completion V2 for portico", "__portico_get_completion_results"}},
		{name: "zsh completion", args: []string{"completion", "zsh"}, wantStdout: []string{"#compdef portico"}},
		{name: "fish completion", args: []string{"completion", "fish"}, wantStdout: []string{"complete -c portico"}},
		{name: "completes commands", args: []string{"__complete", "va"}, wantStdout: []string{"validate\tCheck a spec"}},
		{name: "completes flags", args: []string{"__complete", "up", "--aws-l"}, wantStdout: []string{"--aws-listen\t"}},
		{name: "no command", args: nil, wantExit: 2, wantStderr: []string{"Usage:\n  portico [flags]"}},
		{name: "unknown command", args: []string{"upp"}, wantExit: 2,
			wantStderr: []string{"portico: unknown command \"upp\" (did you mean up?)\nRun 'portico --help' for usage.\n"}},
		{name: "unknown flag", args: []string{"up", "--nope"}, wantExit: 2,
			wantStderr: []string{"portico up: unknown flag: --nope\nRun 'portico up --help' for usage.\n"}},
		{name: "bad flag value", args: []string{"up", "--max-concurrency", "many"}, wantExit: 2,
			wantStderr: []string{"portico up: invalid argument \"many\" for \"--max-concurrency\"", "Run 'portico up --help'"}},
		{name: "single-dash long flag", args: []string{"routes", "-output", "json"}, wantExit: 2,
			wantStderr: []string{"portico routes: unknown shorthand flag: 'o' in -output"}},
		{name: "missing subcommand", args: []string{"tls"}, wantExit: 2, wantStderr: []string{"portico tls: missing subcommand: portico tls ca"}},
		{name: "command fails", args: []string{"validate", "-f", "nope.yaml"}, wantExit: 1, wantStderr: []string{"nope.yaml"}},
		{name: "short and long file flags", args: []string{"routes", "--file", good}, wantStdout: []string{"GET /"}},
		{name: "flags after arguments", args: []string{"validate", good, "--stack", "dev"}, wantStdout: []string{"portico.yaml: ok (1 functions, 1 APIs, 1 routes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantExit {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantExit, stdout.String(), stderr.String())
			}
			wantIn(t, "stdout", stdout.String(), tt.wantStdout)
			wantIn(t, "stderr", stderr.String(), tt.wantStderr)
			if tt.wantExit == 2 && tt.args != nil && strings.Count(stderr.String(), "\n") != 2 {
				t.Errorf("a usage mistake takes two lines (the error, the hint):\n%s", stderr.String())
			}
		})
	}
}

func TestVersionString(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "82e81fa0"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name            string
		version, commit string // stamped with -ldflags -X
		info            *debug.BuildInfo
		want            string
	}{
		{name: "nothing known", want: "(devel) (commit unknown)"},
		{name: "build info", info: info, want: "v1.4.0 (commit 82e81fa0, modified)"},
		{name: "stamped", version: "v1.5.0", commit: "abc123", info: info, want: "v1.5.0 (commit abc123)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionString(tt.version, tt.commit, tt.info, tt.info != nil); got != tt.want {
				t.Errorf("versionString = %q, want %q", got, tt.want)
			}
		})
	}
}

// wantIn reports each of wants that output (named name) lacks.
func wantIn(t *testing.T, name, output string, wants []string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(output, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, output)
		}
	}
}
