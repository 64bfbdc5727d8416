"""Echoes who called and how they were authorized."""
import json


def main(event, context):
    rc = event.get("requestContext", {})
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({
            "routeKey": event.get("routeKey"),
            "authorizer": rc.get("authorizer"),
        }),
    }
