# A Lambda REQUEST authorizer (payload 2.0, simple responses) for the
# end-to-end test: "letmein" is allowed, "crash" raises, anything else is
# denied.


def handler(event, context):
    token = event.get("headers", {}).get("x-token", "")
    if token == "crash":
        raise RuntimeError("authorizer crashed")
    return {
        "isAuthorized": token == "letmein",
        "context": {
            "user": "alice",
            "routeArn": event.get("routeArn"),
            "identitySource": event.get("identitySource"),
        },
    }
