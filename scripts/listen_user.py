"""Plays a user of the web client against a running `matchmaker serve`, with the official `realtime` client:
tracks `{"status": "waiting"}` under the user's id in `global:lobby` (the matchmaker pairs only users
waiting there, once anyone is in the lobby), listens on `user:<id>`, and prints every notice it gets,
e.g. `stranger_matched` with the room when that user is paired.

Usage: .venv/bin/python scripts/listen_user.py http://127.0.0.1:8080 alice
(install the client first: python3 -m venv .venv && .venv/bin/pip install -r Tests/conformance/requirements.txt)
"""

import asyncio
import json
import sys

from realtime import AsyncRealtimeClient


async def main(base_url: str, user_id: str) -> None:
    client = AsyncRealtimeClient(f"{base_url.rstrip('/')}/realtime/v1", token="anon-key")
    await client.connect()
    inbox = client.channel(f"user:{user_id}")
    for event in ("stranger_matched", "stranger_no_matches", "stranger_skipped"):
        inbox.on_broadcast(event, lambda message: print(json.dumps(message), flush=True))
    await inbox.subscribe()
    lobby = client.channel("global:lobby", {"config": {"presence": {"key": user_id, "enabled": True}}})
    await lobby.subscribe()
    await lobby.track({"status": "waiting"})
    print(f"{user_id} is waiting in the lobby and listening on user:{user_id}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
