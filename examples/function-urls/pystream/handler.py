"""Portico's Python streaming through a function URL: a generator handler
streams (a Portico extension: AWS's managed Python runtime cannot stream;
see docs/streaming.md). The dict yielded first is the HTTP prelude."""
import time


def main(event, context):
    q = (event.get("queryStringParameters") or {}).get("q", "something")

    def chunks():
        yield {"statusCode": 200, "headers": {"content-type": "text/plain"}}
        for word in f"Python streams {q} word by word".split(" "):
            yield word + "\n"
            time.sleep(0.01)

    return chunks()
