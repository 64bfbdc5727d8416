// Package pulumirun runs Pulumi programs (Pulumi.yaml with `runtime: go`,
// `python` or `nodejs`) with Portico as their engine: it builds the program
// (Go) or installs its dependencies (a Python virtualenv, node_modules),
// starts it with the environment a Pulumi language host gives, through
// the language SDK's own entry points, and serves the resource
// monitor and engine gRPC services the program's SDK talks to. Each
// registration is answered at once with the outputs AWS would give (IDs,
// ARNs, invokeArn, an apiEndpoint pointing at Portico), and when the
// program exits successfully its registrations become the same resource
// model a spec or a Pulumi YAML program produces (pulumiyaml.FromRegistrations).
//
// Nothing is created while the program runs: a program that fails,
// panics or never exits yields an error and no model, so the running
// configuration stays as it was.
package pulumirun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// DefaultTimeout bounds a program's run (not its build).
const DefaultTimeout = 2 * time.Minute

// Config says which program to run and how.
type Config struct {
	// Dir is the program's directory, holding Pulumi.yaml.
	Dir string
	// Stack names the stack (its config is Pulumi.<stack>.yaml); "dev"
	// when empty.
	Stack string
	// BuildDir receives the built program; a temporary directory,
	// removed after the run, when empty.
	BuildDir string
	// Timeout bounds the program's run; DefaultTimeout when zero.
	Timeout time.Duration
	// APIEndpoint gives an API's apiEndpoint output (see pulumiyaml.Options).
	APIEndpoint func(api string) string
	// Output receives the program's own output and its log messages; nil
	// discards them.
	Output io.Writer
	// Strict makes what AWS would refuse behave as on AWS (see
	// pulumiyaml.Options.Strict, which the loader applies).
	Strict bool
}

