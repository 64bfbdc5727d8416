import pulumi_aws as aws

api = aws.apigatewayv2.Api("api", protocol_type="HTTP")

aws.apigatewayv2.Route("route",
    api_id=api.id,
    route_key="GET /",
    target="integrations/nope",
)
