"""Functions that misbehave, for the gateway's end-to-end tests."""
import time


def not_json(event, context):
    # Returned bytes reach the runtime API as-is: not JSON.
    return b"this is not json"


def too_large(event, context):
    return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}


def nothing(event, context):
    return None


def slow(event, context):
    time.sleep(5)
    return {"statusCode": 200, "body": "late"}


def crash(event, context):
    import os
    os._exit(3)


def raises(event, context):
    raise ValueError("bad input")


def bad_status(event, context):
    return {"statusCode": "two hundred", "body": "?"}
