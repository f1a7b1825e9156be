from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gusp.api import deps
from gusp.api.main import create_app
from gusp.config import Settings


@pytest.fixture
def app(settings: Settings, session: Session) -> Iterator[FastAPI]:
    """The real app, its requests sharing the test's rolled-back session."""
    app = create_app(settings)
    app.dependency_overrides[deps.get_session] = lambda: session
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
