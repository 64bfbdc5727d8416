package trace

import "github.com/portico-dev/portico/internal/lambda"

// Interface guard, in a test so that trace does not link the runner.
var _ lambda.InvokeTracer = (*Tracer)(nil)
