"""The deployed path end to end: `matchmaker match` and `matchmaker serve` on DATABASE_URL (the postgres backend).

Run by scripts/conformance-postgres.sh inside scripts/with-postgres.sh: a throwaway PostgreSQL 15 with the real
pgmq, the app's schema and Supabase's roles, the `realtime.send` stand-in (which keeps every broadcast in
`realtime.messages`) and our migrations. Users are rows of the app's `user` table and are enqueued as the app
server does, through `pgmq_public.send` as the role `anon`. Each test starts its own processes and stops them.

- `match` on DATABASE_URL alone: one pass, its report, the rooms it wrote, and the notifications it sent
  through `realtime.send` in the database (contract §5: topic, event, payload, public).
- `serve` on DATABASE_URL with SUPABASE_URL pointing at a second, embedded `serve` (its Realtime hub and REST
  broadcast): lobby presence decides who is matched, and the official `realtime` client hears
  `stranger_matched` on `user:<id>`.
- The outbox relay: a `match` killed with SIGKILL after it committed a pair and while it was telling them;
  `serve` on DATABASE_URL then tells both users exactly once and clears the outbox.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb
from realtime import AsyncRealtimeClient

QUEUE = "stranger-queue"
TIMEOUT = 20


@pytest.fixture
def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url or os.environ.get("MATCHMAKER_PG_THROWAWAY") != "1":
        pytest.fail("needs the throwaway database of scripts/with-postgres.sh; run scripts/conformance-postgres.sh")
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Each test owns the queue: nothing a previous test left may be matched with its users.
        conn.execute(f'delete from pgmq."q_{QUEUE}"')
        yield conn


@pytest.fixture
def prefix() -> str:
    return f"{uuid.uuid4().hex[:6]}-"


def binary() -> str:
    return os.environ["MATCHMAKER_BIN"]


def rows(conn: psycopg.Connection, query: str, params: tuple = ()) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def add_users(conn: psycopg.Connection, ids: list[str]) -> None:
    """Rows of the app's `user` table with every NOT NULL column, as the app's sign-up writes them."""
    for user in ids:
        conn.execute(
            'insert into public."user" (id, name, email, email_verified, created_at, updated_at) '
            "values (%s, %s, %s, false, now(), now())",
            (user, user, f"{user}@test.invalid"),
        )


def enqueue(conn: psycopg.Connection, user: str, continent: str) -> int:
    """Enqueues `user` as the app server does: `pgmq_public.send` with the anon key's role."""
    with conn.transaction():
        conn.execute("set local role anon")
        (msg_id,) = conn.execute(
            "select * from pgmq_public.send(%s, %s)", (QUEUE, Jsonb({"userId": user, "continent": continent}))
        ).fetchone()
    return msg_id


def queued(conn: psycopg.Connection, prefix: str) -> list[str]:
    return [user for (user,) in rows(conn, f"select message ->> 'userId' from pgmq.\"q_{QUEUE}\" where message ->> 'userId' like %s order by msg_id", (prefix + "%",))]


def broadcasts(conn: psycopg.Connection, prefix: str) -> list[tuple]:
    """What `realtime.send` stored for these users: (topic, event, payload, private, extension), by topic."""
    return rows(
        conn,
        "select topic, event, payload, private, extension from realtime.messages where topic like %s order by topic, inserted_at",
        (f"user:{prefix}%",),
    )


def rooms_in_database(conn: psycopg.Connection, prefix: str) -> dict[str, dict]:
    """The rooms of these users by id: the row and its members."""
    found = {}
    for room_id, name, is_dm, locked, owner, created in rows(
        conn, 'select id, name, "isDM", is_locked, owner_id, created_at from public.room where owner_id like %s', (prefix + "%",)
    ):
        members = sorted(u for (u,) in rows(conn, "select user_id from public.room_member where room_id = %s", (room_id,)))
        found[room_id] = {"name": name, "isDM": is_dm, "is_locked": locked, "owner_id": owner, "created_at": created, "members": members}
    return found


