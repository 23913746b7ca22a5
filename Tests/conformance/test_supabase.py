"""The official `supabase` Python client against the embedded backend of a running `matchmaker serve`.

Run by scripts/conformance.sh, which sets MATCHMAKER_URL and SUPABASE_JWT_SECRET.
What the app server and the bots do against Supabase, they must be able to do against the embedded
backend: the pgmq_public RPCs, the table calls, and the stranger-matchmaker function.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

from app_users import sign_in

QUEUE = "stranger-queue"


def mint_service_role_jwt(secret: str) -> str:
    """An HS256 service-role token, as a Supabase project's JWT secret signs it."""

    def encode(part: dict) -> str:
        raw = json.dumps(part, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    signing_input = encode({"alg": "HS256", "typ": "JWT"}) + "." + encode(
        {"role": "service_role", "iss": "supabase", "iat": now, "exp": now + 3600}
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


class StatusLog:
    """The HTTP status of every response the client received, newest last."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def __call__(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)


@pytest.fixture(scope="module")
def statuses() -> StatusLog:
    return StatusLog()


@pytest.fixture(scope="module")
def client(statuses: StatusLog) -> Client:
    url = os.environ.get("MATCHMAKER_URL")
    secret = os.environ.get("SUPABASE_JWT_SECRET")
    if not url or not secret:
        pytest.fail("MATCHMAKER_URL and SUPABASE_JWT_SECRET must be set; run scripts/conformance.sh")
    http = httpx.Client(event_hooks={"response": [statuses]}, timeout=10)
    return create_client(url.rstrip("/"), mint_service_role_jwt(secret), options=ClientOptions(httpx_client=http))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def drain(client: Client) -> None:
    """Deletes every visible message, so that each test starts from an empty queue."""
    queue = client.schema("pgmq_public")
    while rows := queue.rpc("read", {"queue_name": QUEUE, "sleep_seconds": 0, "n": 100}).execute().data:
        for row in rows:
            queue.rpc("delete", {"queue_name": QUEUE, "message_id": row["msg_id"]}).execute()


def test_the_function_answers_the_empty_queue_shape(client: Client) -> None:
    drain(client)
    body = client.functions.invoke("stranger-matchmaker", {"responseType": "json"})
    assert body == {
        "success": True,
        "message": "No users in queue",
        "stats": {"totalUsers": 0, "pairedRooms": 0, "processedMessages": 0},
    }


def test_pgmq_public_send_read_delete_archive_pop(client: Client) -> None:
    drain(client)
    queue = client.schema("pgmq_public")
    first = queue.rpc("send", {"queue_name": QUEUE, "message": {"userId": "conf-a"}, "sleep_seconds": 0}).execute()
    assert len(first.data) == 1 and isinstance(first.data[0], int)
    msg_id = first.data[0]

    read = queue.rpc("read", {"queue_name": QUEUE, "sleep_seconds": 30, "n": 5}).execute().data
    assert [row["msg_id"] for row in read] == [msg_id]
    assert read[0]["read_ct"] == 1
    assert read[0]["message"] == {"userId": "conf-a"}
    assert {"msg_id", "read_ct", "enqueued_at", "vt", "message"} <= set(read[0])
    # The lease hides the message from the next read.
    assert queue.rpc("read", {"queue_name": QUEUE, "sleep_seconds": 30, "n": 5}).execute().data == []

    assert queue.rpc("delete", {"queue_name": QUEUE, "message_id": msg_id}).execute().data is True
    assert queue.rpc("delete", {"queue_name": QUEUE, "message_id": msg_id}).execute().data is False

    second = queue.rpc("send", {"queue_name": QUEUE, "message": {"userId": "conf-b"}}).execute().data[0]
    third = queue.rpc("send", {"queue_name": QUEUE, "message": {"userId": "conf-c"}}).execute().data[0]
    assert queue.rpc("archive", {"queue_name": QUEUE, "message_id": second}).execute().data is True
    popped = queue.rpc("pop", {"queue_name": QUEUE}).execute().data
    assert [row["msg_id"] for row in popped] == [third]
    assert queue.rpc("pop", {"queue_name": QUEUE}).execute().data == []


def test_msg_id_instead_of_message_id_is_a_404_pgrst202(client: Client, statuses: StatusLog) -> None:
    with pytest.raises(APIError) as raised:
        client.schema("pgmq_public").rpc("delete", {"queue_name": QUEUE, "msg_id": 1}).execute()
    assert raised.value.code == "PGRST202"
    assert "pgmq_public.delete(msg_id, queue_name)" in (raised.value.message or "")
    assert statuses.statuses[-1] == 404


def test_the_bot_table_calls(client: Client, statuses: StatusLog) -> None:
    bot_id = unique("bot")
    human_id = unique("human")
    profile = json.dumps({"name": "Mia", "personality": "friendly"})
    bot = {
        "id": bot_id,
        "name": "Mia",
        "email": f"bot-mia-{bot_id}@bot.internal",
        # The app's `user` table has no default for these three: every writer sends them.
        "email_verified": True,
        "created_at": "2026-11-29T12:00:00",
        "updated_at": "2026-11-29T12:00:00",
        "is_bot": True,
        "is_anonymous": True,
        "bot_profile": profile,
    }
    created = client.table("user").upsert(bot, on_conflict="id").execute().data
    assert created[0]["id"] == bot_id and created[0]["is_bot"] is True
    # Upserting again with merge-duplicates updates the row in place: bots are reused across restarts.
    renamed = client.table("user").upsert({**bot, "name": "Mia 2"}, on_conflict="id").execute().data
    assert renamed[0]["name"] == "Mia 2"
    assert renamed[0]["created_at"] == created[0]["created_at"]
    # The bot service's restart: insert ignoring the existing row (then a PATCH), so `created_at` stays the first one.
    later = {**bot, "created_at": "2026-11-30T12:00:00", "updated_at": "2026-11-30T12:00:00"}
    client.table("user").upsert(later, on_conflict="id", ignore_duplicates=True).execute()
    kept = client.table("user").select("created_at, updated_at").eq("id", bot_id).execute().data
    assert kept == [{"created_at": created[0]["created_at"], "updated_at": created[0]["updated_at"]}]
    client.table("user").insert(
        {
            "id": human_id,
            "name": "Human",
            "email": f"{human_id}@example.com",
            "email_verified": False,
            "created_at": "2026-11-29T12:00:00",
            "updated_at": "2026-11-29T12:00:00",
            "is_bot": False,
        },
        returning="minimal",
    ).execute()
    assert statuses.statuses[-1] == 201
    with pytest.raises(APIError) as duplicate:
        client.table("user").insert(bot).execute()
    assert duplicate.value.code == "23505"
    assert statuses.statuses[-1] == 409

    room_id = uuid.uuid4().hex[:24]
    room = client.rpc("create_stranger_room", {"room_id": room_id, "user1": human_id, "user2": bot_id}).execute().data
    assert room["name"] == f"{human_id}-{bot_id}" and room["isDM"] is True and room["owner_id"] == human_id

    message = {"id": uuid.uuid4().hex[:24], "room_id": room_id, "sender_id": bot_id, "content": "hey there"}
    assert client.table("message").insert(message).execute().data[0]["content"] == "hey there"
    analytics = {
        "id": uuid.uuid4().hex[:24],
        "bot_id": bot_id,
        "conversation_id": room_id,
        "messages_exchanged": 6,
        "conversation_duration": 42,
        "human_skipped": False,
        "bot_skipped": True,
    }
    assert client.table("bot_analytics").insert(analytics).execute().data[0]["conversation_duration"] == 42

    client.table("user").update({"last_active": "2026-11-29T12:00:00"}).eq("id", bot_id).execute()
    active = client.table("user").select("id, last_active").eq("id", bot_id).execute().data
    assert active == [{"id": bot_id, "last_active": "2026-11-29T12:00:00.000000"}]

    bots = client.table("user").select("id").is_("is_bot", "true").in_("id", [bot_id, human_id, "no,such"]).execute()
    assert bots.data == [{"id": bot_id}]

    with pytest.raises(APIError) as unknown:
        client.table("user").update({"shoe_size": 44}).eq("id", bot_id).execute()
    assert unknown.value.code == "PGRST204"
    with pytest.raises(APIError) as missing:
        client.table("users").select("*").execute()
    assert missing.value.code == "PGRST205"
    assert statuses.statuses[-1] == 404

    # bot_analytics.conversation_id does not cascade: the room cannot go before its analytics.
    with pytest.raises(APIError) as referenced:
        client.table("room").delete().eq("id", room_id).execute()
    assert referenced.value.code == "23503" and statuses.statuses[-1] == 409
    client.table("bot_analytics").delete().eq("conversation_id", room_id).execute()
    client.table("room").delete().eq("id", room_id).execute()
    assert client.table("room_member").select("*").eq("room_id", room_id).execute().data == []


def test_the_skip_ledger_query(client: Client) -> None:
    a, b, c = unique("skip-a"), unique("skip-b"), unique("skip-c")
    sign_in(client, a, b, c)
    client.table("skipped_pair").insert(
        [{"user_a_id": a, "user_b_id": b}, {"user_a_id": b, "user_b_id": a}], returning="minimal"
    ).execute()
    old = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    client.table("skipped_pair").insert({"user_a_id": c, "user_b_id": a, "created_at": old}).execute()

    since = (datetime.now(timezone.utc) - timedelta(seconds=10)).isoformat()
    rows = (
        client.table("skipped_pair")
        .select("*")
        .gte("created_at", since)
        .or_(f"user_a_id.in.({a},{c}),user_b_id.in.({a},{c})")
        .order("user_a_id")
        .execute()
        .data
    )
    assert sorted((row["user_a_id"], row["user_b_id"]) for row in rows) == sorted([(a, b), (b, a)])


def test_a_pass_pairs_two_users_enqueued_through_the_client(client: Client) -> None:
    drain(client)
    first, second = unique("alice"), unique("bob")
    sign_in(client, first, second)
    queue = client.schema("pgmq_public")
    for user in (first, second):
        queue.rpc("send", {"queue_name": QUEUE, "message": {"userId": user, "continent": "Europe"}}).execute()

    body = client.functions.invoke("stranger-matchmaker", {"responseType": "json"})
    assert body["success"] is True
    assert body["message"] == "Matchmaker completed successfully"
    assert body["stats"]["totalUsers"] == 2
    assert body["stats"]["pairedRooms"] == 1
    assert body["stats"]["processedMessages"] == 2
    assert body["stats"]["unprocessedUsers"] == 0
    [room] = body["rooms"]
    assert set(room) == {"id", "name", "isDM", "is_locked", "owner_id", "created_at"}
    assert room["name"] == f"{first}-{second}" and room["owner_id"] == first
    members = client.table("room_member").select("user_id").eq("room_id", room["id"]).execute().data
    assert sorted(row["user_id"] for row in members) == sorted([first, second])
