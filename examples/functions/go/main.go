// Command hello is a Go Lambda function written for AWS with aws-lambda-go.
// Portico builds it into the runtime's bootstrap on first use.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type reply struct {
	Runtime   string `json:"runtime"`
	Greeting  string `json:"greeting"`
	Function  string `json:"function"`
	RequestID string `json:"requestId"`
}

func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	name := req.QueryStringParameters["name"]
	if name == "" {
		name = "world"
	}
	lc, _ := lambdacontext.FromContext(ctx)
	log.Printf("greeting %s", name)
	body, err := json.Marshal(reply{Runtime: "go", Greeting: fmt.Sprintf("hello, %s", name),
		Function: lambdacontext.FunctionName, RequestID: lc.AwsRequestID})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}, nil
}

func main() { lambda.Start(handle) }
