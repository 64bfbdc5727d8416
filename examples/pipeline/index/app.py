import json


def handler(event, context):
    """Log an invocation record (OnSuccess or OnFailure destination)."""
    ctx = event["requestContext"]
    print(f"{ctx['condition']} after {ctx['approximateInvokeCount']} attempt(s) of {ctx['functionArn']}")
    print(json.dumps(event.get("responsePayload")))
    return {"condition": ctx["condition"]}
