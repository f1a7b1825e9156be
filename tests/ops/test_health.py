"""/healthz, /readyz and the worker's heartbeat, against the real database and media directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from gusp import notify
from gusp.api import deps
from gusp.api.main import create_app
from gusp.ops import health

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night clocks go forward in Paris


def test_healthz_says_the_process_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_the_media_store_and_the_outbox(client, settings):
    response = client.get("/readyz")

    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "base_de_donnees": True, "boite_envoi": True, "stockage_photos": True, "pages_web": True,
    }
    assert (settings.media_dir / health.PROBE_KEY[:2] / health.PROBE_KEY[2:4] / health.PROBE_KEY).read_bytes() == health.PROBE_DATA
    assert response.headers["cache-control"] == "no-store"


def test_readyz_fails_when_due_mail_waits_longer_than_allowed(client, session, settings):
    message = notify.enqueue(session=session, kind="test", recipient="a@example.org", subject="s", text="t", html=None)
    message.available_at = datetime.now(UTC) - timedelta(minutes=settings.ready_max_outbox_lag_minutes + 5)
    session.flush()

    response = client.get("/readyz")

    assert response.status_code == 503
    outbox = response.json()["checks"]["boite_envoi"]
    assert outbox["ok"] is False and outbox["en_attente"] == 1
    assert "worker" in outbox["detail"]


def test_readyz_fails_when_the_media_store_cannot_be_written(settings, session, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the media directory should be")
    app = create_app(settings.model_copy(update={"media_dir": blocked}))
    app.dependency_overrides[deps.get_session] = lambda: session
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    app.state.engine.dispose()

    assert response.status_code == 503
    assert response.json()["checks"]["stockage_photos"]["ok"] is False


def test_readyz_fails_without_a_database(settings, tmp_path):
    app = create_app(settings.model_copy(update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/none"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/readyz")
    app.state.engine.dispose()

    assert response.status_code == 503
    assert response.json()["checks"]["base_de_donnees"]["ok"] is False


def test_a_heartbeat_is_one_row_per_worker_counting_its_cycles(session):
    health.beat(session, worker="web-1:100", now=NOW)
    health.beat(session, worker="web-1:100", now=NOW + timedelta(seconds=5))
    health.beat(session, worker="web-2:200", now=NOW - timedelta(minutes=1))

    assert health.last_heartbeat(session) == NOW + timedelta(seconds=5)


def test_readyz_fails_when_the_web_libraries_are_missing(settings, session, tmp_path):
    """Installed without `npm ci`, the pages would lose their maps: the replica is not ready."""
    app = create_app(settings.model_copy(update={"web_vendor_dir": tmp_path / "node_modules"}))
    app.dependency_overrides[deps.get_session] = lambda: session
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/readyz")
        vendor = client.get("/vendor/leaflet/dist/leaflet.js")
    app.state.engine.dispose()

    assert response.status_code == 503
    pages = response.json()["checks"]["pages_web"]
    assert pages["ok"] is False
    assert "leaflet/dist/leaflet.js" in pages["absentes"]
    assert "npm ci" in pages["detail"]
    assert vendor.status_code == 404
