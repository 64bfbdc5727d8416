import time

import pulumi_aws as aws

aws.apigatewayv2.Api("api", protocol_type="HTTP")
time.sleep(3600)
