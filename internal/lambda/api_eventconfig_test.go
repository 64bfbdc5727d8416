package lambda

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// TestEventInvokeConfigAPI drives the FunctionEventInvokeConfig operations
// with aws-sdk-go-v2: good requests and bad ones side by side.
func TestEventInvokeConfigAPI(t *testing.T) {
	work, _ := recordFn(t, "job")
	dlq, _ := recordFn(t, "dlq")
	r := newRunner(t, Config{Isolation: IsolationNone}, work, dlq)
	ts, c := apiServer(t, r)
	ctx := context.Background()
	dlqARN := FunctionARN("us-east-1", "000000000000", "dlq")

	_, err := c.GetFunctionEventInvokeConfig(ctx, &awslambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("job")})
	wantAPIError(t, err, "ResourceNotFoundException", "The function arn:aws:lambda:us-east-1:000000000000:function:job:$LATEST doesn't have an EventInvokeConfig")

	put, err := c.PutFunctionEventInvokeConfig(ctx, &awslambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("job"), MaximumRetryAttempts: aws.Int32(1), MaximumEventAgeInSeconds: aws.Int32(600),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dlqARN)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:job:$LATEST" || aws.ToInt32(put.MaximumRetryAttempts) != 1 ||
		put.LastModified == nil || aws.ToString(put.DestinationConfig.OnFailure.Destination) != dlqARN {
		t.Errorf("put = %+v", put)
	}
	up, err := c.UpdateFunctionEventInvokeConfig(ctx, &awslambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("job"), MaximumRetryAttempts: aws.Int32(0)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(up.MaximumRetryAttempts) != 0 || aws.ToInt32(up.MaximumEventAgeInSeconds) != 600 {
		t.Errorf("update merged into %+v", up)
	}
	if c, _ := r.EventInvokeConfigOf("job"); c.Retries() != 0 || c.OnFailure != dlqARN {
		t.Errorf("runner config = %+v", c)
	}
	list, err := c.ListFunctionEventInvokeConfigs(ctx, &awslambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("job")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}

	bad := []struct {
		name string
		in   *awslambda.PutFunctionEventInvokeConfigInput
		code string
	}{
		{"retries", &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("job"), MaximumRetryAttempts: aws.Int32(3)}, "InvalidParameterValueException"},
		{"age", &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("job"), MaximumEventAgeInSeconds: aws.Int32(30)}, "InvalidParameterValueException"},
		{"sqs destination", &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("job"),
			DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:q")}}}, "InvalidParameterValueException"},
		{"missing destination", &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("job"),
			DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String(FunctionARN("us-east-1", "000000000000", "nope"))}}}, "InvalidParameterValueException"},
		{"unknown function", &awslambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("nope")}, "ResourceNotFoundException"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutFunctionEventInvokeConfig(ctx, tt.in)
			wantAPIError(t, err, tt.code, "")
		})
	}
	if c, _ := r.EventInvokeConfigOf("job"); c.Retries() != 0 {
		t.Errorf("a refused put changed the config: %+v", c)
	}

	if _, err := c.DeleteFunctionEventInvokeConfig(ctx, &awslambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("job")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteFunctionEventInvokeConfig(ctx, &awslambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("job")})
	wantAPIError(t, err, "ResourceNotFoundException", "")

	// A body that is not JSON.
	resp, err := http.DefaultClient.Do(must(http.NewRequest(http.MethodPut, ts.URL+"/2019-09-25/functions/job/event-invoke-config", strings.NewReader("{"))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-ErrorType") != "InvalidRequestContentException" {
		t.Errorf("bad JSON: %d %s", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || msg != "" && ae.ErrorMessage() != msg {
		t.Errorf("error = %s: %s, want %s: %s", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}
