// A TypeScript program Portico runs: a function behind a route, config, a
// data source (served by Portico), an unsupported type and outputs.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

const config = new pulumi.Config();
const greeting = config.get("greeting") ?? "world";
const identity = aws.getCallerIdentityOutput();

const role = new aws.iam.Role("role", {
    assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } }],
    }),
});
const fn = new aws.lambda.Function("fn", {
    role: role.arn,
    runtime: "python3.12",
    handler: "handler.main",
    code: new pulumi.asset.FileArchive("./app"),
    environment: { variables: { GREETING: greeting } },
});
const api = new aws.apigatewayv2.Api("api", { protocolType: "HTTP" });
const integration = new aws.apigatewayv2.Integration("integration", {
    apiId: api.id,
    integrationType: "AWS_PROXY",
    integrationUri: fn.invokeArn,
    payloadFormatVersion: "2.0",
});
new aws.apigatewayv2.Route("route", { apiId: api.id, routeKey: "GET /hello", target: pulumi.interpolate`integrations/${integration.id}` });
new aws.apigatewayv2.Stage("stage", { apiId: api.id, name: "$default", autoDeploy: true });
new aws.sqs.Queue("queue");

export const url = api.apiEndpoint;
export const account = identity.accountId;
export const functionArn = fn.arn;
