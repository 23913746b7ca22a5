"""`matchmaker bots` as its own process against a running embedded `matchmaker serve` (bots off there):
its /healthz, /readyz, /metrics and /stats, its bots in serve's bot registry (and not in its lobby), its JSON
log lines (LOG_FORMAT=json) with the periodic status line, and a SIGTERM that takes them out (leases released)
and exits 0.

Run by scripts/conformance.sh (MATCHMAKER_URL, MATCHMAKER_BIN, bots off in serve, no scheduled passes).
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import time

import httpx
import pytest
from realtime import AsyncRealtimeClient

from bot_registry import idle_bots

TIMEOUT = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def samples(text: str) -> dict[str, float]:
    """The samples of a Prometheus text exposition: `name{labels}` -> value."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def bots_in(state: dict) -> list[str]:
    """The lobby keys whose metas carry `user_id`, as bots' did before they left the lobby (contract §8)."""
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
        "MAINTENANCE_INTERVAL_MS": "300",
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "json",
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

            async def two_idle():
                idle = await asyncio.to_thread(idle_bots, base_url)
                return idle if len(idle) == 2 else None

            idle = await until(two_idle)
            assert all(key.startswith("bot-") for key in idle), idle
            assert bots_in(lobby.presence_state()) == [], "bots have no lobby presence"

            ready = await http.get(f"{bots_url}/readyz")
            assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

            # serve runs no pass here, so both bots stay idle in the registry.
            async def both_waiting():
                return (await http.get(f"{bots_url}/stats")).json()["waiting"] == 2

            await until(both_waiting)
            scrape = await http.get(f"{bots_url}/metrics")
            assert scrape.status_code == 200
            assert scrape.headers["content-type"].startswith("text/plain")
            metrics = samples(scrape.text)
            assert metrics["matchmaker_bots_target"] == 2
            assert metrics["matchmaker_bots_running"] == 2
            assert metrics["matchmaker_bots_waiting"] == 2
            assert metrics["matchmaker_bots_in_room"] == 0
            # One socket: the manager's lobby observer and both bots' `user:<id>` channels share it.
            assert metrics["matchmaker_realtime_active_connections"] == 1
            assert metrics["matchmaker_realtime_connect_attempts_total"] == 1
            assert metrics["matchmaker_realtime_failed_connections_total"] == 0
            assert metrics['matchmaker_http_requests_total{method="GET",route="/readyz",status="200"}'] == 1
            assert metrics['matchmaker_http_request_duration_seconds_count{method="GET",route="/readyz"}'] == 1
            assert not any(name.startswith("realtime_") for name in metrics), "only matchmaker_ names"

        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, TIMEOUT)
        stderr = process.communicate()[1]
        assert code == 0, stderr

        # LOG_FORMAT=json: every line one JSON object; the status line names the bots and the pool.
        records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
        assert records and all({"timestamp", "level", "label", "message", "metadata", "source"} <= record.keys() for record in records)
        statuses = [record for record in records if record["message"].startswith("Status: ")]
        assert statuses, [record["message"] for record in records]
        assert all(record["level"] == "info" for record in statuses)
        last = statuses[-1]["metadata"]
        assert last["bots.target"] == "2", last
        assert {"pool.sockets", "pool.channels", "realtime.connections", "realtime.failures", "bots.running"} <= last.keys(), last

        assert await asyncio.to_thread(idle_bots, base_url) == [], "SIGTERM released every lease"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await observer.close()
