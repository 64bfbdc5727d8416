"""A Python function: echoes what it was asked, with its Lambda context."""
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    name = (event.get("queryStringParameters") or {}).get("name") or event.get("name") or "world"
    logger.info("greeting %s", name)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({
            "runtime": "python",
            "greeting": f"hello, {name}",
            "function": context.function_name,
            "requestId": context.aws_request_id,
            "remainingMs": context.get_remaining_time_in_millis(),
        }),
    }
