"""A client key, a real local HTTP server for media_url, a second GUSP as a partner's Open311 server
(the app and client: tests/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gusp import db
from gusp.config import Settings
from tests import conftest as root_conftest
from tests.open311 import builders_open311


@pytest.fixture
def api_key(session: Session) -> str:
    return builders_open311.make_client(session)[0]


@pytest.fixture
def media_server() -> Iterator[builders_open311.MediaServer]:
    with builders_open311.running_media_server() as server:
        yield server


@pytest.fixture(scope="module")
def remote_gusp(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """A second GUSP: its own database, its own media, served by uvicorn (a partner's Open311 server).
    One per test module: its tests find their reports by reference."""
    url = make_url(base_settings.database_url).set(database=f"gusp_remote_{uuid.uuid4().hex[:12]}")
    settings = base_settings.model_copy(update={"database_url": url.render_as_string(hide_password=False),
                                                "media_dir": tmp_path_factory.mktemp("remote-media")})
    root_conftest.prepare(settings)
    try:
        with builders_open311.running_gusp(settings) as running:
            yield running
    finally:
        db.drop_database(settings.database_url)
