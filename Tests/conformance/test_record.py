"""`matchmaker match --record FILE` against a running embedded `matchmaker serve` (SUPABASE_URL), then
`matchmaker replay FILE`: the recording holds the pass's exchanges, replays clean, and a tampered copy fails.

Run by scripts/conformance.sh (MATCHMAKER_URL, MATCHMAKER_BIN, bots off, no scheduled passes).
"""

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from realtime import AsyncRealtimeClient
from supabase import Client, create_client

from app_users import sign_in

QUEUE = "stranger-queue"
TIMEOUT = 20


@pytest.fixture
def client(base_url: str) -> Client:
    return create_client(base_url, "anon-key")


def command(*args: str, base_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SUPABASE_URL": base_url, "SUPABASE_SERVICE_ROLE_KEY": "service-role-key", "LOG_LEVEL": "error"}
    env.pop("DATABASE_URL", None)
    env.pop("SUPABASE_JWT_SECRET", None)
    return subprocess.run([os.environ["MATCHMAKER_BIN"], *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.asyncio
async def test_match_record_writes_the_pass_and_replay_checks_it(base_url: str, realtime_url: str, client: Client, tmp_path: Path) -> None:
    prefix = uuid.uuid4().hex[:6]
    alice, bob = f"{prefix}-alice", f"{prefix}-bob"
    people = []
    observer = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await observer.connect()
    watcher = observer.channel("global:lobby", {"config": {"presence": {"key": "watcher", "enabled": True}}})
    await asyncio.wait_for(watcher.subscribe(), TIMEOUT)
    try:
        for user in (alice, bob):
            person = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
            await person.connect()
            people.append(person)
            lobby = person.channel("global:lobby", {"config": {"presence": {"key": user, "enabled": True}}})
            await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
            await lobby.track({"status": "waiting"})
        for _ in range(400):  # presence is asynchronous: until the watcher sees both
            if {alice, bob} <= set(watcher.presence_state()):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the lobby never showed both users")
        sign_in(client, alice, bob)
        queue = client.schema("pgmq_public")
        for user in (alice, bob):
            queue.rpc("send", {"queue_name": QUEUE, "message": {"userId": user, "continent": "World"}}).execute()

        recording = tmp_path / "recorded-pass.json"
        done = await asyncio.to_thread(command, "match", "--record", str(recording), base_url=base_url)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert [room["name"] for room in report["rooms"]] == [f"{alice}-{bob}"]
    finally:
        for person in people:
            await person.close()
        await observer.close()

    fixture = json.loads(recording.read_text())
    assert fixture["name"] == "recorded-pass"
    calls = [(exchange["request"]["method"], exchange["request"]["path"].split("?")[0]) for exchange in fixture["exchanges"]]
    assert calls == [
        ("POST", "/rest/v1/rpc/read"),
        ("GET", "/rest/v1/skipped_pair"),
        ("GET", "/rest/v1/user"),
        ("POST", "/rest/v1/rpc/commit_stranger_matches"),
        ("POST", "/realtime/v1/api/broadcast"),
        ("POST", "/rest/v1/rpc/ack_stranger_matches"),
    ], calls
    told = sorted(
        message["topic"]
        for exchange in fixture["exchanges"]
        if exchange["request"]["path"] == "/realtime/v1/api/broadcast"
        for message in exchange["request"]["body"]["messages"]
    )
    assert told == [f"user:{alice}", f"user:{bob}"]
    state = fixture["presence"]["state"]
    assert {user: [meta["status"] for meta in state[user]] for user in (alice, bob)} == {alice: ["waiting"], bob: ["waiting"]}, state
    assert [room["name"] for room in fixture["expected"]["response"]["rooms"]] == [f"{alice}-{bob}"]

    replayed = await asyncio.to_thread(command, "replay", str(recording), base_url=base_url)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr

    # The replay compares: a recording whose room commit answered differently no longer passes.
    tampered = json.loads(recording.read_text())
    commit = next(e for e in tampered["exchanges"] if e["request"]["path"] == "/rest/v1/rpc/commit_stranger_matches")
    commit["response"]["status"] = 500
    copy = tmp_path / "tampered.json"
    copy.write_text(json.dumps(tampered))
    failed = await asyncio.to_thread(command, "replay", str(copy), base_url=base_url)
    assert failed.returncode == 1, failed.stdout + failed.stderr
