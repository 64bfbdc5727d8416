"""An embeddings service and a semantic search over a bucket's documents.

  POST /v1/embeddings   OpenAI's embeddings API: {"input": "text" or [...]}
  GET  /search?q=...    the documents of the bucket closest in meaning to q

The model loads once per sandbox, at its cold start (the import of
embedder, from the function's layer). The documents are read from the
bucket with boto3 and embedded at the first search, then kept.
"""

import json
import os

import boto3

import embedder

BUCKET = os.environ["BUCKET"]
MAX_INPUTS = 64

_s3 = boto3.client("s3")
_index = None  # [(key, text, vector)]


def handler(event, context):
    route = event.get("routeKey", "")
    try:
        if route == "POST /v1/embeddings":
            return embeddings(event)
        if route == "GET /search":
            return search(event)
        return reply(404, {"error": {"message": "no route " + route}})
    except ValueError as e:
        return reply(400, {"error": {"message": str(e), "type": "invalid_request_error"}})


def embeddings(event):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        import base64

        body = base64.b64decode(body).decode("utf-8")
    try:
        req = json.loads(body or "{}")
    except json.JSONDecodeError as e:
        raise ValueError("body is not JSON: %s" % e)
    inputs = req.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(s, str) and s for s in inputs):
        raise ValueError("input must be a non-empty string or a list of them")
    if len(inputs) > MAX_INPUTS:
        raise ValueError("at most %d inputs per request" % MAX_INPUTS)
    data, tokens = [], 0
    for i, text in enumerate(inputs):
        vec, n = embedder.embed(text)
        tokens += n
        data.append({"object": "embedding", "index": i, "embedding": [round(float(x), 6) for x in vec]})
    return reply(200, {
        "object": "list",
        "data": data,
        "model": embedder.MODEL,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })


def index():
    """Embeds every document of the bucket once per sandbox."""
    global _index
    if _index is None:
        docs = []
        for page in _s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for obj in page.get("Contents", []):
                text = _s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode("utf-8")
                docs.append((obj["Key"], text, embedder.embed(text)[0]))
        print("indexed %d documents of bucket %s" % (len(docs), BUCKET))
        _index = docs
    return _index


def search(event):
    params = event.get("queryStringParameters") or {}
    q = (params.get("q") or "").strip()
    if not q:
        raise ValueError("give a query: /search?q=...")
    k = int(params.get("k") or 3)
    qv, _ = embedder.embed(q)
    scored = sorted(((float(v @ qv), key, text) for key, text, v in index()), reverse=True)[: max(1, min(k, 20))]
    return reply(200, {
        "query": q,
        "model": embedder.MODEL,
        "results": [{"key": key, "score": round(score, 4), "text": text.strip()} for score, key, text in scored],
    })


def reply(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
