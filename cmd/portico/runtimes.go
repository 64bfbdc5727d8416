package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/bootstrap"
)

// resolver adapts the bootstrap package (how each runtime starts) to the
// runner's Resolver seam.
func resolver(cacheDir string) lambda.Resolver {
	b := bootstrap.NewResolver(cacheDir)
	return lambda.ResolverFunc(func(ctx context.Context, fn lambda.Function) (*lambda.Command, error) {
		c, err := b.Command(ctx, bootstrap.Function{Name: fn.Name, Runtime: fn.Runtime, Handler: fn.Handler, CodeDir: fn.CodeDir, MemoryMB: fn.MemoryMB})
		if err != nil {
			return nil, err
		}
		return &lambda.Command{Path: c.Path, Args: c.Args, Dir: c.Dir, Env: c.Env, Warnings: c.Warnings}, nil
	})
}

// cacheDir is where runtime artefacts (bootstrap scripts, Go builds) live.
func cacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "portico")
}
