"""The chat's $connect authorizer: a Lambda REQUEST authorizer answering
with an IAM policy, as WebSocket APIs require. The user's name (the
identity source route.request.querystring.user) becomes the principal
and reaches every event of the connection in requestContext.authorizer."""


def main(event, context):
    user = (event.get("queryStringParameters") or {}).get("user", "")
    effect = "Deny" if user == "mallory" else "Allow"
    return {
        "principalId": user,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}],
        },
        "context": {"user": user},
    }
