// Command goecho is the benchmark's Go Lambda function: it returns its event
// unchanged. Built with -tags lambda.norpc it speaks only the Runtime API, so
// the same binary runs under Portico and under the Runtime Interface Emulator.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, event json.RawMessage) (json.RawMessage, error) {
		return event, nil
	})
}
