"""The alert rules and the dashboard use only metrics that `matchmaker serve` and `matchmaker bots`
actually export: both run here (serve on the embedded backend, bots against it, and serve on the postgres
backend when a throwaway DATABASE_URL is given), with traffic, and every `matchmaker_*` name in deploy/observability/alerts.yml and dashboard.json must appear in a sample of
their /metrics (a histogram's `_bucket`, `_sum` and `_count` count for its name).

Run by scripts/check-deploy.sh (MATCHMAKER_BIN; under scripts/with-postgres.sh, MATCHMAKER_PG_THROWAWAY=1).
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import OBSERVABILITY, ROOT, load_yaml

TIMEOUT = 20
METRIC = re.compile(r"\bmatchmaker_[a-z0-9_]+")
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")


def base_name(name: str) -> str:
    """The metric a series belongs to: a histogram's `_bucket`, `_sum` and `_count` are its name."""
    return HISTOGRAM_SUFFIX.sub("", name)


def alert_expressions() -> list[str]:
    rules = load_yaml(OBSERVABILITY / "alerts.yml")
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    with open(OBSERVABILITY / "dashboard.json") as file:
        dashboard = json.load(file)
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def used_metrics(expressions: list[str]) -> set[str]:
    return {base_name(name) for expression in expressions for name in METRIC.findall(expression)}


