"""A client key, and a real local HTTP server for media_url (the app and client: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from tests.open311 import builders_open311


@pytest.fixture
def api_key(session: Session) -> str:
    return builders_open311.make_client(session)[0]


@pytest.fixture
def media_server() -> Iterator[builders_open311.MediaServer]:
    with builders_open311.running_media_server() as server:
        yield server