// Run builds and runs the Pulumi program in cfg.Dir and returns the
// resource model it registered. Errors name what failed: the build (with
// the compiler's output), the program (with the error it logged or its
// last output), the timeout, or the model (positioned at the program's
// source lines).
func Run(ctx context.Context, cfg Config) (*pulumiyaml.Program, error) {
	proj, err := ReadProject(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if cfg.Stack == "" {
		cfg.Stack = "dev"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	out := cfg.Output
	if out == nil {
		out = io.Discard
	}
	config, err := proj.stackConfig(cfg.Dir, cfg.Stack)
	if err != nil {
		return nil, err
	}
	if cfg.BuildDir == "" {
		tmp, err := os.MkdirTemp("", "portico-pulumi-")
		if err != nil {
			return nil, fmt.Errorf("pulumi program: %w", err)
		}
		defer os.RemoveAll(tmp)
		cfg.BuildDir = tmp
	} else if err := os.MkdirAll(cfg.BuildDir, 0o755); err != nil {
		return nil, fmt.Errorf("pulumi program: %w", err)
	}
	if cfg.BuildDir, err = filepath.Abs(cfg.BuildDir); err != nil {
		return nil, fmt.Errorf("pulumi program: %w", err)
	}
	opts := pulumiyaml.Options{APIEndpoint: cfg.APIEndpoint, Strict: cfg.Strict, Language: proj.Runtime}
	src, err := filepath.Abs(proj.dir)
	if err != nil {
		return nil, fmt.Errorf("pulumi program: %w", err)
	}
	mon := newMonitor(proj.Name, cfg.Stack, src, opts, func(sev pulumirpc.LogSeverity, msg string) {
		if sev != pulumirpc.LogSeverity_DEBUG {
			fmt.Fprintf(out, "%s: %s\n", strings.ToLower(sev.String()), msg)
		}
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pulumi program: resource monitor: %w", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(400 << 20))
	pulumirpc.RegisterResourceMonitorServer(srv, mon)
	pulumirpc.RegisterEngineServer(srv, mon)
	go srv.Serve(lis)
	defer srv.Stop()

	var argv, env []string
	switch proj.Runtime {
	case "go":
		argv, err = goCommand(ctx, proj, cfg.BuildDir, out)
	case "python":
		argv, err = pythonCommand(ctx, proj, cfg.BuildDir, out)
	case "nodejs":
		argv, env, err = nodeCommand(ctx, proj, cfg.Stack, lis.Addr().String(), out)
	default:
		return nil, fmt.Errorf("pulumi program %s: runtime %q: Portico runs Go, Python and Node.js programs here (and YAML programs with pulumiyaml)", cfg.Dir, proj.Runtime)
	}
	if err != nil {
		return nil, err
	}

	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cfgJSON, _ := json.Marshal(config)
	errFile := filepath.Join(cfg.BuildDir, "program-error-"+proj.Name+".json")
	_ = os.Remove(errFile)
	cmd := exec.CommandContext(rctx, argv[0], argv[1:]...)
	cmd.Dir = proj.mainDir
	cmd.Env = append(os.Environ(),
		"PULUMI_MONITOR="+lis.Addr().String(),
		"PULUMI_ENGINE="+lis.Addr().String(),
		"PULUMI_PROJECT="+proj.Name,
		"PULUMI_STACK="+cfg.Stack,
		"PULUMI_ORGANIZATION="+organization,
		"PULUMI_ROOT_DIRECTORY="+src,
		"PULUMI_CONFIG="+string(cfgJSON),
		"PULUMI_CONFIG_SECRET_KEYS=[]",
		"PULUMI_DRY_RUN=false",
		"PULUMI_PARALLEL=16",
		"PORTICO_ERROR_FILE="+errFile,
	)
	cmd.Env = append(cmd.Env, env...)
	tail := &tailBuffer{max: 8 << 10}
	w := io.MultiWriter(out, tail) // one writer: exec then writes from one goroutine at a time
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	regs, outputs, logged := mon.result()
	switch {
	case rctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("pulumi program %s: did not exit within %s and was stopped (a program must return once it has registered its resources)", proj.Name, cfg.Timeout)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("pulumi program %s: %w", proj.Name, ctx.Err())
	case runErr != nil || len(logged) > 0:
		why := programError(proj, errFile)
		if why == "" {
			why = nodeError(proj, strings.Join(logged, "\n"))
		}
		if why == "" {
			why = strings.TrimSpace(tail.String())
		}
		if runErr == nil {
			runErr = errors.New("it logged errors")
		}
		return nil, fmt.Errorf("pulumi program %s failed (%v); nothing was deployed:\n%s", proj.Name, runErr, why)
	}
	return pulumiyaml.FromRegistrations(proj.dir, proj.Name, regs, stackOutputs(outputs), opts)
}

// goCommand builds a Go program into dir (unless Pulumi.yaml names a
// prebuilt binary) and returns the command line that runs it.
func goCommand(ctx context.Context, proj *Project, dir string, out io.Writer) ([]string, error) {
	if bin := proj.Binary; bin != "" {
		if !filepath.IsAbs(bin) {
			bin = filepath.Join(proj.mainDir, bin)
		}
		return []string{bin}, nil
	}
	// The first build compiles the Pulumi SDKs: minutes, so say so.
	fmt.Fprintf(out, "pulumi program %s: go build (the first build of the Pulumi SDKs takes a few minutes)\n", proj.Name)
	bin, err := build(ctx, proj, dir)
	if err != nil {
		return nil, err
	}
	return []string{bin}, nil
}

// build compiles the program into dir and returns the binary's path.
func build(ctx context.Context, proj *Project, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("pulumi program: build: %w", err)
	}
	bin := filepath.Join(dir, "pulumi-program-"+proj.Name)
	var output bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = proj.mainDir
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("pulumi program %s: go build failed (%v); nothing was started:\n%s", proj.Name, err, strings.TrimSpace(output.String()))
	}
	return bin, nil
}

// stackOutputs lists the stack's outputs sorted by name, as `pulumi up`
// prints them; values that are not strings are JSON.
func stackOutputs(m map[string]any) []pulumiyaml.Output {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]pulumiyaml.Output, 0, len(names))
	for _, k := range names {
		v, ok := m[k].(string)
		if !ok {
			b, _ := json.Marshal(m[k])
			v = string(b)
		}
		out = append(out, pulumiyaml.Output{Name: k, Value: v})
	}
	return out
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
