package iam

import "sort"

// managed holds the AWS managed policies Portico knows, as published in the
// AWS Managed Policy Reference (default versions).
var managed = map[string]string{
	"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/service-role/AWSLambdaRole": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["lambda:InvokeFunction"],"Resource":["*"]}]}`,
	"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonS3FullAccess": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}`,
	"arn:aws:iam::aws:policy/AmazonAPIGatewayInvokeFullAccess": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["execute-api:Invoke","execute-api:ManageConnections"],"Resource":"arn:aws:execute-api:*:*:*"}]}`,
}

// ManagedPolicy returns the AWS managed policy with the given ARN (for
// example "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"), parsed afresh,
// and false when Portico does not know it. Known: AWSLambdaBasicExecutionRole
// and AWSLambdaRole (under service-role/), AmazonS3ReadOnlyAccess,
// AmazonS3FullAccess, AmazonAPIGatewayInvokeFullAccess.
func ManagedPolicy(arn string) (*Policy, bool) {
	doc, ok := managed[arn]
	if !ok {
		return nil, false
	}
	p, err := ParsePolicy(doc)
	if err != nil {
		// The table above is constant; a parse failure is a programming
		// error caught by TestManagedPolicies.
		return nil, false
	}
	return p, true
}

// ManagedPolicyARNs lists the ARNs ManagedPolicy knows, for error messages.
func ManagedPolicyARNs() []string {
	out := make([]string, 0, len(managed))
	for k := range managed {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
