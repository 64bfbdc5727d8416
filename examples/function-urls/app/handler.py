"""A function behind an AWS_IAM function URL: it answers with the event
the URL delivered, so callers (and tests) see the payload 2.0 shape."""
import json


def main(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"rawPath": event["rawPath"], "requestContext": event["requestContext"],
                            "body": event.get("body"), "routeKey": event["routeKey"], "version": event["version"]}),
    }