def assert_room_matches_database(room: dict, database: dict[str, dict]) -> None:
    """A room row as a pass reports or broadcasts it equals the stored row (created_at as the same instant)."""
    stored = database[room["id"]]
    assert sorted(room) == ["created_at", "id", "isDM", "is_locked", "name", "owner_id"]
    assert (room["name"], room["isDM"], room["is_locked"], room["owner_id"]) == (
        stored["name"], stored["isDM"], stored["is_locked"], stored["owner_id"]
    )
    assert datetime.fromisoformat(room["created_at"]) == stored["created_at"]
    # The name is "<user1>-<user2>" and user1 is the owner; both are members.
    assert stored["members"] == sorted([stored["owner_id"], stored["name"][len(stored["owner_id"]) + 1 :]])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(**settings: str) -> dict[str, str]:
    """The environment of a matchmaker process: this one's, without any backend selection, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET"}}
    env.update({"LOG_LEVEL": "info", **settings})
    return env


def poll(what: str, check, deadline: float = TIMEOUT, every: float = 0.05):
    """Calls `check` until it returns something truthy, at most `deadline` seconds; returns that."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"no {what} within {deadline} s")
        time.sleep(every)


@contextmanager
def serve(env: dict[str, str]) -> Iterator[str]:
    """`matchmaker serve` on a free port with `env`; yields its URL once /healthz answers, and stops it after."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", suffix=".serve.log") as log:
        process = subprocess.Popen([binary(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"serve exited with {process.returncode}:\n{log.read()}")
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        try:
            poll("/healthz", healthy)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.seek(0)
            print(f"--- serve on {port} (DATABASE_URL {'set' if 'DATABASE_URL' in env else 'unset'}):\n{log.read()[-4000:]}")


def test_match_on_database_url_pairs_and_notifies_through_realtime_send(db: psycopg.Connection, database_url: str, prefix: str) -> None:
    world = [("a1", "Europe"), ("a2", "Asia"), ("a3", "Europe"), ("a4", "World")]
    add_users(db, [prefix + user for user, _ in world])
    for user, continent in world:
        enqueue(db, prefix + user, continent)

    done = subprocess.run([binary(), "match"], env=process_env(DATABASE_URL=database_url, LOG_LEVEL="error"), capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # The postgres backend alone has no lobby presence: the pass runs degraded and drops nobody for absence.
    assert {k: report[k] for k in ("success", "message", "degraded")} == {
        "success": True, "message": "Matchmaker completed successfully", "degraded": True
    }, report
    assert {k: report["stats"][k] for k in ("totalUsers", "pairedRooms", "processedMessages", "unprocessedUsers")} == {
        "totalUsers": 4, "pairedRooms": 2, "processedMessages": 4, "unprocessedUsers": 0
    }, report
    # Continent pools first (a1 with a3), then World takes the rest (a2 with a4); user1 is the earlier message.
    rooms = {room["name"]: room for room in report["rooms"]}
    assert sorted((name, room["owner_id"]) for name, room in rooms.items()) == [
        (f"{prefix}a1-{prefix}a3", f"{prefix}a1"), (f"{prefix}a2-{prefix}a4", f"{prefix}a2")
    ]
    database = rooms_in_database(db, prefix)
    assert sorted(database) == sorted(room["id"] for room in rooms.values())
    for room in rooms.values():
        assert_room_matches_database(room, database)
    # Contract §5 through `realtime.send`: one public broadcast per user on `user:<id>`, the room row as payload.
    owner_of = {user: room for room in rooms.values() for user in (room["owner_id"], room["name"][len(room["owner_id"]) + 1:])}
    assert broadcasts(db, prefix) == [
        (f"user:{user}", "stranger_matched", {"room": owner_of[user]}, False, "broadcast") for user in sorted(owner_of)
    ]
    # Acknowledged and consumed: no outbox row and nothing of theirs queued.
    assert rows(db, "select room_id from public.matchmaker_outbox where users[1] like %s", (prefix + "%",)) == []
    assert queued(db, prefix) == []


@pytest.mark.asyncio
async def test_serve_on_database_url_with_the_hub_for_realtime(db: psycopg.Connection, database_url: str, prefix: str) -> None:
    add_users(db, [prefix + user for user in ("away", "b1", "b2")])
    with serve(process_env(BOTS="off", MATCH_INTERVAL="3600")) as hub, serve(
        process_env(DATABASE_URL=database_url, SUPABASE_URL=hub, SUPABASE_SERVICE_ROLE_KEY="service-role-key", BOTS="off", MATCH_INTERVAL="0.5")
    ) as matcher:
        realtime_url = f"{hub}/realtime/v1"
        people, inboxes = [], {}
        try:
            observer = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
            await observer.connect()
            people.append(observer)
            watcher = observer.channel("global:lobby", {"config": {"presence": {"key": "watcher", "enabled": True}}})
            await asyncio.wait_for(watcher.subscribe(), TIMEOUT)
            for user in ("b1", "b2"):
                person = AsyncRealtimeClient(realtime_url, token="anon-key", auto_reconnect=False)
                await person.connect()
                people.append(person)
                inbox: asyncio.Queue = asyncio.Queue()
                channel = person.channel(f"user:{prefix}{user}")
                channel.on_broadcast("stranger_matched", lambda message, inbox=inbox: inbox.put_nowait(message))
                await asyncio.wait_for(channel.subscribe(), TIMEOUT)
                lobby = person.channel("global:lobby", {"config": {"presence": {"key": f"{prefix}{user}", "enabled": True}}})
                await asyncio.wait_for(lobby.subscribe(), TIMEOUT)
                await lobby.track({"status": "waiting"})
                inboxes[user] = inbox
            for _ in range(400):
                if {f"{prefix}b1", f"{prefix}b2"} <= set(watcher.presence_state()):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the lobby never showed b1 and b2")

            # `away` is first in the queue but not in the lobby: with presence it must wait; a degraded pass
            # (no presence) would pair it with b1.
            for user in ("away", "b1", "b2"):
                enqueue(db, prefix + user, "World")
            told = {user: await asyncio.wait_for(inbox.get(), TIMEOUT) for user, inbox in inboxes.items()}
        finally:
            for person in people:
                await person.close()

        for message in told.values():
            assert sorted(message) == ["event", "payload"], message
            assert message["event"] == "stranger_matched"
        room = told["b1"]["payload"]["room"]
        assert told["b2"]["payload"] == {"room": room}
        assert (room["name"], room["owner_id"]) == (f"{prefix}b1-{prefix}b2", f"{prefix}b1")
        database = rooms_in_database(db, prefix)
        assert sorted(database) == [room["id"]]
        assert_room_matches_database(room, database)
        # Told over the hub's REST broadcast, not through `realtime.send` in the database.
        assert broadcasts(db, prefix) == []
        poll("the acknowledgement", lambda: rows(db, "select count(*) from public.matchmaker_outbox where room_id = %s", (room["id"],)) == [(0,)])
        assert queued(db, prefix) == [f"{prefix}away"]
        assert httpx.get(f"{matcher}/readyz", timeout=5).status_code == 200


def test_a_pass_killed_while_its_commit_waits_on_realtime_send_leaves_nothing_and_serve_tells_them_once(db: psycopg.Connection, database_url: str, prefix: str) -> None:
    add_users(db, [f"{prefix}c1", f"{prefix}c2"])
    for user in ("c1", "c2"):
        enqueue(db, prefix + user, "World")

    # Hold `realtime.send`: its insert waits for this lock. Without SUPABASE_URL the set-wise commit stores both
    # `stranger_matched` in the match's own transaction, so the pass hangs inside its commit, not after it.
    with psycopg.connect(database_url) as locker:
        locker.execute("lock table realtime.messages in exclusive mode")
        env = process_env(DATABASE_URL=database_url, QUEUE_LEASE_SECONDS="2", LOG_LEVEL="error")
        process = subprocess.Popen([binary(), "match"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:

            def committing() -> bool:
                assert process.poll() is None, f"match exited with {process.returncode} before it was killed: {process.communicate()}"
                return rows(db, "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like %s", ("%commit_stranger_matches%",))[0][0] > 0

            poll("a commit waiting on realtime.send", committing)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        # The killed process's statements die with it (PostgreSQL would otherwise finish them once the lock goes).
        db.execute("select pg_terminate_backend(pid) from pg_stat_activity where wait_event_type = 'Lock' and query like %s and pid <> pg_backend_pid()", ("%commit_stranger_matches%",))
        poll("the killed process's backends to end", lambda: rows(db, "select count(*) from pg_stat_activity where query like %s and pid <> pg_backend_pid() and state = 'active'", ("%commit_stranger_matches%",)) == [(0,)])
        locker.rollback()

    # What the kill left: nothing. No room, no outbox row, nobody told; both still queued (leased until the lease ends).
    assert rooms_in_database(db, prefix) == {}
    assert rows(db, "select count(*) from public.matchmaker_outbox where %s = any(users)", (f"{prefix}c1",)) == [(0,)]
    assert queued(db, prefix) == [f"{prefix}c1", f"{prefix}c2"]
    assert broadcasts(db, prefix) == []

    # `serve` on DATABASE_URL alone pairs them once the lease (2 s) ends and tells each of them exactly once.
    # (The relay that finishes a pass killed after its commit, on the outbox path, is proven in
    # Tests/PostgresTests/OutboxTests.swift and Tests/MatchmakerTests/SupabaseOutboxTests.swift.)
    with serve(process_env(DATABASE_URL=database_url, BOTS="off", MATCH_INTERVAL="0.5", MAINTENANCE_INTERVAL_MS="200")) as matcher:
        poll("the pair to be matched and told", lambda: len(broadcasts(db, prefix)) == 2, deadline=30)
        [room_id] = list(rooms_in_database(db, prefix))
        [(room,)] = rows(db, "select payload -> 'room' from realtime.messages where topic = %s", (f"user:{prefix}c1",))
        assert httpx.get(f"{matcher}/readyz", timeout=5).status_code == 200
        # The status line's gauges, sampled every MAINTENANCE_INTERVAL_MS from pgmq.metrics() and the outbox table.
        gauges = ("matchmaker_queue_depth_messages", "matchmaker_queue_oldest_message_age_seconds", "matchmaker_outbox_backlog_rows")

        def agrees_with_the_database() -> bool:
            text = httpx.get(f"{matcher}/metrics", timeout=5).text
            values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line.startswith(gauges)}
            [(depth,)] = rows(db, "select queue_length from pgmq.metrics('stranger-queue')")
            [(backlog,)] = rows(db, "select count(*) from public.matchmaker_outbox where queue_name = 'stranger-queue'")
            return (
                values.get("matchmaker_queue_depth_messages") == depth
                and values.get("matchmaker_outbox_backlog_rows") == backlog
                and values.get("matchmaker_queue_oldest_message_age_seconds", -1) >= 0
            )

        poll("the queue and outbox gauges to show what the database holds", agrees_with_the_database)
        time.sleep(1.5)  # three more relay rounds: none may tell them again

    # Both heard the same room, the one in the database.
    told = broadcasts(db, prefix)
    assert [(topic, event, private, extension) for topic, event, _, private, extension in told] == [
        (f"user:{prefix}{user}", "stranger_matched", False, "broadcast") for user in ("c1", "c2")
    ]
    for _, _, payload, _, _ in told:
        assert sorted(payload) == ["room"]
        sent = payload["room"]
        assert {k: v for k, v in sent.items() if k != "created_at"} == {k: v for k, v in room.items() if k != "created_at"}
        assert datetime.fromisoformat(sent["created_at"]) == datetime.fromisoformat(room["created_at"])
    assert_room_matches_database(room, rooms_in_database(db, prefix))
    assert (room["id"], room["name"], room["owner_id"]) == (room_id, f"{prefix}c1-{prefix}c2", f"{prefix}c1")
    assert sorted(rooms_in_database(db, prefix)) == [room_id]
    assert queued(db, prefix) == []
