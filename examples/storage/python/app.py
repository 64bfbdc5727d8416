"""Stores and serves objects of the bucket in $BUCKET with boto3.

PUT /py/{key+}  the request body becomes s3://$BUCKET/{key}
GET /py/{key+}  the object's bytes

The S3 client is plain boto3: the endpoint (AWS_ENDPOINT_URL) and the
function's credentials come from the environment, so this file runs on AWS
Lambda unchanged. What the function may do is its role's policies' call;
a refusal is answered with S3's error code and status.
"""
import base64
import json
import os

import boto3
from botocore.exceptions import ClientError

BUCKET = os.environ["BUCKET"]
s3 = boto3.client("s3")  # once per sandbox


def _json(status, payload):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(payload)}


def handler(event, context):
    key = (event.get("pathParameters") or {}).get("key", "")
    method = event["requestContext"]["http"]["method"]
    try:
        if method == "PUT":
            body = event.get("body") or ""
            data = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
            out = s3.put_object(Bucket=BUCKET, Key=key, Body=data,
                                ContentType=(event.get("headers") or {}).get("content-type", "binary/octet-stream"))
            return _json(200, {"bucket": BUCKET, "key": key, "size": len(data), "etag": out["ETag"],
                               "function": context.function_name})
        obj = s3.get_object(Bucket=BUCKET, Key=key)
        return {
            "statusCode": 200,
            "headers": {"content-type": obj.get("ContentType", "binary/octet-stream")},
            "body": base64.b64encode(obj["Body"].read()).decode(),
            "isBase64Encoded": True,
        }
    except ClientError as e:
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        return _json(status, {"error": err.get("Code"), "message": err.get("Message"), "bucket": BUCKET, "key": key,
                              "function": context.function_name})
