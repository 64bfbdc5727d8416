package control

import (
	"context"
	"fmt"

	"github.com/portico-dev/portico/internal/lambda"
	"github.com/portico-dev/portico/internal/lambda/build"
	"github.com/portico-dev/portico/internal/spec"
)

// buildFunction installs a function's dependencies and merges its layers
// (or finds them built already) and points fn at the results: CodeDir at
// the build copy, OptDir at the merged layers. A failure (pip's or npm's
// message) fails the apply, so the running version keeps serving.
func (c *Controller) buildFunction(ctx context.Context, f *spec.Function, fn lambda.Function) (lambda.Function, error) {
	fn.Interpreter = f.Interpreter
	if c.deps.Builder == nil {
		if len(f.Layers) > 0 {
			return fn, fmt.Errorf("function %s: layers need a builder", f.Name)
		}
		return fn, nil
	}
	res, err := c.deps.Builder.Build(ctx, build.Function{
		Name: f.Name, Runtime: f.Runtime, CodeDir: f.Code, Interpreter: f.Interpreter, Layers: f.Layers,
	})
	if err != nil {
		return fn, err
	}
	fn.CodeDir, fn.OptDir = res.CodeDir, res.OptDir
	// A new build (dependencies or layers) replaces warm sandboxes.
	fn.Revision += "\x00" + res.CodeDir + "\x00" + res.OptDir
	return fn, nil
}
