"""The official `realtime` Python client (PyPI, pinned) against the embedded hub of `matchmaker serve`.

Whatever this client can do against Supabase for the slice the matchmaker uses, it must be able to do here.
"""

import asyncio
import uuid

import httpx
import pytest
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

TIMEOUT = 10


def topic() -> str:
    return f"conformance:{uuid.uuid4().hex[:12]}"


async def subscribed(client: AsyncRealtimeClient, name: str, config: dict | None = None):
    channel = client.channel(name, {"config": config} if config else None)
    states: list = []
    await asyncio.wait_for(channel.subscribe(lambda state, err: states.append((state, err))), TIMEOUT)
    assert states and states[-1][0] == RealtimeSubscribeStates.SUBSCRIBED, states
    return channel


@pytest.mark.asyncio
async def test_subscribe_reaches_subscribed(realtime_url: str) -> None:
    client = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await client.connect()
    try:
        channel = await subscribed(client, topic())
        assert channel.is_joined
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_presence_track_and_sync_between_two_clients(realtime_url: str) -> None:
    name = topic()
    watcher = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    tracker = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await watcher.connect()
    await tracker.connect()
    try:
        synced = asyncio.Event()
        lobby = watcher.channel(name, {"config": {"presence": {"key": "watcher", "enabled": True}}})
        lobby.on_presence_sync(lambda: synced.set())
        await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
        await asyncio.wait_for(synced.wait(), TIMEOUT)

        joined = asyncio.Event()
        lobby.on_presence_join(lambda key, current, new: joined.set() if key == "user-1" else None)
        own = await subscribed(tracker, name, {"presence": {"key": "user-1", "enabled": True}})
        await own.track({"status": "waiting"})
        await asyncio.wait_for(joined.wait(), TIMEOUT)
        state = lobby.presence_state()
        assert "user-1" in state
        assert state["user-1"][0]["status"] == "waiting"

        left = asyncio.Event()
        lobby.on_presence_leave(lambda key, current, gone: left.set() if key == "user-1" else None)
        await own.untrack()
        await asyncio.wait_for(left.wait(), TIMEOUT)
        assert "user-1" not in lobby.presence_state()
    finally:
        await tracker.close()
        await watcher.close()


@pytest.mark.asyncio
async def test_broadcast_with_self_and_ack_between_two_clients(realtime_url: str) -> None:
    name = topic()
    sender = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    listener = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await sender.connect()
    await listener.connect()
    try:
        heard: asyncio.Queue = asyncio.Queue()
        echoed: asyncio.Queue = asyncio.Queue()
        receiving = listener.channel(name)
        receiving.on_broadcast("message", lambda payload: heard.put_nowait(payload))
        await asyncio.wait_for(receiving.subscribe(), TIMEOUT)

        sending = sender.channel(name, {"config": {"broadcast": {"ack": True, "self": True}}})
        sending.on_broadcast("message", lambda payload: echoed.put_nowait(payload))
        await asyncio.wait_for(sending.subscribe(), TIMEOUT)

        acked = asyncio.Event()
        push = await sending.push("broadcast", {"type": "broadcast", "event": "message", "payload": {"content": "hi"}})
        push.receive("ok", lambda *_: acked.set())
        await asyncio.wait_for(acked.wait(), TIMEOUT)

        received = await asyncio.wait_for(heard.get(), TIMEOUT)
        assert received["event"] == "message"
        assert received["payload"] == {"content": "hi"}
        own = await asyncio.wait_for(echoed.get(), TIMEOUT)
        assert own["payload"] == {"content": "hi"}
    finally:
        await sender.close()
        await listener.close()


@pytest.mark.asyncio
async def test_rest_broadcast_reaches_a_subscriber(realtime_url: str, base_url: str) -> None:
    name = topic()
    client = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await client.connect()
    try:
        heard: asyncio.Queue = asyncio.Queue()
        channel = client.channel(name)
        channel.on_broadcast("stranger_matched", lambda payload: heard.put_nowait(payload))
        await asyncio.wait_for(channel.subscribe(), TIMEOUT)

        body = {"messages": [{"topic": name, "event": "stranger_matched", "payload": {"room": {"id": "r1"}}, "private": False}]}
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            response = await http.post(f"{base_url}/realtime/v1/api/broadcast", json=body, headers={"apikey": "anon-key"})
        assert response.status_code == 202
        received = await asyncio.wait_for(heard.get(), TIMEOUT)
        assert received["payload"] == {"room": {"id": "r1"}}

        await channel.http_send("stranger_matched", {"room": {"id": "r2"}})
        received = await asyncio.wait_for(heard.get(), TIMEOUT)
        assert received["payload"] == {"room": {"id": "r2"}}
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_rest_broadcast_rejects_a_bad_body(base_url: str) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.post(f"{base_url}/realtime/v1/api/broadcast", json={"messages": [{"topic": "t"}]})
    assert response.status_code == 422
    assert "errors" in response.json()
