"""The WebSocket e2e client: argv = ws URL, admin key id, secret, region.

Checks, with real clients, what the Go test cannot see from outside:
streamed tokens pushed by the function, a refused $connect, a two-way
route, an oversized message (1009), and boto3's apigatewaymanagementapi
from outside (get/post, then GoneException after the close). Prints one
JSON object of results.
"""
import asyncio
import json
import sys

import boto3
import websockets

url, key, secret, region = sys.argv[1:5]
http_url = "http" + url[len("ws"):]
out = {}


def mgmt():
    return boto3.client("apigatewaymanagementapi", endpoint_url=http_url, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret)


async def main():
    try:
        async with websockets.connect(url):
            out["refused"] = None
    except websockets.exceptions.InvalidStatus as e:
        out["refused"] = e.response.status_code
    try:
        async with websockets.connect(url + "?user=mallory"):
            out["denied"] = None
    except websockets.exceptions.InvalidStatus as e:
        out["denied"] = e.response.status_code

    async with websockets.connect(url + "?user=ann") as ws:
        await ws.send(json.dumps({"action": "chat", "text": "hi"}))
        toks = []
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("done"):
                break
            toks.append(msg["token"])
        out["tokens"] = toks
        await ws.send(json.dumps({"action": "ping", "n": 7}))
        pong = json.loads(await ws.recv())
        out["pong"] = pong["pong"]
        out["user"] = pong["user"]
        conn = pong["connectionId"]
        c = mgmt()
        out["get_source_ip"] = c.get_connection(ConnectionId=conn)["Identity"]["SourceIp"]
        c.post_to_connection(ConnectionId=conn, Data=b"from outside")
        out["outside"] = await ws.recv()

    async with websockets.connect(url + "?user=bob", max_size=None) as ws:
        await ws.send("x" * (128 * 1024 + 1))
        try:
            await ws.recv()
        except websockets.exceptions.ConnectionClosed as e:
            out["too_big"] = e.rcvd.code if e.rcvd else None

    try:
        mgmt().post_to_connection(ConnectionId=conn, Data=b"late")
        out["gone"] = None
    except mgmt().exceptions.GoneException:
        out["gone"] = "GoneException"

    try:
        boto3.client("apigatewaymanagementapi", endpoint_url=http_url, region_name=region,
                     aws_access_key_id=key, aws_secret_access_key="wrong").post_to_connection(ConnectionId=conn, Data=b"x")
        out["bad_signature"] = None
    except Exception as e:  # botocore.exceptions.ClientError
        out["bad_signature"] = e.response["Error"]["Code"]


asyncio.run(main())
print(json.dumps(out))
