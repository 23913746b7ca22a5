"""The bot registry as the tests read it: the service role's `idle_bots` RPC (docs/contract.md §8)."""

from supabase import create_client


def idle_bots(base_url: str) -> list[str]:
    """The registered bots ready to be claimed now, sorted."""
    return sorted(create_client(base_url, "service-role-key").rpc("idle_bots", {"max_rows": 100}).execute().data)
