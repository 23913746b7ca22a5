"""Hostile clients against `matchmaker serve` (embedded backend), measured on the server process itself.

A subscriber that joins a channel and then stops reading must not make the server hold every broadcast
for it: the hub bounds each socket's outbound queue (8 MiB) and disconnects a consumer that falls that
far behind. Here 40 MB of broadcasts go to a channel whose only subscriber reads nothing; the server's
resident memory may grow by a bounded amount, and the subscriber's socket is closed.

A client that tracks a presence meta just under the 256 KB message limit on each of its 100 channels would
make the server hold 25 MB per socket; the hub caps a socket's presence metas at 1 MiB in total
(`EMBEDDED_PRESENCE_BYTES_PER_SOCKET`) and refuses the tracks beyond it with `presence_limit_exceeded`.

Sockets opened and closed, as browsers do on every visit, leave nothing behind once closed.

Requests the HTTP parser refuses (issue 16 item 3) get a status line and then EOF from the real process.
"""

import asyncio
import json
import os
import socket
from urllib.parse import urlparse

import httpx
import pytest
import websockets

TIMEOUT = 30
BLOB = "x" * 10_000
BATCHES, PER_BATCH = 80, 50  # 4,000 broadcasts of 10 KB: 40 MB, in bodies under the 1 MiB limit


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.asyncio
async def test_a_subscriber_that_stops_reading_is_disconnected_and_the_server_stays_bounded(base_url: str) -> None:
    pid = int(os.environ["MATCHMAKER_PID"])
    socket_url = base_url.replace("http://", "ws://") + "/realtime/v1/websocket?apikey=anon-key&vsn=1.0.0"
    # max_queue=1: the client library stops reading the socket as soon as one message waits unread.
    async with websockets.connect(socket_url, max_queue=1, max_size=1 << 20) as socket:
        join = {"topic": "realtime:flood", "event": "phx_join", "payload": {"config": {}}, "ref": "1", "join_ref": "1"}
        await socket.send(json.dumps(join))
        reply = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
        assert reply["event"] == "phx_reply" and reply["payload"]["status"] == "ok", reply

        before = rss_mib(pid)
        peak = before
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            for batch in range(BATCHES):
                messages = [
                    {"topic": "flood", "event": "blob", "payload": {"n": batch * PER_BATCH + i, "blob": BLOB}} for i in range(PER_BATCH)
                ]
                response = await http.post(f"{base_url}/realtime/v1/api/broadcast", json={"messages": messages})
                assert response.status_code == 202, response.text
                peak = max(peak, rss_mib(pid))
            # The server is still serving.
            assert (await http.get(f"{base_url}/healthz")).status_code == 200

        # The subscriber now reads what reached it: the stream ends (the hub closed it) long before all 4,000.
        received = 0
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(socket.recv(), TIMEOUT)
                received += 1
    growth = peak - before
    print(f"slow subscriber: RSS {before:.1f} MiB before, peak {peak:.1f} MiB (+{growth:.1f}); it got {received} of {BATCHES * PER_BATCH}")
    assert received < BATCHES * PER_BATCH, "the hub never disconnected the slow subscriber"
    # Without the bound the server held all 40 MB (and more, as frames) for this one socket.
    assert growth < 32, f"the server grew by {growth:.1f} MiB for one subscriber that reads nothing"


PRESENCE_SOCKETS, PRESENCE_CHANNELS = 4, 100
PRESENCE_META = {"blob": "y" * 250_000}  # 250 KB of JSON, under the 256 KB message limit


@pytest.mark.asyncio
async def test_oversized_presence_is_capped_per_socket_and_the_server_stays_bounded(base_url: str) -> None:
    pid = int(os.environ["MATCHMAKER_PID"])
    socket_url = base_url.replace("http://", "ws://") + "/realtime/v1/websocket?apikey=anon-key&vsn=1.0.0"
    before = rss_mib(pid)
    peak = before
    accepted, refused = 0, []
    sockets = [await websockets.connect(socket_url, max_size=1 << 20) for _ in range(PRESENCE_SOCKETS)]
    try:
        for number, socket in enumerate(sockets):
            for channel in range(PRESENCE_CHANNELS):
                topic = f"realtime:fat-{number}-{channel}"
                config = {"presence": {"key": f"fat-{number}", "enabled": False}}
                join = {"topic": topic, "event": "phx_join", "payload": {"config": config}, "ref": "j", "join_ref": "j"}
                await socket.send(json.dumps(join))
                reply = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
                assert reply["event"] == "phx_reply" and reply["payload"]["status"] == "ok", reply
                track = {"type": "presence", "event": "track", "payload": PRESENCE_META}
                await socket.send(json.dumps({"topic": topic, "event": "presence", "payload": track, "ref": "t", "join_ref": "j"}))
                reply = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
                assert reply["event"] == "phx_reply", reply
                if reply["payload"]["status"] == "ok":
                    accepted += 1
                else:
                    refused.append(reply["payload"]["response"])
                peak = max(peak, rss_mib(pid))
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            assert (await http.get(f"{base_url}/healthz")).status_code == 200
    finally:
        for socket in sockets:
            await socket.close()
    growth = peak - before
    offered = PRESENCE_SOCKETS * PRESENCE_CHANNELS * len(json.dumps(PRESENCE_META)) / (1 << 20)
    print(f"oversized presence: RSS {before:.1f} MiB before, peak {peak:.1f} MiB (+{growth:.1f}) for {offered:.0f} MiB offered; "
          f"{accepted} tracks accepted, {len(refused)} refused")
    # 1 MiB per socket holds four 250 KB metas.
    assert accepted == PRESENCE_SOCKETS * 4, f"{accepted} tracks accepted"
    assert refused and all(response == {"error": "presence_limit_exceeded"} for response in refused), refused[:3]
    # Without the cap the server held all ~95 MiB of metas.
    assert growth < 48, f"the server grew by {growth:.1f} MiB for {PRESENCE_SOCKETS} sockets of oversized presence"



