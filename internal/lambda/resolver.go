package lambda

import "context"

// Command is how to start a function's runtime process. It mirrors
// bootstrap.Command so the app can adapt that package's resolver.
type Command struct {
	Path string   // executable
	Args []string // argv[1:]
	Dir  string   // working directory (the code directory)
	Env  []string // runtime-specific extras as KEY=VALUE; a PATH extra is prepended to Lambda's PATH
	// CacheDirs are directories the runtime writes caches to (Python
	// bytecode). An isolated sandbox gets a private one per function at the
	// same path, so functions cannot poison each other's caches.
	CacheDirs []string
	Warnings  []string // e.g. retired runtime names; logged once per pool
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
