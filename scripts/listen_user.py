"""Listens on `user:<id>` of a running `matchmaker serve` with the official `realtime` client and prints
every broadcast, e.g. `stranger_matched` with the room when that user is paired.

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
    channel = client.channel(f"user:{user_id}")
    for event in ("stranger_matched", "stranger_no_matches", "stranger_skipped"):
        channel.on_broadcast(event, lambda message: print(json.dumps(message), flush=True))
    await channel.subscribe()
    print(f"listening on user:{user_id}", file=sys.stderr, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
