// The seed's Pulumi program (../seed-pulumi-python/__main__.py) in
// TypeScript, resource for resource: a role for the function, the basic
// execution policy, the function (code in ../seed-pulumi-python/app), an
// HTTP API with an AWS_PROXY integration, the route GET / and a stage v1.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

// Create the role for Lambda Function
const lambdaRole = new aws.iam.Role("lambdaRole", {
    assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Action: "sts:AssumeRole",
            Principal: { Service: "lambda.amazonaws.com" },
            Effect: "Allow",
            Sid: "",
        }],
    }),
});

// Attach the AWSLambdaBasicExecutionRole policy to the role
const basicExecutionPolicyAttachment = new aws.iam.RolePolicyAttachment("basicExecution", {
    role: lambdaRole,
    policyArn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
});

// Define the Lambda Function
const lambdaFunction = new aws.lambda.Function("aiServiceFunction", {
    role: lambdaRole.arn,
    runtime: "python3.8",
    handler: "handler.main", // handler.py's main function
    code: new pulumi.asset.AssetArchive({
        ".": new pulumi.asset.FileArchive("../seed-pulumi-python/app"),
    }),
});

// Define the HTTP API
const api = new aws.apigatewayv2.Api("aiServicesHttpApi", {
    protocolType: "HTTP",
});

// Create an integration for the Lambda function
const integration = new aws.apigatewayv2.Integration("lambdaIntegration", {
    apiId: api.id,
    integrationType: "AWS_PROXY",
    integrationUri: lambdaFunction.invokeArn,
});

// Create a route for GET requests
const route = new aws.apigatewayv2.Route("apiGETRoute", {
    apiId: api.id,
    routeKey: "GET /",
    target: pulumi.interpolate`integrations/${integration.id}`,
});

// Deploy the API
const stage = new aws.apigatewayv2.Stage("apiStage", {
    apiId: api.id,
    name: "v1",
    autoDeploy: true,
});

// Export the API endpoint for easy access
export const api_endpoint = api.apiEndpoint;