CHURN_ROUNDS, CHURN_SOCKETS, CHURN_AT_ONCE = 5, 600, 50


@pytest.mark.asyncio
async def test_sockets_opened_and_closed_leave_nothing_behind(base_url: str) -> None:
    """The soak's browsers open a socket per visit. Each closed socket used to leave about 2 KB in the server:
    its upgrade's request context (a reference cycle in hummingbird-websocket's router) for good, and its idle
    timer's task (a cancelled sleep) for a minute. After a first round, for the allocator's
    own warm-up, further rounds of sockets that join a room topic, track a presence and close must not grow it."""
    pid = int(os.environ["MATCHMAKER_PID"])
    socket_url = base_url.replace("http://", "ws://") + "/realtime/v1/websocket?apikey=anon-key&vsn=1.0.0"

    async def visit(number: int) -> None:
        async with websockets.connect(socket_url) as socket:
            topic = f"realtime:room:churn-{number}"
            config = {"presence": {"key": f"churn-{number}", "enabled": True}}
            await socket.send(json.dumps({"topic": topic, "event": "phx_join", "payload": {"config": config}, "ref": "1", "join_ref": "1"}))
            reply = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
            assert reply["event"] == "phx_reply" and reply["payload"]["status"] == "ok", reply
            track = {"type": "presence", "event": "track", "payload": {"n": number}}
            await socket.send(json.dumps({"topic": topic, "event": "presence", "payload": track, "ref": "2", "join_ref": "1"}))
            while json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))["event"] != "phx_reply":
                pass

    sizes = []
    for round_number in range(CHURN_ROUNDS):
        for start in range(0, CHURN_SOCKETS, CHURN_AT_ONCE):
            first = round_number * CHURN_SOCKETS + start
            await asyncio.gather(*(visit(first + k) for k in range(CHURN_AT_ONCE)))
        await asyncio.sleep(1)
        sizes.append(rss_mib(pid))
    # The lower of the last two rounds: a leak raises both, while the allocator now and then holds on to an
    # extra few hundred KB for a round (seen in one of nine runs: +0.7 MiB in the last round alone).
    closed = (CHURN_ROUNDS - 2) * CHURN_SOCKETS
    growth = min(sizes[-2:]) - sizes[0]
    per_socket = growth * (1 << 20) / closed
    print(f"socket churn: RSS after each round of {CHURN_SOCKETS} sockets {[round(size, 1) for size in sizes]} MiB "
          f"(+{growth:.2f} MiB over {closed} sockets after the first round, {per_socket:.0f} bytes a socket)")
    # Measured over these 1,800 sockets on release builds: +2.6 MiB before the fixes (1.5 KB a socket), +1.5 to
    # +1.7 MiB with the router's cycle broken but the sleeps still kept, +0.2 MiB with both; on the debug build CI
    # runs, +0.15 to +0.52 MiB in six runs (the allocator's drift; heaptrack finds no allocation kept per socket).
    assert growth < 1.0, f"the server grew by {growth:.2f} MiB over {closed} closed sockets"


PARSER_REFUSALS = [
    ("method FOO", b"FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("HTTP/9.9", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505),
    ("TLS ClientHello", bytes.fromhex("160301006a0100006603 03".replace(" ", "")) + b"*" * 96, 400),
    ("Content-Length with Transfer-Encoding",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("81 KB header block",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 400) for i in range(200)) + b"\r\n", 431),
    ("100 KB URL", b"GET /healthz?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("socket path, method FOO",
     b"FOO /realtime/v1/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,request_bytes,status", PARSER_REFUSALS, ids=[case[0] for case in PARSER_REFUSALS])
def test_a_request_the_parser_refuses_gets_a_status_and_then_eof(base_url: str, name: str, request_bytes: bytes, status: int) -> None:
    url = urlparse(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as connection:
        connection.sendall(request_bytes)
        received = b""
        while True:  # a read timeout fails the test: the connection was left open
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    assert received.startswith(f"HTTP/1.1 {status} ".encode()), (name, received[:80])
    assert b'{"error":' in received, (name, received[-80:])
