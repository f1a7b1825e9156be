"""A real Open311 client against a real server: the `georeport` library (PyPI) reads services and
requests in JSON and XML from uvicorn on a loopback port, with real commits.

georeport 0.3.1 cannot create requests (its README says so), so the POST is made the way such
clients do it, form-encoded with `requests`, the HTTP library georeport itself uses.
"""

from __future__ import annotations

from collections.abc import Iterator

import georeport
import pytest
import requests
from sqlalchemy import select

from gusp import db, states, storage, triage
from gusp.config import Settings
from gusp.models import Report, ReportEvent
from gusp.open311 import clients, services
from tests import builders
from tests.open311 import builders_open311 as o311


@pytest.fixture
def server(committed_settings: Settings) -> Iterator[tuple[str, Settings]]:
    """uvicorn serving the whole app on a free loopback port; its media_url may come from 127.0.0.1."""
    with o311.running_gusp(committed_settings) as running:
        yield running


@pytest.fixture
def key(server) -> str:
    _, settings = server
    with db.command_session(settings.database_url) as session:
        value, _ = clients.create_client(session=session, name="Appli de test georeport")
    return value


def create(base: str, key: str, settings: Settings, fmt: str = "json", **fields: str) -> requests.Response:
    with db.command_session(settings.database_url) as session:
        lat, lon = builders.point_in(session, builders.ENCAGNANE)
    form = {"api_key": key, "jurisdiction_id": "aixenprovence.fr", "service_code": "eclairage", "lat": str(lat),
            "long": str(lon), "description": "Lampadaire éteint depuis trois nuits.", **fields}
    return requests.post(f"{base}/open311/v2/requests.{fmt}", data=form, timeout=30)


def test_georeport_reads_services_and_definitions_in_json_and_xml(server):
    base, _ = server
    for output in ("json", "xml"):
        client = georeport.GeoReport(f"{base}/open311/v2", jurisdiction="aixenprovence.fr", output_format=output)
        listed = client.get_service_list()
        codes = [s["service_code"] for s in listed]
        assert "eclairage" in codes and "proprete" in codes
        lamp = next(s for s in listed if s["service_code"] == "eclairage")
        assert lamp["service_name"] == "Éclairage public"
        assert str(lamp["metadata"]).lower() == "true" and lamp["type"] == "realtime"

        definition = client.get_service_definition("eclairage")
        assert definition["service_code"] == "eclairage"
        attributes = definition["attributes"] if output == "json" else definition["attributes"]["attribute"]
        assert [a["code"] for a in attributes] == [services.CONSENT, services.ACCURACY]


def test_a_request_created_then_followed_with_georeport(server, key, media_server):
    base, settings = server
    media_server.routes["/lampadaire.jpg"] = o311.Route(body=builders.jpeg(1024, 768),
                                                         headers={"Content-Type": "image/jpeg"})
    created = create(base, key, settings, media_url=f"{media_server.base}/lampadaire.jpg",
                     email="habitant@example.org", **{f"attribute[{services.CONSENT}]": "oui"})
    assert created.status_code == 200, created.text
    [answer] = created.json()
    reference, token = answer["service_request_id"], answer["token"]

    json_client = georeport.GeoReport(f"{base}/open311/v2", jurisdiction="aixenprovence.fr")
    request = json_client.get_service_request(reference)
    assert (request["status"], request["service_code"], request["address"]) == ("open", "eclairage", None)
    photo = requests.get(request["media_url"], timeout=30)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert "habitant" not in str(request)

    found = json_client.get_service_requests(service_code="eclairage", status="open")
    assert reference in [r["service_request_id"] for r in found]
    assert [r["service_request_id"] for r in json_client.get_service_requests(service_request_id=reference)] == [
        reference]
    assert requests.get(f"{base}/open311/v2/tokens/{token}.json", timeout=30).json() == [
        {"service_request_id": reference, "token": token}]

    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=report,
                       actor=None, note="Ampoule changée.")

    xml_client = georeport.GeoReport(f"{base}/open311/v2", jurisdiction="aixenprovence.fr", output_format="xml")
    closed = xml_client.get_service_request(reference)
    assert (closed["service_request_id"], closed["status"], closed["status_notes"]) == (
        reference, "closed", "Ampoule changée.")
    listed = xml_client.get_service_requests(service_request_id=reference)
    assert listed["service_request_id"] == reference  # xmltodict: one request is a dict
    assert json_client.get_service_requests(status="closed")[0]["service_request_id"] == reference
    extended = requests.get(f"{base}/open311/v2/requests/{reference}.json?extensions=true", timeout=30).json()
    assert extended[0]["status"] == "fixed"
    updates = requests.get(f"{base}/open311/v2/servicerequestupdates.json", timeout=30).json()
    assert [(u["service_request_id"], u["status"], u["description"]) for u in updates] == [
        (reference, "fixed", "Ampoule changée.")]


def test_georeport_sees_the_spec_errors(server, key):
    base, settings = server
    client = georeport.GeoReport(f"{base}/open311/v2")
    with pytest.raises(requests.HTTPError) as missing:
        client.get_service_definition("piscine")
    assert missing.value.response.status_code == 404
    assert missing.value.response.json() == [
        {"code": 404, "description": "Aucun service ne porte le code « piscine » : voyez la liste des services."}]
    with pytest.raises(requests.HTTPError) as too_long:
        client.get_service_requests(start_date="2026-01-01T00:00:00Z", end_date="2026-06-01T00:00:00Z")
    assert too_long.value.response.status_code == 400

    refused = create(base, "o311_" + "z" * 40, settings, fmt="xml")
    assert refused.status_code == 403
    assert b"<errors><error><code>403</code>" in refused.content


def test_the_open311_source_is_in_the_event_log(server, key):
    base, settings = server
    reference = create(base, key, settings).json()[0]["service_request_id"]
    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        event = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)).one()
        assert (report.source, event.source) == (states.Source.OPEN311, "open311")
        assert event.data["open311_client"] == "Appli de test georeport"
