"""Shared fixtures: an app client with default settings, and a helper to post programs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture(scope="session")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


def by_name(body: dict) -> dict:
    """Nodes of a /graph response keyed by name (the newest node for a reassigned name)."""
    return {node["name"]: node for node in body["nodes"] if node["name"]}


def pytest_collection_modifyitems(items: list) -> None:
    """Browser tests run last. Playwright's sync API keeps an asyncio loop running in the main
    thread from the session's first browser test on, and asyncio.run() refuses to start inside a
    running loop: the job runner's tests (tests/test_hardening_jobs.py), collected after
    tests/browser/, failed when the whole suite ran. The order within each group is kept."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid)
