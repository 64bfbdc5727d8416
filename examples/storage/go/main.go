// Command documents stores and serves objects of the bucket in $BUCKET with
// aws-sdk-go-v2, behind HTTP API routes:
//
//	PUT /go/{key+}  the request body becomes s3://$BUCKET/{key}
//	GET /go/{key+}  the object's bytes
//
// The S3 client is the SDK's default: config.LoadDefaultConfig finds the
// endpoint (AWS_ENDPOINT_URL, or AWS_ENDPOINT_URL_S3) and the function's
// credentials in the environment, so this program runs on AWS Lambda
// unchanged. The function's role decides what it may do; a refusal
// (AccessDenied) is answered with S3's error code and status.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

type handler struct {
	s3     *s3.Client
	bucket string
}

func (h *handler) handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	key := req.PathParameters["key"]
	if req.RequestContext.HTTP.Method == http.MethodPut {
		body := []byte(req.Body)
		if req.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(req.Body)
			if err != nil {
				return reply(http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
			}
			body = b
		}
		ct := req.Headers["content-type"]
		if ct == "" {
			ct = "binary/octet-stream"
		}
		out, err := h.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &h.bucket, Key: &key,
			Body: bytes.NewReader(body), ContentType: &ct})
		if err != nil {
			return h.failure(key, err)
		}
		return reply(http.StatusOK, map[string]any{"bucket": h.bucket, "key": key, "size": len(body),
			"etag": aws.ToString(out.ETag), "function": lambdacontext.FunctionName})
	}
	out, err := h.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &h.bucket, Key: &key})
	if err != nil {
		return h.failure(key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return h.failure(key, err)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK,
		Headers:         map[string]string{"content-type": aws.ToString(out.ContentType)},
		Body:            base64.StdEncoding.EncodeToString(data),
		IsBase64Encoded: true}, nil
}

// failure answers an S3 error with its code and HTTP status (AccessDenied:
// 403, NoSuchKey: 404); any other error is the function's own (500).
func (h *handler) failure(key string, err error) (events.APIGatewayV2HTTPResponse, error) {
	status, code := http.StatusInternalServerError, "InternalError"
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return reply(status, map[string]any{"error": code, "message": err.Error(), "bucket": h.bucket, "key": key,
		"function": lambdacontext.FunctionName})
}

func reply(status int, v any) (events.APIGatewayV2HTTPResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status,
		Headers: map[string]string{"content-type": "application/json"}, Body: string(b)}, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err) // an init error: Lambda reports it and retries the cold start
	}
	lambda.Start((&handler{s3: s3.NewFromConfig(cfg), bucket: os.Getenv("BUCKET")}).handle)
}
