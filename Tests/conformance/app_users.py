"""The app's sign-in, as the tests need it: a `user` row for each id before it queues, skips or chats.

The embedded backend enforces the app schema's foreign keys as PostgreSQL does, so a queued user without
a `user` row cannot be put in a room (23503), exactly as on a live project.
"""

from supabase import Client

STAMP = "2026-11-29T12:00:00"


def sign_in(client: Client, *ids: str) -> None:
    """Upserts an anonymous `user` row per id with every NOT NULL column, keeping rows that exist."""
    rows = [
        {
            "id": user,
            "name": user,
            "email": f"{user}@example.com",
            "email_verified": False,
            "is_anonymous": True,
            "created_at": STAMP,
            "updated_at": STAMP,
        }
        for user in ids
    ]
    client.table("user").upsert(rows, on_conflict="id", ignore_duplicates=True, returning="minimal").execute()
