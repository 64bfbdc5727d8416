package lambda

import (
	"context"

	"github.com/portico-dev/portico/internal/lambda/execenv"
)

// Command is how to start a function's runtime process (see
// execenv.Command). It mirrors bootstrap.Command so the app can adapt that
// package's resolver.
type Command = execenv.Command

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
