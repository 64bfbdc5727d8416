import json
import urllib.parse


def handler(event, context):
    """Summarise each uploaded object named in an S3 event."""
    out = []
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        print(f"{record['eventName']} s3://{record['s3']['bucket']['name']}/{key}")
        if "bad" in key:
            raise ValueError(f"cannot ingest {key}")
        out.append({"key": key, "size": record["s3"]["object"]["size"]})
    return {"ingested": out}
