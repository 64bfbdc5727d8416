// Command echo is a Lambda function built with aws-lambda-go that answers
// with the event it got and a few context fields.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type reply struct {
	Event     json.RawMessage `json:"event"`
	RequestID string          `json:"requestId"`
	ARN       string          `json:"arn"`
	Function  string          `json:"function"`
}

func handle(ctx context.Context, event json.RawMessage) (reply, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	return reply{Event: event, RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn, Function: lambdacontext.FunctionName}, nil
}

func main() { lambda.Start(handle) }
