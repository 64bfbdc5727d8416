import os


def main(event, context):
    return {"statusCode": 200, "body": "hello from " + os.environ["GREETING"]}
