"""Shared fixtures: the base URL of a running `matchmaker serve` (MATCHMAKER_URL)."""

import os

import pytest


@pytest.fixture
def base_url() -> str:
    url = os.environ.get("MATCHMAKER_URL")
    if not url:
        pytest.fail("MATCHMAKER_URL is not set; run scripts/conformance.sh")
    return url.rstrip("/")


@pytest.fixture
def realtime_url(base_url: str) -> str:
    return f"{base_url}/realtime/v1"
