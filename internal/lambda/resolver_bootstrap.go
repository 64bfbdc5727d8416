package lambda

import (
	"context"
	"os"
	"path/filepath"

	"github.com/portico-dev/portico/internal/lambda/bootstrap"
)

// BootstrapResolver adapts the bootstrap package (python, node and
// provided runtimes, Go sources built on demand) to the Resolver interface.
type BootstrapResolver struct{ R *bootstrap.Resolver }

var _ Resolver = BootstrapResolver{}

// Command resolves fn with the bootstrap package.
func (b BootstrapResolver) Command(ctx context.Context, fn Function) (*Command, error) {
	c, err := b.R.Command(ctx, bootstrap.Function{
		Name: fn.Name, Runtime: fn.Runtime, Handler: fn.Handler, CodeDir: fn.CodeDir, MemoryMB: fn.MemoryMB,
		Interpreter: fn.Interpreter,
	})
	if err != nil {
		return nil, err
	}
	return &Command{Path: c.Path, Args: c.Args, Dir: c.Dir, Env: c.Env, CacheDirs: c.CacheDirs, Warnings: c.Warnings}, nil
}

// DefaultCacheDir is where runtime artefacts and builds go unless told
// otherwise: the user's cache directory + /portico, else the temp
// directory.
func DefaultCacheDir() string { return defaultCacheDir() }

// defaultCacheDir is where runtime artefacts go when Config.CacheDir is
// empty: the user's cache directory, else the temp directory.
func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "portico")
	}
	return filepath.Join(os.TempDir(), "portico-cache")
}
