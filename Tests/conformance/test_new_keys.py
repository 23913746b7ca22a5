"""The official Python clients with Supabase's new API keys against a running `matchmaker serve`.

Run by scripts/conformance.sh, which starts `serve` with SUPABASE_SERVICE_ROLE_KEY=<sb_secret_…> and
SUPABASE_ANON_KEY=<sb_publishable_…> (no JWT secret) and passes the same keys as SB_SECRET_KEY and
SB_PUBLISHABLE_KEY. supabase-py sends such a key as `apikey` and as the bearer token; the gateway (and
so the embedded backend) accepts a new key as bearer only when it equals `apikey`, and gives the secret
key `service_role` and the publishable key `anon`.
"""

import asyncio
import os

import httpx
import pytest
from postgrest.exceptions import APIError
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates
from supabase import Client, create_client
from supabase_functions.errors import FunctionsHttpError

QUEUE = "stranger-queue"
FUNCTION = "stranger-matchmaker"


def keys() -> tuple[str, str]:
    secret, publishable = os.environ.get("SB_SECRET_KEY"), os.environ.get("SB_PUBLISHABLE_KEY")
    if not secret or not publishable:
        pytest.fail("SB_SECRET_KEY and SB_PUBLISHABLE_KEY must be set; run scripts/conformance.sh")
    return secret, publishable


def client(base_url: str, key: str) -> Client:
    return create_client(base_url, key)


def test_the_secret_key_runs_the_function_and_the_queue(base_url: str) -> None:
    secret, _ = keys()
    service = client(base_url, secret)
    sent = service.schema("pgmq_public").rpc("send", {"queue_name": QUEUE, "message": {"userId": "k1"}}).execute()
    assert isinstance(sent.data, list) and sent.data
    body = service.functions.invoke(FUNCTION, {"responseType": "json"})
    assert body["success"] is True


def test_the_publishable_key_is_anon(base_url: str) -> None:
    _, publishable = keys()
    anon = client(base_url, publishable)
    # anon keeps Supabase's pgmq_public wrappers, but not our room RPCs (service_role's alone).
    anon.schema("pgmq_public").rpc("send", {"queue_name": QUEUE, "message": {"userId": "k2"}}).execute()
    with pytest.raises(APIError) as refused:
        anon.rpc("delete_stranger_room", {"room_id": "nope"}).execute()
    assert refused.value.code == "42501"


def test_another_projects_key_is_refused(base_url: str) -> None:
    stranger = client(base_url, "sb_secret_of_another_project")
    with pytest.raises(FunctionsHttpError):
        stranger.functions.invoke(FUNCTION, {"responseType": "json"})
    with pytest.raises(APIError):
        stranger.schema("pgmq_public").rpc("read", {"queue_name": QUEUE, "sleep_seconds": 0, "n": 1}).execute()


def test_the_function_takes_the_secret_key_in_apikey_alone(base_url: str) -> None:
    secret, _ = keys()
    url = f"{base_url}/functions/v1/{FUNCTION}"
    assert httpx.post(url, headers={"apikey": secret}, timeout=10).status_code == 200
    assert httpx.post(url, headers={"Authorization": f"Bearer {secret}"}, timeout=10).status_code == 401
    assert httpx.post(url, timeout=10).status_code == 401


@pytest.mark.asyncio
async def test_realtime_connects_with_the_secret_key(realtime_url: str) -> None:
    secret, _ = keys()
    realtime = AsyncRealtimeClient(realtime_url, token=secret, auto_reconnect=False)
    await realtime.connect()
    try:
        channel = realtime.channel("conformance:new-keys")
        states: list = []
        await asyncio.wait_for(channel.subscribe(lambda state, err: states.append((state, err))), 10)
        assert states and states[-1][0] == RealtimeSubscribeStates.SUBSCRIBED, states
    finally:
        await realtime.close()
