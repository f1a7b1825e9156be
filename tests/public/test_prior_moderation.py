"""GUSP_PUBLIC_MODERATION=before: a new report's description and photos stay off every public surface
until a coordinator publishes them; the reporter still gets the reference at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gusp.api import deps
from gusp.api.main import create_app
from tests import builders
from tests.api.test_reports import post


@pytest.fixture
def before_client(settings, session):
    app = create_app(settings.model_copy(update={"public_moderation": "before"}))
    app.dependency_overrides[deps.get_session] = lambda: session
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def test_a_new_report_waits_for_a_coordinator(before_client, session):
    client = before_client
    _, coordinator = builders.staff(session, "coordinateur")
    created = post(client, builders.form(session, description="Carcasse de scooter, appeler le 06 12 34 56 78"),
                   [builders.jpeg(colour=(9, 99, 199))])
    assert created.status_code == 201, created.text
    body = created.json()
    reference = body["reference"]
    assert reference.startswith("GUSP-") and body["follow_url"].endswith(reference)
    assert body["published"] is False and body["description"] == "" and body["photos"] == []
    staff = client.get(f"/api/v1/gestion/reports/{reference}", headers=coordinator).json()
    key_url = staff["photos"][0]["url"].rsplit("/", 1)[1]

    public = client.get(f"/api/v1/reports/{reference}").json()
    assert public["description"] == "" and public["photos"] == [] and public["published"] is False
    assert client.get(f"/media/{key_url}").status_code == 404
    [request] = client.get(f"/open311/v2/requests/{reference}.json").json()
    assert request["description"] is None and request["media_url"] is None
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    nearby = client.get("/api/v1/reports/nearby", params={"category": "proprete", "lat": lat, "lon": lon}).json()
    assert all(r["description"] == "" for r in nearby["data"] if r["reference"] == reference)
    assert staff["description"].startswith("Carcasse") and staff["published"] is False

    assert client.post(f"/api/v1/gestion/reports/{reference}/publish").status_code == 401
    published = client.post(f"/api/v1/gestion/reports/{reference}/publish", headers=coordinator)
    assert published.status_code == 200 and published.json()["published"] is True
    assert published.json()["staff_timeline"][-1]["kind"] == "published"

    public = client.get(f"/api/v1/reports/{reference}").json()
    assert public["description"] == "Carcasse de scooter, appeler le [numéro masqué]" and len(public["photos"]) == 1
    assert all(e["kind"] != "published" for e in public["timeline"])
    assert client.get(f"/media/{key_url}").status_code == 200


def test_staff_reports_are_published_at_once_and_after_is_the_default(before_client, client, session, settings):
    _, agent = builders.staff(session, "agent")
    by_agent = post(before_client, builders.form(session), [], headers=agent)
    assert by_agent.status_code == 201 and by_agent.json()["published"] is True
    assert settings.public_moderation == "after"
    resident = post(client, builders.form(session), [])
    assert resident.json()["published"] is True and resident.json()["description"]
