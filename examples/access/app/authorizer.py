"""A Lambda REQUEST authorizer with simple responses: lets in callers whose
X-Token header is "let-me-in", and tells the integration who they are."""


def main(event, context):
    token = (event.get("headers") or {}).get("x-token")
    return {"isAuthorized": token == "let-me-in", "context": {"user": "demo", "tier": "gold"}}
