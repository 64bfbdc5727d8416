"""Test handlers for the Python bootstrap."""

import logging
import os
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def main(event, context):
    logger.info("hello %s", event.get("name") if isinstance(event, dict) else event)
    print("plain print")
    cc = context.client_context
    return {
        "event": event,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "cognito_identity_id": context.identity.cognito_identity_id,
        "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        "client_installation_id": cc.client.installation_id if cc else None,
        "client_custom": cc.custom if cc else None,
        "client_env": cc.env if cc else None,
        "tenant_id": context.tenant_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
    }


def echo(event, context):
    if isinstance(event, bytes):
        return {"type": "bytes", "value": event.decode("utf-8")}
    return {"type": type(event).__name__, "value": event}


def raw(event, context):
    return b"\x00raw bytes"


def unserializable(event, context):
    return {"x": object()}


def fail(event, context):
    raise ValueError("boom")


def stream(event, context):
    yield "hello "
    time.sleep(0.2)
    yield b"world"


def stream_fail(event, context):
    yield "partial"
    time.sleep(0.05)
    raise RuntimeError("mid-stream")


def stream_fail_early(event, context):
    raise KeyError("before any chunk")
    yield "never"
