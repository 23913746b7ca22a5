"""A lone human, simulated with the official `supabase` and `realtime` clients, meets one of the bots that
`matchmaker serve` runs in-process on its embedded backend.

Run by scripts/conformance.sh with bots on and short waits: BOT_FILL_AFTER (BOT_FILL_AFTER_SECONDS here),
one pass every MATCH_INTERVAL_SECONDS, no start-up stagger. The human does what the web client does:
tracks `waiting` in `global:lobby`, listens on `user:<id>`, enqueues through `pgmq_public.send`, joins
the room it is told about, chats, and closes the room.
"""

import asyncio
import os
import time
import uuid

import httpx
import pytest
from realtime import AsyncRealtimeClient
from supabase import Client, create_client

from bot_registry import idle_bots

QUEUE = "stranger-queue"
TIMEOUT = 20


@pytest.fixture
def client(base_url: str) -> Client:
    return create_client(base_url, "anon-key")


def bots_in_lobby(state: dict) -> list[str]:
    """Lobby keys of bots: none since bots left the lobby (the registry says when they are available)."""
    return sorted(key for key in state if key.startswith("bot-"))


async def until(condition, timeout: float = TIMEOUT, every: float = 0.1):
    """Polls `condition` until it returns something truthy, for state no event announces."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.mark.asyncio
async def test_a_lone_human_meets_a_bot_chats_and_the_bot_requeues(base_url: str, realtime_url: str, client: Client) -> None:
    fill_after = float(os.environ["BOT_FILL_AFTER_SECONDS"])
    interval = float(os.environ["MATCH_INTERVAL_SECONDS"])
    human = f"human-{uuid.uuid4().hex[:8]}"
    stamp = "2026-11-29T12:00:00"
    client.table("user").upsert(
        {
            "id": human,
            "name": "Human",
            "email": f"{human}@example.com",
            "email_verified": False,
            "created_at": stamp,
            "updated_at": stamp,
            "is_bot": False,
        }
    ).execute()

    realtime = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await realtime.connect()
    try:
        lobby = realtime.channel("global:lobby", {"config": {"presence": {"key": human, "enabled": True}}})
        await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
        await until(lambda: len(idle_bots(base_url)) >= 1)
        assert bots_in_lobby(lobby.presence_state()) == [], "bots have no lobby presence"
        bots = httpx.get(f"{base_url}/stats", timeout=TIMEOUT).json()["bots"]
        assert bots["isRunning"] is True and bots["totalBots"] == 2 and bots["target"] == 2, bots
        assert bots["realtime"]["monitor"]["totalConnections"] >= 1 and bots["realtime"]["monitor"]["failedConnections"] == 0, bots["realtime"]

        notices: asyncio.Queue = asyncio.Queue()
        inbox = realtime.channel(f"user:{human}")
        inbox.on_broadcast("stranger_matched", lambda message: notices.put_nowait(message["payload"]))
        await asyncio.wait_for(inbox.subscribe(), TIMEOUT)

        await lobby.track({"status": "waiting"})
        asked = time.monotonic()
        client.schema("pgmq_public").rpc(
            "send", {"queue_name": QUEUE, "message": {"userId": human, "continent": "World"}, "sleep_seconds": 0}
        ).execute()
        payload = await asyncio.wait_for(notices.get(), TIMEOUT)
        waited = time.monotonic() - asked
        room = payload["room"]
        # The room is named user1-user2 after the earlier message; a bot from the registry has none, so the
        # human owns the room.
        bot = room["name"].removeprefix(f"{human}-").removesuffix(f"-{human}")
        assert bot != room["name"] and bot.startswith("bot-") and room["owner_id"] == human, room
        assert bot not in idle_bots(base_url), "claimed with the room"
        # No bound on real time here: when the fill comes is checked on the test clock
        # (PassTriggerTests.aLoneHumanMeetsABotAtBotFillAfterNotAtTheNextInterval).
        print(f"a lone human met a bot after {waited:.2f} s (BOT_FILL_AFTER {fill_after} s, interval {interval} s)")
        await lobby.track({"status": "matched"})

        messages: asyncio.Queue = asyncio.Queue()
        chat = realtime.channel(
            f"room:{room['id']}", {"config": {"broadcast": {"ack": True, "self": False}, "presence": {"key": human, "enabled": True}}}
        )
        for event in ("message", "typing", "room_closed"):
            chat.on_broadcast(event, lambda message: messages.put_nowait(message))
        await asyncio.wait_for(chat.subscribe(), TIMEOUT)
        await chat.track({"user_id": human, "name": "Human"})

        async def next_from_bot(event: str) -> dict:
            while True:
                message = await asyncio.wait_for(messages.get(), TIMEOUT)
                if message["event"] == event and message["payload"].get("senderId") == bot:
                    return message["payload"]

        greeting = await next_from_bot("message")
        assert greeting["roomId"] == room["id"] and greeting["content"]
        await chat.send_broadcast("message", {"id": uuid.uuid4().hex[:24], "senderId": human, "content": "what is your name"})
        await next_from_bot("typing")
        reply = await next_from_bot("message")
        assert reply["content"].endswith("! What's your name?"), reply
        assert reply["sender"]["id"] == bot

        await chat.send_broadcast("room_closed", {"leaverId": human})
        await chat.unsubscribe()
        await lobby.track({"status": "idle"})

        analytics = await until(
            lambda: client.table("bot_analytics").select("*").eq("conversation_id", room["id"]).execute().data
        )
        assert analytics[0]["bot_id"] == bot and analytics[0]["human_skipped"] is True
        assert analytics[0]["messages_exchanged"] >= 1
        stored = client.table("message").select("sender_id, content").eq("room_id", room["id"]).execute().data
        assert {row["sender_id"] for row in stored} == {bot}, "the bot persists its own messages"

        await until(lambda: bot in idle_bots(base_url))
        queue = client.schema("pgmq_public")
        # A read with visibility 0 leases nothing: the bot is available again without a message in the queue.
        rows = queue.rpc("read", {"queue_name": QUEUE, "sleep_seconds": 0, "n": 100}).execute().data
        assert not any(row["message"].get("userId") == bot for row in rows), "bots never queue"
    finally:
        await realtime.close()
