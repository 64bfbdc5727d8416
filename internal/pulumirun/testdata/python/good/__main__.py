"""A Python program Portico runs: a function behind a route, config, a data
source (served by Portico) and outputs."""
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
greeting = config.get("greeting") or "world"

identity = aws.get_caller_identity()

role = aws.iam.Role("role", assume_role_policy=aws.iam.get_policy_document(statements=[
    aws.iam.GetPolicyDocumentStatementArgs(
        actions=["sts:AssumeRole"],
        principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=["lambda.amazonaws.com"])],
    ),
]).json)

fn = aws.lambda_.Function("fn",
    role=role.arn,
    runtime="python3.12",
    handler="handler.main",
    code=pulumi.FileArchive("./app"),
    environment=aws.lambda_.FunctionEnvironmentArgs(variables={"GREETING": greeting}),
)

api = aws.apigatewayv2.Api("api", protocol_type="HTTP")
integration = aws.apigatewayv2.Integration("integration",
    api_id=api.id,
    integration_type="AWS_PROXY",
    integration_uri=fn.invoke_arn,
    payload_format_version="2.0",
)
aws.apigatewayv2.Route("route", api_id=api.id, route_key="GET /hello",
    target=integration.id.apply(lambda id: f"integrations/{id}"))
aws.apigatewayv2.Stage("stage", api_id=api.id, name="$default", auto_deploy=True)

pulumi.export("url", api.api_endpoint)
pulumi.export("account", identity.account_id)
pulumi.export("functionArn", fn.arn)
