"""`matchmaker bots` as its own process against a running embedded `matchmaker serve` (bots off there):
its /healthz and /stats, its bots in serve's lobby, and a SIGTERM that takes them out and exits 0.

Run by scripts/conformance.sh (MATCHMAKER_URL, MATCHMAKER_BIN, bots off in serve, no scheduled passes).
"""

import asyncio
import os
import signal
import socket
import subprocess
import time

import httpx
import pytest
from realtime import AsyncRealtimeClient

TIMEOUT = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bots_in(state: dict) -> list[str]:
    """The lobby keys whose metas carry `user_id`, as bots' do (contract §2)."""
    return sorted(key for key, metas in state.items() if any("user_id" in meta for meta in metas))


async def until(condition, timeout: float = TIMEOUT, every: float = 0.1):
    """Polls `condition` until it returns something truthy, for state no event announces."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await condition():
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.mark.asyncio
async def test_the_bots_command_serves_its_bots_and_takes_them_out_on_sigterm(base_url: str, realtime_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SUPABASE_SERVICE_ROLE_KEY": "service-role-key",
        "BOT_MIN_COUNT": "2",
        "BOT_MAX_COUNT": "2",
        "BOT_STAGGER_MIN_MS": "0",
        "BOT_STAGGER_MAX_MS": "0",
        "LOG_LEVEL": "error",
    }
    for key in ("SUPABASE_URL", "DATABASE_URL", "SUPABASE_JWT_SECRET", "BOTS"):
        env.pop(key, None)
    observer = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
    await observer.connect()
    lobby = observer.channel("global:lobby", {"config": {"presence": {"key": "watcher", "enabled": True}}})
    await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
    assert bots_in(lobby.presence_state()) == [], "serve runs no bots here"

    process = subprocess.Popen(
        [os.environ["MATCHMAKER_BIN"], "bots", "--url", base_url, "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    bots_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def healthy():
                assert process.poll() is None, process.communicate()[1]
                try:
                    return (await http.get(f"{bots_url}/healthz")).json()
                except httpx.TransportError:
                    return None

            assert await until(healthy) == {"status": "ok"}

            async def two_bots():
                stats = (await http.get(f"{bots_url}/stats")).json()
                return stats if stats["totalBots"] == 2 else None

            stats = await until(two_bots)
            assert stats["isRunning"] is True
            assert stats["target"] == 2
            assert stats["failedBots"] == 0
            assert stats.get("halted") is None

            async def two_in_lobby():
                return bots_in(lobby.presence_state()) if len(bots_in(lobby.presence_state())) == 2 else None

            in_lobby = await until(two_in_lobby)
            assert all(key.startswith("bot-") for key in in_lobby), in_lobby

        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, TIMEOUT)
        assert code == 0, process.communicate()[1]

        async def lobby_empty():
            return bots_in(lobby.presence_state()) == []

        await until(lobby_empty)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await observer.close()
