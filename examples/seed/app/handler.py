"""The seed example's function: sentiment of a short text, by a small naive
Bayes model that ships beside this file (trained by ../train.py).

GET /v1/?text=the+answers+were+fast+and+accurate
  -> {"label": "positive", "confidence": 0.97, "scores": {...}, "words": 6}
"""
import json
import math
import os
import re

_WORD = re.compile(r"[a-z']+")

# Loaded once per sandbox, at init: warm invocations only score.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.json"), encoding="utf-8") as _f:
    MODEL = json.load(_f)


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
