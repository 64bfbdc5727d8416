// Command goecho is a test function: it echoes its event and logs a line.
// With {"env":true} it returns its environment instead; with
// {"big":N} it returns a string of N bytes.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Env bool `json:"env"`
	Big int  `json:"big"`
	Ctx bool `json:"ctx"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	json.Unmarshal(raw, &ev)
	fmt.Println("echo handler called")
	switch {
	case ev.Env:
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return env, nil
	case ev.Big > 0:
		return strings.Repeat("x", ev.Big), nil
	case ev.Ctx:
		lc, _ := lambdacontext.FromContext(ctx)
		dl, _ := ctx.Deadline()
		return map[string]any{"requestId": lc.AwsRequestID, "arn": lc.InvokedFunctionArn,
			"deadlineMs": dl.UnixMilli(), "clientContext": lc.ClientContext.Custom}, nil
	}
	return raw, nil
}

func main() { lambda.Start(handle) }
