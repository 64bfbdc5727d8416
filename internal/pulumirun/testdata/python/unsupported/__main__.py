import pulumi
import pulumi_aws as aws

api = aws.apigatewayv2.Api("api", protocol_type="HTTP")
queue = aws.sqs.Queue("queue")
