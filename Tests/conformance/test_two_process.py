"""`matchmaker serve` (embedded) in one process and `matchmaker match` with SUPABASE_URL pointed at it in
another decide exactly like the in-process pass, over real HTTP and WebSocket.

Run by scripts/conformance.sh (MATCHMAKER_URL, MATCHMAKER_BIN, bots off, no scheduled passes). The same
world is built twice under two prefixes: users waiting in the lobby (each on its own Realtime socket, as
browsers are), one user queued but not in the lobby, a recent skip, a duplicate message and a malformed
one. The first world is matched by the function endpoint (the pass inside `serve`), the second by a
separate `matchmaker match` process that reads the queue through PostgREST, the lobby over Realtime,
and commits through the room RPCs. Rooms, stats, notifications and what stays queued must agree.
"""

import asyncio
import json
import os
import subprocess
import uuid

import httpx
import pytest
from realtime import AsyncRealtimeClient
from supabase import Client, create_client

from app_users import sign_in

QUEUE = "stranger-queue"
TIMEOUT = 20
# (user, continent, in the lobby) in queue order; `dup` enqueues twice, `away` is not in the lobby.
WORLD = [
    ("eu1", "Europe", True),
    ("as1", "Asia", True),
    ("eu2", "Europe", True),
    ("w1", "World", True),
    ("dup", "Asia", True),
    ("away", "World", False),
    ("skipA", "Oceania", True),
    ("skipB", "Oceania", True),
    ("dup", "Asia", True),
]


@pytest.fixture
def client(base_url: str) -> Client:
    return create_client(base_url, "anon-key")


def drain(client: Client) -> None:
    queue = client.schema("pgmq_public")
    while rows := queue.rpc("read", {"queue_name": QUEUE, "sleep_seconds": 0, "n": 100}).execute().data:
        for row in rows:
            queue.rpc("delete", {"queue_name": QUEUE, "message_id": row["msg_id"]}).execute()


async def build_world(client: Client, realtime_url: str, prefix: str) -> tuple[list, dict]:
    """Puts the world's users in the lobby and the queue; returns their clients and their inboxes."""
    people, inboxes = [], {}
    for user in sorted({name for name, _, present in WORLD if present}):
        person = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
        await person.connect()
        people.append(person)
        inbox: asyncio.Queue = asyncio.Queue()
        channel = person.channel(f"user:{prefix}{user}")
        channel.on_broadcast("stranger_matched", lambda message, inbox=inbox: inbox.put_nowait(message["payload"]))
        await asyncio.wait_for(channel.subscribe(), TIMEOUT)
        lobby = person.channel("global:lobby", {"config": {"presence": {"key": f"{prefix}{user}", "enabled": True}}})
        await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
        await lobby.track({"status": "waiting"})
        inboxes[user] = inbox
    sign_in(client, *sorted({f"{prefix}{user}" for user, _, _ in WORLD}))
    client.table("skipped_pair").insert({"user_a_id": f"{prefix}skipA", "user_b_id": f"{prefix}skipB"}).execute()
    queue = client.schema("pgmq_public")
    for user, continent, _ in WORLD:
        queue.rpc("send", {"queue_name": QUEUE, "message": {"userId": f"{prefix}{user}", "continent": continent}}).execute()
    queue.rpc("send", {"queue_name": QUEUE, "message": {"user": "not the contract's shape"}}).execute()
    return people, inboxes


async def wait_for_lobby(watcher, prefix: str) -> None:
    """Until the lobby, as a watcher sees it, has every tracked user of `prefix` (presence is asynchronous)."""
    present = {f"{prefix}{name}" for name, _, there in WORLD if there}
    for _ in range(400):
        if present <= set(watcher.presence_state()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"lobby never showed {sorted(present)}")


def normalized(body: dict, prefix: str) -> dict:
    """The outcome with the prefix and the random room ids and times taken out."""
    rooms = sorted((room["name"].replace(prefix, ""), room["owner_id"].replace(prefix, "")) for room in body.get("rooms", []))
    return {"success": body["success"], "message": body["message"], "stats": body["stats"], "rooms": rooms}


async def outcome(client: Client, inboxes: dict, body: dict, prefix: str) -> dict:
    told = {}
    for user, inbox in inboxes.items():
        if not inbox.empty():
            told[user] = (await inbox.get())["room"]["name"].replace(prefix, "")
    queue = client.schema("pgmq_public").rpc("read", {"queue_name": QUEUE, "sleep_seconds": 0, "n": 100}).execute().data
    remaining = sorted(str(row["message"].get("userId", "?")).replace(prefix, "") for row in queue)
    return {"response": normalized(body, prefix), "told": told, "remaining": remaining}


@pytest.mark.asyncio
async def test_match_in_another_process_decides_like_the_pass_in_serve(base_url: str, realtime_url: str, client: Client) -> None:
    binary = os.environ["MATCHMAKER_BIN"]
    observer = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await observer.connect()
    watcher = observer.channel("global:lobby", {"config": {"presence": {"key": "watcher", "enabled": True}}})
    await asyncio.wait_for(watcher.subscribe(), TIMEOUT)
    results = []
    for runner in ("function", "match process"):
        drain(client)
        prefix = f"{uuid.uuid4().hex[:6]}-"
        people, inboxes = await build_world(client, realtime_url, prefix)
        try:
            await wait_for_lobby(watcher, prefix)
            if runner == "function":
                async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                    body = (await http.post(f"{base_url}/functions/v1/stranger-matchmaker")).json()
            else:
                env = {**os.environ, "SUPABASE_URL": base_url, "SUPABASE_SERVICE_ROLE_KEY": "service-role-key", "LOG_LEVEL": "error"}
                env.pop("DATABASE_URL", None)
                done = await asyncio.to_thread(subprocess.run, [binary, "match"], env=env, capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, done.stderr
                body = json.loads(done.stdout)
            await asyncio.sleep(0.3)  # notifications in flight
            results.append(await outcome(client, inboxes, body, prefix))
        finally:
            for person in people:
                await person.close()

    await observer.close()

    in_serve, in_match = results
    assert in_serve == in_match
    # And the shared outcome is the contract's: continent pools first, then World; the pair that skipped
    # each other is not matched; the user absent from the lobby stays queued; the malformed message is gone.
    assert in_serve["response"]["rooms"] == [("as1-dup", "as1"), ("eu1-eu2", "eu1"), ("w1-skipA", "w1")], in_serve
    assert in_serve["response"]["stats"]["pairedRooms"] == 3
    assert in_serve["response"]["stats"]["totalUsers"] == 10
    assert in_serve["remaining"] == ["away", "skipB"]
    assert in_serve["told"] == {
        "as1": "as1-dup", "dup": "as1-dup", "eu1": "eu1-eu2", "eu2": "eu1-eu2", "w1": "w1-skipA", "skipA": "w1-skipA"
    }
