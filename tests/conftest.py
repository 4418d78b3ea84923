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
