// Command seed-pulumi is the seed system as a Pulumi Go program: the seed's
// Python program (an IAM role, a Lambda function, an HTTP API with one
// route and a stage) plus the S3 bucket that holds the function's model,
// resource for resource the same as ../seed-pulumi-yaml/Pulumi.yaml. It uses
// the seed's code (../seed/app) and model (../seed/model) unchanged.
//
// Locally, with no AWS account, Portico builds and runs it and serves what
// it declares:
//
//	portico up examples/seed-pulumi
//	curl 'http://127.0.0.1:8080/v1/?text=fast+and+accurate'
//
// On AWS, from this directory, with the Pulumi CLI and AWS credentials:
//
//	pulumi stack init dev && pulumi config set aws:region eu-west-1
//	pulumi up
package main

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// modelKey is the model's object key; the function reads it from MODEL_KEY.
const modelKey = "model.json"

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// The role the function runs as.
		lambdaRole, err := iam.NewRole(ctx, "lambdaRole", &iam.RoleArgs{
			AssumeRolePolicy: pulumi.JSONMarshal(map[string]any{
				"Version": "2012-10-17",
				"Statement": []map[string]any{{
					"Action":    "sts:AssumeRole",
					"Principal": map[string]any{"Service": "lambda.amazonaws.com"},
					"Effect":    "Allow",
				}},
			}),
		})
		if err != nil {
			return err
		}
		if _, err := iam.NewRolePolicyAttachment(ctx, "basicExecution", &iam.RolePolicyAttachmentArgs{
			Role:      lambdaRole.Name,
			PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
		}); err != nil {
			return err
		}

		// The bucket that holds the model, and the model itself (written by
		// ../seed/train.py).
		models, err := s3.NewBucketV2(ctx, "models", &s3.BucketV2Args{
			Bucket: pulumi.String("models"),
		})
		if err != nil {
			return err
		}
		if _, err := s3.NewBucketObjectv2(ctx, "modelObject", &s3.BucketObjectv2Args{
			Bucket: models.ID(),
			Key:    pulumi.String(modelKey),
			Source: pulumi.NewFileAsset("../seed/model/model.json"),
		}); err != nil {
			return err
		}

		// The function may read the bucket's objects and nothing else.
		if _, err := iam.NewRolePolicy(ctx, "readModel", &iam.RolePolicyArgs{
			Role: lambdaRole.ID(),
			Policy: pulumi.JSONMarshal(pulumi.Map{
				"Version": pulumi.String("2012-10-17"),
				"Statement": pulumi.Array{pulumi.Map{
					"Effect":   pulumi.String("Allow"),
					"Action":   pulumi.String("s3:GetObject"),
					"Resource": pulumi.Sprintf("%s/*", models.Arn),
				}},
			}),
		}); err != nil {
			return err
		}

		// The seed's handler, unchanged.
		fn, err := lambda.NewFunction(ctx, "aiServiceFunction", &lambda.FunctionArgs{
			Role:    lambdaRole.Arn,
			Runtime: pulumi.String("python3.8"),
			Handler: pulumi.String("handler.main"),
			Code: pulumi.NewAssetArchive(map[string]interface{}{
				".": pulumi.NewFileArchive("../seed/app"),
			}),
			Environment: &lambda.FunctionEnvironmentArgs{
				Variables: pulumi.StringMap{
					"MODEL_BUCKET": models.Bucket,
					"MODEL_KEY":    pulumi.String(modelKey),
				},
			},
		})
		if err != nil {
			return err
		}

		api, err := apigatewayv2.NewApi(ctx, "aiServicesHttpApi", &apigatewayv2.ApiArgs{
			ProtocolType: pulumi.String("HTTP"),
		})
		if err != nil {
			return err
		}
		integration, err := apigatewayv2.NewIntegration(ctx, "lambdaIntegration", &apigatewayv2.IntegrationArgs{
			ApiId:                api.ID(),
			IntegrationType:      pulumi.String("AWS_PROXY"),
			IntegrationUri:       fn.InvokeArn,
			PayloadFormatVersion: pulumi.String("2.0"),
		})
		if err != nil {
			return err
		}

		// What the seed's program forgets: without this permission API Gateway
		// on AWS may not invoke the function, and the API answers 500. Portico
		// accepts it and does not need it.
		if _, err := lambda.NewPermission(ctx, "invokePermission", &lambda.PermissionArgs{
			Action:    pulumi.String("lambda:InvokeFunction"),
			Function:  fn.Name,
			Principal: pulumi.String("apigateway.amazonaws.com"),
			SourceArn: pulumi.Sprintf("%s/*/*", api.ExecutionArn),
		}); err != nil {
			return err
		}

		if _, err := apigatewayv2.NewRoute(ctx, "apiGETRoute", &apigatewayv2.RouteArgs{
			ApiId:    api.ID(),
			RouteKey: pulumi.String("GET /"),
			Target:   pulumi.Sprintf("integrations/%s", integration.ID()),
		}); err != nil {
			return err
		}
		if _, err := apigatewayv2.NewStage(ctx, "apiStage", &apigatewayv2.StageArgs{
			ApiId:      api.ID(),
			Name:       pulumi.String("v1"),
			AutoDeploy: pulumi.Bool(true),
		}); err != nil {
			return err
		}

		ctx.Export("api_endpoint", api.ApiEndpoint)
		return nil
	})
}
