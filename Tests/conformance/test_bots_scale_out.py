"""Bots processes that scale out and crash (issue 14), against a running embedded `matchmaker serve` (bots off
there, event-driven passes, BOT_FILL_AFTER 1 s), with humans played by the official clients:

- two `matchmaker bots` processes share one target: together they hold it, never the same identity twice;
  when one is killed with SIGKILL, the other takes its identities over once their leases end;
- a human in a room with a bot whose process is killed sees the bot leave the room (a presence leave, as
  when a human closes the tab), and once the leases end no human is matched with its bots any more.

Run by scripts/conformance.sh (MATCHMAKER_URL, MATCHMAKER_BIN).
"""

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid

import httpx
import pytest
from realtime import AsyncRealtimeClient
from supabase import create_client

from bot_registry import idle_bots

QUEUE = "stranger-queue"
TIMEOUT = 30
LEASE_SECONDS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def until(condition, timeout: float = TIMEOUT, every: float = 0.1):
    """Polls `condition` (a plain function) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await asyncio.to_thread(condition):
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


class BotsProcess:
    """One `matchmaker bots` process with `count` bots and short leases."""

    def __init__(self, base_url: str, count: int):
        self.port = free_port()
        env = {
            **os.environ,
            "SUPABASE_SERVICE_ROLE_KEY": "service-role-key",
            "BOT_MIN_COUNT": str(count),
            "BOT_MAX_COUNT": str(count),
            "BOT_STAGGER_MIN_MS": "0",
            "BOT_STAGGER_MAX_MS": "0",
            "BOT_LEASE_SECONDS": str(LEASE_SECONDS),
            "MAINTENANCE_INTERVAL_MS": "300",
            "LOG_LEVEL": "warning",
        }
        for key in ("SUPABASE_URL", "DATABASE_URL", "SUPABASE_JWT_SECRET", "BOTS"):
            env.pop(key, None)
        self.process = subprocess.Popen(
            [os.environ["MATCHMAKER_BIN"], "bots", "--url", base_url, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )

    def running(self) -> int | None:
        """How many bots it runs, or None while its ops server is not up."""
        assert self.process.poll() is None, self.process.communicate()[1]
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/stats", timeout=5).json()["totalBots"]
        except httpx.TransportError:
            return None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.mark.asyncio
async def test_two_processes_share_the_target_and_one_takes_over_after_the_other_is_killed(base_url: str) -> None:
    first = BotsProcess(base_url, 3)
    second = None
    try:
        await until(lambda: len(idle_bots(base_url)) == 3)
        second = BotsProcess(base_url, 3)
        await until(lambda: second.running() is not None)
        # A few lease renewals of both: the second finds every identity held and runs none.
        await asyncio.sleep(LEASE_SECONDS)
        assert (first.running(), second.running()) == (3, 0)
        held = idle_bots(base_url)
        assert len(held) == 3 and len(set(held)) == 3, held

        first.kill()
        killed = time.monotonic()
        await until(lambda: second.running() == 3 and idle_bots(base_url) == held)
        print(f"the second process ran the killed one's 3 bots {time.monotonic() - killed:.1f} s after SIGKILL "
              f"(lease {LEASE_SECONDS} s)")
        assert second.running() == 3
    finally:
        for process in (first, second):
            if process:
                process.stop()


@pytest.mark.asyncio
async def test_a_killed_process_leaves_its_rooms_and_its_bots_are_never_matched_again(base_url: str) -> None:
    client = create_client(base_url, "anon-key")
    stamp = "2026-12-03T12:00:00"
    humans = [f"human-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for human in humans:
        client.table("user").upsert(
            {"id": human, "name": "Human", "email": f"{human}@example.com", "email_verified": False, "created_at": stamp,
             "updated_at": stamp}
        ).execute()
    bots = BotsProcess(base_url, 2)
    # One socket per human, as browsers have (one join per topic and socket: each tracks the lobby).
    sockets = [AsyncRealtimeClient(f"{base_url}/realtime/v1", token="anon-key", auto_reconnect=False) for _ in humans]
    for realtime in sockets:
        await realtime.connect()
    try:
        await until(lambda: len(idle_bots(base_url)) == 2)

        async def queue_alone(human: str) -> asyncio.Queue:
            realtime = sockets[humans.index(human)]
            notices: asyncio.Queue = asyncio.Queue()
            lobby = realtime.channel("global:lobby", {"config": {"presence": {"key": human, "enabled": True}}})
            await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
            await lobby.track({"status": "waiting"})
            inbox = realtime.channel(f"user:{human}")
            inbox.on_broadcast("stranger_matched", lambda message: notices.put_nowait(message["payload"]))
            await asyncio.wait_for(inbox.subscribe(), TIMEOUT)
            client.schema("pgmq_public").rpc(
                "send", {"queue_name": QUEUE, "message": {"userId": human, "continent": "World"}, "sleep_seconds": 0}
            ).execute()
            return notices

        notices = await queue_alone(humans[0])
        room = (await asyncio.wait_for(notices.get(), TIMEOUT))["room"]
        bot = room["name"].removeprefix(f"{humans[0]}-")
        assert bot.startswith("bot-"), room
        chat = sockets[0].channel(f"room:{room['id']}", {"config": {"presence": {"key": humans[0], "enabled": True}}})
        await asyncio.wait_for(chat.subscribe(), TIMEOUT)
        await chat.track({"user_id": humans[0], "name": "Human"})
        await until(lambda: bot in chat.presence_state())

        bots.kill()
        killed = time.monotonic()
        await until(lambda: bot not in chat.presence_state())
        print(f"the human saw the bot leave {time.monotonic() - killed:.2f} s after SIGKILL")
        await until(lambda: idle_bots(base_url) == [], timeout=LEASE_SECONDS + 5)
        print(f"no bot of the killed process was claimable {time.monotonic() - killed:.2f} s after SIGKILL "
              f"(lease {LEASE_SECONDS} s)")

        late = await queue_alone(humans[1])
        with pytest.raises(asyncio.TimeoutError):
            # BOT_FILL_AFTER is 1 s: a bot of the killed process would have been claimed by now.
            await asyncio.wait_for(late.get(), 3)
    finally:
        if bots.process.poll() is None:
            bots.kill()
        for realtime in sockets:
            await realtime.close()
