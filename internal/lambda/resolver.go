package lambda

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Command is how to start a function's runtime process. It mirrors
// bootstrap.Command so the app can adapt that package's resolver.
type Command struct {
	Path     string   // executable
	Args     []string // argv[1:]
	Dir      string   // working directory (the code directory)
	Env      []string // runtime-specific extras as KEY=VALUE; a PATH extra is prepended to Lambda's PATH
	Warnings []string // e.g. retired runtime names; logged once per pool
}

// Resolver says how to start a function's runtime. Errors are configuration
// errors with a message fit for the user (missing interpreter, missing or
// non-executable bootstrap); the runner reports them to the invocation as
// Runtime.InvalidEntrypoint. Implementations are safe for concurrent use.
type Resolver interface {
	Command(ctx context.Context, fn Function) (*Command, error)
}

// ResolverFunc adapts a function to the Resolver interface.
type ResolverFunc func(ctx context.Context, fn Function) (*Command, error)

// Command calls f(ctx, fn).
func (f ResolverFunc) Command(ctx context.Context, fn Function) (*Command, error) { return f(ctx, fn) }

var _ Resolver = ResolverFunc(nil)

// ProvidedResolver starts custom runtimes (provided.al2023, provided.al2):
// the executable "bootstrap" at the root of the code directory. It is the
// dependency-free alternative to BootstrapResolver for custom runtimes
// only.
type ProvidedResolver struct{}

var _ Resolver = ProvidedResolver{}

// Command returns CodeDir/bootstrap, or an error when fn is not a custom
// runtime or the file is missing or not executable.
func (ProvidedResolver) Command(_ context.Context, fn Function) (*Command, error) {
	if !strings.HasPrefix(fn.Runtime, "provided") {
		return nil, fmt.Errorf("runtime %q: no resolver for this runtime is configured", fn.Runtime)
	}
	path := filepath.Join(fn.CodeDir, "bootstrap")
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("couldn't find valid bootstrap(s): [%s]: %w", path, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("couldn't find valid bootstrap(s): [%s]: not an executable file", path)
	}
	return &Command{Path: path, Dir: fn.CodeDir}, nil
}
