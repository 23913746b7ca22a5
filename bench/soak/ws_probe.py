#!/usr/bin/env python3
"""Memory per WebSocket connection of a running `serve`: opens and closes N sockets (50 at a time) four
times over, and prints the server's RSS after each round, so that memory kept per connection shows as a
steady climb. MODE: `connect` (open and close only), `join` (join a new `room:<id>` topic), `presence`
(join and track), `http` (plain HTTP requests on new connections, for comparison).

Usage: ws_probe.py PORT PID N MODE   (run with the project's .venv: it needs `websockets`)
"""
import asyncio
import json
import sys
import uuid

import websockets


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


async def visit(port: int, number: int, mode: str) -> None:
    if mode == "http":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        await writer.drain()
        await reader.read()
        writer.close()
        return
    async with websockets.connect(f"ws://127.0.0.1:{port}/realtime/v1/websocket?apikey=probe&vsn=1.0.0") as socket:
        if mode == "connect":
            return
        topic = f"realtime:room:{uuid.uuid4().hex[:20]}"
        config = {"broadcast": {"ack": False, "self": False}, "presence": {"key": f"u{number}", "enabled": mode == "presence"}}
        await socket.send(json.dumps({"topic": topic, "event": "phx_join", "ref": "1", "join_ref": "1", "payload": {"config": config}}))
        await socket.recv()
        if mode == "presence":
            track = {"type": "presence", "event": "track", "payload": {"user_id": f"u{number}"}}
            await socket.send(json.dumps({"topic": topic, "event": "presence", "ref": "2", "join_ref": "1", "payload": track}))
            await socket.recv()


async def main() -> None:
    port, pid, count, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    for round_number in range(4):
        for batch in range(count // 50):
            await asyncio.gather(*(visit(port, batch * 50 + k, mode) for k in range(50)))
        await asyncio.sleep(1)
        print(f"{mode} round {round_number}: {count} connections, serve RSS {rss_kib(pid)} KiB", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
