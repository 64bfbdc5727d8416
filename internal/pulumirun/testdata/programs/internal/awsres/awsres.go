// Package awsres declares, for the test programs, the outputs of the AWS
// resources and the results of the data sources they use, the way
// pulumi-aws's generated Go SDK declares them: a struct embedding
// pulumi.CustomResourceState whose output fields are tagged with the
// provider's property names. Only the outputs the programs read or the tests
// check are declared; the monitor may return more, which the SDK ignores.
package awsres

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// ProviderVersion is the pulumi-aws version the programs claim, as
// pulumi-aws's SDK does on every registration and invoke
// (pulumi.Version(ProviderVersion)), so the monitor sees what it sees from
// real programs.
const ProviderVersion = "6.83.4"

// LambdaAssumeRolePolicy lets AWS Lambda assume a role: every function's
// role needs it.
const LambdaAssumeRolePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": "sts:AssumeRole",
      "Principal": {"Service": "lambda.amazonaws.com"},
      "Effect": "Allow"
    }
  ]
}`

// Role is aws:iam/role:Role.
type Role struct {
	pulumi.CustomResourceState

	ARN  pulumi.StringOutput `pulumi:"arn"`
	Name pulumi.StringOutput `pulumi:"name"`
}

// Function is aws:lambda/function:Function.
type Function struct {
	pulumi.CustomResourceState

	ARN       pulumi.StringOutput `pulumi:"arn"`
	InvokeARN pulumi.StringOutput `pulumi:"invokeArn"`
	Name      pulumi.StringOutput `pulumi:"name"`
}

// Permission is aws:lambda/permission:Permission.
type Permission struct {
	pulumi.CustomResourceState

	StatementID pulumi.StringOutput `pulumi:"statementId"`
}

// LogGroup is aws:cloudwatch/logGroup:LogGroup.
type LogGroup struct {
	pulumi.CustomResourceState

	ARN  pulumi.StringOutput `pulumi:"arn"`
	Name pulumi.StringOutput `pulumi:"name"`
}

// API is aws:apigatewayv2/api:Api.
type API struct {
	pulumi.CustomResourceState

	APIEndpoint  pulumi.StringOutput `pulumi:"apiEndpoint"`
	ExecutionARN pulumi.StringOutput `pulumi:"executionArn"`
	Name         pulumi.StringOutput `pulumi:"name"`
}

// Integration is aws:apigatewayv2/integration:Integration.
type Integration struct {
	pulumi.CustomResourceState

	IntegrationType pulumi.StringOutput `pulumi:"integrationType"`
}

// Route is aws:apigatewayv2/route:Route.
type Route struct {
	pulumi.CustomResourceState

	RouteKey pulumi.StringOutput    `pulumi:"routeKey"`
	Target   pulumi.StringPtrOutput `pulumi:"target"`
}

// Stage is aws:apigatewayv2/stage:Stage.
type Stage struct {
	pulumi.CustomResourceState

	InvokeURL pulumi.StringOutput `pulumi:"invokeUrl"`
	Name      pulumi.StringOutput `pulumi:"name"`
}

// Queue is aws:sqs/queue:Queue.
type Queue struct {
	pulumi.CustomResourceState

	ARN pulumi.StringOutput `pulumi:"arn"`
	URL pulumi.StringOutput `pulumi:"url"`
}

// Table is aws:dynamodb/table:Table.
type Table struct {
	pulumi.CustomResourceState

	ARN  pulumi.StringOutput `pulumi:"arn"`
	Name pulumi.StringOutput `pulumi:"name"`
}

// CallerIdentity is the result of aws:index/getCallerIdentity:getCallerIdentity.
type CallerIdentity struct {
	AccountID string `pulumi:"accountId"`
	ARN       string `pulumi:"arn"`
	ID        string `pulumi:"id"`
	UserID    string `pulumi:"userId"`
}

// Region is the result of aws:index/getRegion:getRegion (pulumi-aws v6
// names the region "name").
type Region struct {
	Name        string `pulumi:"name"`
	Description string `pulumi:"description"`
	Endpoint    string `pulumi:"endpoint"`
	ID          string `pulumi:"id"`
}

// Partition is the result of aws:index/getPartition:getPartition.
type Partition struct {
	Partition        string `pulumi:"partition"`
	DNSSuffix        string `pulumi:"dnsSuffix"`
	ReverseDNSPrefix string `pulumi:"reverseDnsPrefix"`
	ID               string `pulumi:"id"`
}

// PolicyDocumentArgs are the arguments of aws:iam/getPolicyDocument:getPolicyDocument.
type PolicyDocumentArgs struct {
	Statements []PolicyStatement `pulumi:"statements"`
}

// PolicyStatement is one statement of PolicyDocumentArgs.
type PolicyStatement struct {
	Effect     string            `pulumi:"effect"`
	Actions    []string          `pulumi:"actions"`
	Resources  []string          `pulumi:"resources"`
	Principals []PolicyPrincipal `pulumi:"principals"`
}

// PolicyPrincipal is a principal of a PolicyStatement, e.g. Type "Service"
// with Identifiers ["lambda.amazonaws.com"].
type PolicyPrincipal struct {
	Type        string   `pulumi:"type"`
	Identifiers []string `pulumi:"identifiers"`
}

// PolicyDocument is the result of aws:iam/getPolicyDocument:getPolicyDocument.
type PolicyDocument struct {
	ID           string `pulumi:"id"`
	JSON         string `pulumi:"json"`
	MinifiedJSON string `pulumi:"minifiedJson"`
}
