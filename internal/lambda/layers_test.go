package lambda

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSandboxEnvLayers(t *testing.T) {
	tests := []struct {
		name      string
		fn        Function
		sandboxed bool // the runtime sees the layers at /opt
		userEnv   map[string]string
		want      map[string]string
	}{
		{name: "python", fn: Function{Runtime: "python3.12", OptDir: "/b/layers/k"}, want: map[string]string{
			"PYTHONPATH": "/b/layers/k/python/lib/python3.12/site-packages:/b/layers/k/python",
			"PATH":       "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/b/layers/k/bin",
		}},
		{name: "python in a sandbox", fn: Function{Runtime: "python3.12", OptDir: "/b/layers/k"}, sandboxed: true, want: map[string]string{
			"PYTHONPATH": "/opt/python/lib/python3.12/site-packages:/opt/python",
			"PATH":       "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		}},
		{name: "node", fn: Function{Runtime: "nodejs24.x", OptDir: "/b/layers/k"}, want: map[string]string{
			"NODE_PATH": "/b/layers/k/nodejs/node24/node_modules:/b/layers/k/nodejs/node_modules",
			"PATH":      "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/b/layers/k/bin",
		}},
		{name: "provided", fn: Function{Runtime: "provided.al2023", OptDir: "/b/layers/k"}, want: map[string]string{
			"PYTHONPATH": "", "NODE_PATH": "",
			"PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/b/layers/k/bin",
		}},
		{name: "no layers", fn: Function{Runtime: "python3.12"}, want: map[string]string{
			"PYTHONPATH": "", "PATH": defaultPATH,
		}},
		{name: "the function's own variables win", fn: Function{Runtime: "python3.12", OptDir: "/o",
			Environment: map[string]string{"PYTHONPATH": "/mine"}}, want: map[string]string{"PYTHONPATH": "/mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{cfg: Config{Region: "us-east-1"}, now: time.Now}
			tt.fn.Name = "fn"
			got := map[string]string{}
			v := view{Task: tt.fn.CodeDir, Opt: tt.fn.OptDir}
			if tt.sandboxed {
				v = view{Task: "/var/task", Opt: "/opt"}
			}
			for _, kv := range r.sandboxEnv(&tt.fn, &Command{Path: "/x/python3"}, "127.0.0.1:1", v) {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

func TestOutputPrefixesLines(t *testing.T) {
	var buf bytes.Buffer
	o := &output{w: &buf}
	a, b := o.echo("alpha"), o.echo("beta")
	a([]byte("START RequestId: 1 Version: $LATEST\n"))
	b([]byte("hello\n"))
	b([]byte("[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'numpy'\rTraceback (most recent call last):\r\u00a0\u00a0File \"app.py\", line 1\n"))
	a([]byte("END RequestId: 1\n"))
	want := "[alpha] START RequestId: 1 Version: $LATEST\n[beta] hello\n" +
		"[beta] [ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'numpy'\n" +
		"[beta] Traceback (most recent call last):\n[beta] \u00a0\u00a0File \"app.py\", line 1\n" +
		"[alpha] END RequestId: 1\n"
	if buf.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", buf.String(), want)
	}
}