def exported_metrics(text: str) -> set[str]:
    """The metric names that have at least one sample in a Prometheus text exposition."""
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(base_name(re.split(r"[{ ]", line, maxsplit=1)[0]))
    return names


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if body is None else "POST"
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def until(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := condition():
                return value
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s")


def clean_environment(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SUPABASE_", "DATABASE_", "BOT", "HTTP_"))}
    env.update(extra)
    return env


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def running(matchmaker_bin):
    """`matchmaker bots` (one bot) started before the embedded `serve` it points at, so that its Realtime
    connection fails first (the failure and error-pattern counters exist), then serve (bots off, no
    scheduled passes) with two users enqueued and passes through the function until the bot is in the
    lobby, and with a throwaway DATABASE_URL a serve on the postgres backend; yields every /metrics and
    the logs."""
    processes = []
    logs = {name: tempfile.NamedTemporaryFile(mode="w+", suffix=f".{name}.log") for name in ("serve", "bots", "postgres")}
    try:
        serve_port, bots_port = free_port(), free_port()
        serve_url, bots_url = f"http://127.0.0.1:{serve_port}", f"http://127.0.0.1:{bots_port}"
        bots_env = clean_environment(
            SUPABASE_SERVICE_ROLE_KEY="any-key-for-a-serve-without-a-jwt-secret",
            BOT_MIN_COUNT="1", BOT_MAX_COUNT="1", BOT_STAGGER_MIN_MS="0", BOT_STAGGER_MAX_MS="0",
            MAINTENANCE_INTERVAL_MS="200", LOG_LEVEL="info",
        )
        processes.append(
            subprocess.Popen(
                [matchmaker_bin, "bots", "--url", serve_url, "--host", "127.0.0.1", "--port", str(bots_port)],
                env=bots_env, stdout=logs["bots"], stderr=subprocess.STDOUT,
            )
        )
        until(lambda: request(f"{bots_url}/healthz")[0] == 200, "the bots' /healthz")
        until(
            lambda: re.search(r'"failedConnections":\s*[1-9]', request(f"{bots_url}/stats")[1]),
            "a failed Realtime connection of the bots while serve is not up",
        )

        # MAINTENANCE_INTERVAL_MS: the queue and outbox gauges are sampled on the status line's cadence.
        env = clean_environment(BOTS="off", MATCH_INTERVAL="3600", LOG_LEVEL="info", MAINTENANCE_INTERVAL_MS="200")
        processes.append(
            subprocess.Popen(
                [matchmaker_bin, "serve", "--host", "127.0.0.1", "--port", str(serve_port)],
                env=env, stdout=logs["serve"], stderr=subprocess.STDOUT,
            )
        )
        until(lambda: request(f"{serve_url}/healthz")[0] == 200, "serve's /healthz")
        # Traffic: two users enqueued the way the app server does, and passes through the function
        # (paired if the pass runs before the bot is in the lobby, else left waiting: either is traffic).
        for user, continent in (("alice", "Europe"), ("bob", "World")):
            status, body = request(
                f"{serve_url}/rest/v1/rpc/send",
                {"queue_name": "stranger-queue", "message": {"userId": user, "continent": continent}},
                {"Content-Profile": "pgmq_public"},
            )
            assert status == 200, body

        def pass_with_the_bot_in_the_lobby() -> bool:
            status, body = request(f"{serve_url}/functions/v1/stranger-matchmaker", {})
            assert status == 200, body
            return json.loads(body)["success"] is True and json.loads(body).get("degraded") is not True

        until(pass_with_the_bot_in_the_lobby, "a pass with the bot in serve's lobby", timeout=60)
        until(lambda: "matchmaker_queue_depth_messages" in request(f"{serve_url}/metrics")[1], "serve's first status sample")
        serve_status, serve_metrics = request(f"{serve_url}/metrics")
        assert serve_status == 200, serve_metrics

        # Production's serve runs on the postgres backend (outbox, pgmq.metrics): with a throwaway
        # DATABASE_URL (scripts/check-deploy.sh runs under scripts/with-postgres.sh), one more serve on it.
        postgres_metrics = ""
        if os.environ.get("MATCHMAKER_PG_THROWAWAY") == "1" and os.environ.get("DATABASE_URL"):
            postgres_port = free_port()
            postgres_url = f"http://127.0.0.1:{postgres_port}"
            postgres_env = clean_environment(
                BOTS="off", MATCH_INTERVAL="3600", LOG_LEVEL="info", MAINTENANCE_INTERVAL_MS="200",
                DATABASE_URL=os.environ["DATABASE_URL"],
            )
            processes.append(
                subprocess.Popen(
                    [matchmaker_bin, "serve", "--host", "127.0.0.1", "--port", str(postgres_port)],
                    env=postgres_env, stdout=logs["postgres"], stderr=subprocess.STDOUT,
                )
            )
            until(lambda: request(f"{postgres_url}/healthz")[0] == 200, "the postgres serve's /healthz")
            status, body = request(f"{postgres_url}/functions/v1/stranger-matchmaker", {})
            assert status == 200, body
            until(
                lambda: "matchmaker_outbox_backlog_rows" in request(f"{postgres_url}/metrics")[1],
                "the postgres serve's first status sample",
            )
            status, postgres_metrics = request(f"{postgres_url}/metrics")
            assert status == 200, postgres_metrics
        bots_status, bots_metrics = request(f"{bots_url}/metrics")
        for log in logs.values():
            log.seek(0)
        yield {
            "serve": serve_metrics,
            "postgres": postgres_metrics,
            "bots": bots_metrics if bots_status == 200 else "",
            "bots_status": bots_status,
            "serve_log": logs["serve"].read(),
            "bots_log": logs["bots"].read(),
        }
    finally:
        for process in reversed(processes):
            stop(process)
        for log in logs.values():
            log.close()


def test_the_rules_and_the_dashboard_use_the_metrics_they_are_meant_to():
    """Guards the extraction itself: an empty or truncated set would make the export check pass vacuously."""
    alerts = used_metrics(alert_expressions())
    dashboard = used_metrics(dashboard_expressions())
    for name in ("matchmaker_realtime_failed_connections_total", "matchmaker_degraded_passes_total",
                 "matchmaker_oldest_wait_seconds", "matchmaker_outbox_backlog_rows", "matchmaker_bots_target",
                 "matchmaker_notifications_total", "matchmaker_passes_total"):
        assert name in alerts, f"no alert uses {name}"
    for name in ("matchmaker_pairs_total", "matchmaker_pass_seconds", "matchmaker_queue_depth_messages",
                 "matchmaker_http_request_duration_seconds", "matchmaker_realtime_active_connections",
                 "matchmaker_bots_in_room"):
        assert name in dashboard, f"no panel uses {name}"
    assert not any(name.endswith(("_bucket", "_sum", "_count")) for name in alerts | dashboard)


def test_every_metric_an_alert_or_a_panel_uses_is_exported(running):
    exported = exported_metrics(running["serve"]) | exported_metrics(running["bots"]) | exported_metrics(running["postgres"])
    used = used_metrics(alert_expressions()) | used_metrics(dashboard_expressions())
    missing = sorted(used - exported)
    assert not missing, (
        f"used by alerts.yml or dashboard.json but exported by neither serve nor bots: {missing}"
        f" (bots /metrics answered {running['bots_status']};"
        f" serve on the postgres backend {'ran' if running['postgres'] else 'did not run: no throwaway DATABASE_URL'})"
    )


def test_serve_and_bots_log_their_version_at_start(running):
    version = re.search(r'matchmakerVersion = "([^"]+)"', (ROOT / "Sources/MatchmakerCore/Version.swift").read_text()).group(1)
    assert f"version={version}" in running["serve_log"], running["serve_log"][-2000:]
    assert f"version={version}" in running["bots_log"], running["bots_log"][-2000:]
