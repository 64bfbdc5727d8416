"""Chat client: python3 client.py ws://127.0.0.1:8080/dev "question" [user].

Prints the streamed tokens as they arrive. Needs the websockets package
(pip install websockets==15.0.1).
"""
import asyncio
import json
import sys

import websockets


async def chat(url, text, user):
    async with websockets.connect(f"{url}?user={user}") as ws:
        await ws.send(json.dumps({"action": "chat", "text": text}))
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("done"):
                print(flush=True)
                return
            print(msg["token"], end="", flush=True)


if __name__ == "__main__":
    asyncio.run(chat(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "hello",
                     sys.argv[3] if len(sys.argv) > 3 else "guest"))
