"""A chat function behind a WebSocket API.

$connect runs after the authorizer (app/authorizer.py) admitted the
client, and refuses one without a name again (defence in depth);
"chat" streams the answer's tokens to the caller with post_to_connection;
"ping" is a two-way route whose return body is the reply.
"""
import json
import os
import time

import boto3


def management_client(ctx):
    """The @connections client for the API and stage of this event.

    On AWS the endpoint is https://{domainName}/{stage}. Portico serves it
    at the same address over plain HTTP; it sets AWS_ENDPOINT_URL for
    functions, which AWS never does, so the same code runs in both places.
    """
    scheme = "http" if os.environ.get("AWS_ENDPOINT_URL") else "https"
    return boto3.client("apigatewaymanagementapi",
                        endpoint_url=f"{scheme}://{ctx['domainName']}/{ctx['stage']}")


def tokens(text):
    """A stand-in for a model: the answer, a word at a time."""
    answer = f"You said: {text}. Here is a streamed answer, one token at a time."
    for word in answer.split(" "):
        yield word + " "


def main(event, context):
    ctx = event["requestContext"]
    route = ctx["routeKey"]
    if route == "$connect":
        user = (event.get("queryStringParameters") or {}).get("user")
        if not user:
            return {"statusCode": 401, "body": "say who you are: ?user=NAME"}
        return {"statusCode": 200}
    if route == "$disconnect":
        print(f"disconnected {ctx['connectionId']}: {ctx.get('disconnectStatusCode')} {ctx.get('disconnectReason')}")
        return {"statusCode": 200}
    body = json.loads(event.get("body") or "{}")
    if route == "ping":
        return {"statusCode": 200, "body": json.dumps({"pong": body.get("n"), "connectionId": ctx["connectionId"],
                                                       "user": ctx.get("authorizer", {}).get("user")})}
    client = management_client(ctx)
    conn = ctx["connectionId"]
    for tok in tokens(body.get("text", "")):
        client.post_to_connection(ConnectionId=conn, Data=json.dumps({"token": tok}).encode())
        time.sleep(float(os.environ.get("TOKEN_DELAY", "0")))
    client.post_to_connection(ConnectionId=conn, Data=json.dumps({"done": True}).encode())
    return {"statusCode": 200}
