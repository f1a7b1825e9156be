"""A real PostGIS database for the run, migrated with Alembic; each test rolled back.

The database is created with a unique name on the server of GUSP_DATABASE_URL and dropped at
the end. Perimeters and categories are loaded once; a test that changes them sees its changes
rolled back with the rest.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gusp import db, migrate
from gusp.api import deps
from gusp.api.main import create_app
from gusp.config import Settings
from gusp.geo import perimeters

pytest_plugins = ["tests.smtp", "tests.seaweed", "tests.clock"]  # real SMTP and S3 servers: `smtp_server`, `s3_server`; --clock


def pytest_configure(config: pytest.Config) -> None:
    # `gusp serve` in a subprocess reads its settings from the environment: no public URL in tests.
    os.environ.setdefault("GUSP_ENV", "development")


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings()
    url = make_url(settings.database_url).set(database=f"gusp_test_{uuid.uuid4().hex[:12]}")
    return settings.model_copy(
        update={
            "database_url": url.render_as_string(hide_password=False),
            "media_dir": tmp_path_factory.mktemp("media-session"),
            "env": "development",  # relative links allowed; production's refusal is tested on its own
            # Tests file many reports naming the same resident: rate limits are tested on their own
            # (tests/test_throttle.py), with limits of their own.
            "intake_per_ip_per_hour": 100_000,
            "mails_per_recipient_per_day": 100_000,
            "mail_requests_per_ip_per_hour": 100_000,
            # No internet in tests: no tile server unless a test brings its own (tests/web/test_background_tiles.py).
            "tile_url": "",
        }
    )


def prepare(settings: Settings) -> None:
    """Create and migrate the database as production does, then load the real perimeters."""
    migrate.upgrade(settings=settings)
    from tests import clock  # imported late: a plugin (pytest_plugins) must be registered first

    clock.shift_database(settings.database_url)
    with db.command_session(settings.database_url) as session:
        perimeters.load(session=session, path=settings.perimeters_file)


@pytest.fixture(scope="session")
def engine(base_settings: Settings) -> Iterator[Engine]:
    prepare(base_settings)
    engine = db.make_engine(base_settings.database_url)
    yield engine
    engine.dispose()
    db.drop_database(base_settings.database_url)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose commits are savepoints of an outer transaction rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    path = tmp_path / "media"
    path.mkdir()
    return path


@pytest.fixture
def settings(base_settings: Settings, media_dir: Path) -> Settings:
    """Per-test settings: the session's database, a media directory of the test's own."""
    return base_settings.model_copy(update={"media_dir": media_dir})


@pytest.fixture(params=["local", "s3"])
def store_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The test's settings, with photos on the local disk or in a fresh prefix of a real SeaweedFS bucket."""
    if request.param == "local":
        return settings
    return request.getfixturevalue("s3_server").settings(settings)


@pytest.fixture
def committed_settings(base_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A database of the test's own, for what needs real commits (concurrency); dropped after."""
    url = make_url(base_settings.database_url).set(database=f"gusp_commit_{uuid.uuid4().hex[:12]}")
    settings = base_settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False), "media_dir": tmp_path / "media"}
    )
    prepare(settings)
    yield settings
    db.drop_database(settings.database_url)


@pytest.fixture
def app(settings: Settings, session: Session) -> Iterator[FastAPI]:
    """The real app, its requests sharing the test's rolled-back session (so without the intake's
    fast lane, which writes on its own connections: tests/api/test_intake_lane.py runs it)."""
    app = create_app(settings.model_copy(update={"intake_lane_connections": 0}))
    app.dependency_overrides[deps.get_session] = lambda: session
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
