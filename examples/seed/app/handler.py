"""The seed example's function: sentiment of a short text, by a small naive
Bayes model (trained by ../train.py) that lives in the S3 bucket "models".

GET /v1/?text=the+answers+were+fast+and+accurate
  -> {"label": "positive", "confidence": 0.84, "scores": {...}, "words": 6}

The model is read once per sandbox, at init, through the S3 API: with boto3
when it is installed (unchanged SDK code: it finds AWS_ENDPOINT_URL and the
function's credentials in the environment, as on AWS), else with the small
standard-library SigV4 client below, so the example needs nothing beyond
Python itself. Warm invocations only score.
"""
import datetime
import hashlib
import hmac
import json
import math
import os
import re
import urllib.error
import urllib.parse
import urllib.request

_WORD = re.compile(r"[a-z']+")

MODEL_BUCKET = os.environ.get("MODEL_BUCKET", "models")
MODEL_KEY = os.environ.get("MODEL_KEY", "model.json")


def _get_object_boto3(bucket, key):
    import boto3  # ImportError: fall back to the standard library

    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def _get_object_stdlib(bucket, key):
    """GetObject, path-style, signed with AWS Signature Version 4."""
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or f"https://s3.{region}.amazonaws.com"
    base = urllib.parse.urlsplit(endpoint.rstrip("/"))
    path = base.path + "/" + bucket + "/" + urllib.parse.quote(key, safe="/-_.~")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(b"").hexdigest()
    headers = {"host": base.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    if env.get("AWS_SESSION_TOKEN"):
        headers["x-amz-security-token"] = env["AWS_SESSION_TOKEN"]
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["GET", path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload_hash])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + env["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={env['AWS_ACCESS_KEY_ID']}/{scope}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    url = urllib.parse.urlunsplit((base.scheme, base.netloc, path, "", ""))
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"GetObject s3://{bucket}/{key}: {e.code} {e.read()[:300]!r}") from None


def get_object(bucket, key):
    """The bytes of s3://bucket/key, read through the S3 API."""
    try:
        return _get_object_boto3(bucket, key)
    except ImportError:
        return _get_object_stdlib(bucket, key)


def load_model():
    """The model: model.json bundled beside this file when the function's
    code carries it (the seed's Pulumi Python program declares no bucket),
    else the object in S3."""
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), MODEL_KEY)
    if "MODEL_BUCKET" not in os.environ and os.path.exists(bundled):
        with open(bundled, "rb") as f:
            return f.read()
    return get_object(MODEL_BUCKET, MODEL_KEY)


# Loaded once per sandbox, at init: warm invocations only score.
MODEL = json.loads(load_model())


def classify(text):
    words = _WORD.findall(text.lower())
    logp = {}
    for label, m in MODEL["labels"].items():
        table, unknown = m["words"], m["unknown"]
        logp[label] = m["prior"] + sum(table.get(w, unknown) for w in words)
    top = max(logp.values())
    exp = {label: math.exp(v - top) for label, v in logp.items()}
    total = sum(exp.values())
    scores = {label: round(v / total, 4) for label, v in sorted(exp.items())}
    label = max(scores, key=scores.get)
    return {"label": label, "confidence": scores[label], "scores": scores, "words": len(words)}


def _response(status, payload):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(payload),
    }


def main(event, context):
    params = event.get("queryStringParameters") or {}
    text = params.get("text")
    if not text:
        return _response(400, {
            "message": "give a text to classify: GET /v1/?text=your+words",
            "function": context.function_name,
        })
    result = classify(text)
    print(f"classified {result['words']} words as {result['label']} ({result['confidence']})")
    return _response(200, result)
