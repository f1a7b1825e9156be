"""/metrics: who may scrape it, and what a Prometheus server reads there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gusp import notify
from gusp.api import deps
from gusp.api.main import create_app
from gusp.ops import health
from tests import builders

TOKEN = "jeton-de-scrape-des-tests"


@pytest.fixture
def scraper(settings, session):
    app = create_app(settings.model_copy(update={"metrics_token": TOKEN}))
    app.dependency_overrides[deps.get_session] = lambda: session
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_without_a_token_only_local_clients_may_read(client):
    response = client.get("/metrics")  # the test client is not a loopback address

    assert response.status_code == 403
    assert response.json()["code"] == "metriques_locales"


def test_with_a_token_the_scraper_must_send_it(scraper):
    assert scraper.get("/metrics").status_code == 401
    assert scraper.get("/metrics", headers={"Authorization": "Bearer faux"}).status_code == 401
    assert scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_request_latency_is_labelled_by_route_template_not_by_path(scraper):
    before = samples(scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)
    scraper.get("/api/v1/reports/GUSP-2026-999999")
    scraper.get("/api/v1/reports/GUSP-2026-999998")

    after = samples(scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)

    key = ("gusp_http_request_duration_seconds_count",
           (("method", "GET"), ("route", "/api/v1/reports/{reference}"), ("status", "4xx")))
    assert after[key] - before.get(key, 0) == 2
    assert not any("GUSP-2026-99999" in str(labels) for _, labels in after)


def test_outbox_and_worker_gauges_come_from_the_database(scraper, session):
    message = notify.enqueue(session=session, kind="test", recipient="a@example.org", subject="s", text="t", html=None)
    message.available_at = datetime.now(UTC) - timedelta(minutes=3)
    health.beat(session, worker="web-1:1", now=datetime.now(UTC) - timedelta(seconds=30))
    session.flush()

    values = samples(scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)

    assert values[("gusp_outbox_pending", ())] == 1
    assert values[("gusp_outbox_failed", ())] == 0
    assert 170 <= values[("gusp_outbox_oldest_due_seconds", ())] <= 600
    assert 29 <= values[("gusp_worker_last_seen_seconds", ())] <= 600


def test_reports_and_photos_are_counted(scraper, session):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = samples(scraper.get("/metrics", headers=auth).text)
    created = scraper.post("/api/v1/reports", data=builders.form(session, source="web"),
                           files={"photos": ("p.jpg", builders.jpeg(), "image/jpeg")})
    assert created.status_code == 201, created.text

    after = samples(scraper.get("/metrics", headers=auth).text)

    def delta(key):
        return after.get(key, 0) - before.get(key, 0)

    assert delta(("gusp_reports_created_total", (("source", "web"),))) == 1
    assert delta(("gusp_photos_processed_total", (("format", "JPEG"),))) == 1
    assert delta(("gusp_photo_processing_seconds_count", ())) == 1
