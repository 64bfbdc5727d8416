package metrics

import "github.com/portico-dev/portico/internal/lambda"

// Interface guard, in a test so that metrics does not link the runner.
var _ lambda.Observer = (*Metrics)(nil)
