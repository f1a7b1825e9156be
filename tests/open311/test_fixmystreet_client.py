"""A FixMyStreet-style client against a real GUSP server, call by call as perllib/Open311.pm makes them:
XML everywhere, `api_key` and `jurisdiction_id` in the form, contact fields always sent, its own
attributes, several `media_url` or photos uploaded as `photo1`, `photo2`…, a retry after a timeout,
a comment by `POST servicerequestupdates.xml`, then updates fetched for the last two hours. The
`georeport` library reads the results back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import georeport
import pytest
import requests
from sqlalchemy import select

from gusp import db, states, triage
from gusp.models import Report, ReporterContact, ReportEvent
from gusp.open311 import clients, services
from tests import builders
from tests.open311 import builders_open311 as o311

JURISDICTION = "aixenprovence.fr"


@pytest.fixture(scope="module")
def server(remote_gusp) -> tuple[str, object]:
    """One GUSP server for the module (its own committed database), as FixMyStreet would meet it."""
    return remote_gusp


@pytest.fixture(scope="module")
def key(server) -> str:
    _, settings = server
    with db.command_session(settings.database_url) as session:
        return clients.create_client(session=session, name="FixMyStreet")[0]


def fms_form(settings, key: str, **extra) -> list[tuple[str, str]]:
    """_populate_service_request_params: extended description, names and e-mail always, uprn attribute."""
    with db.command_session(settings.database_url) as session:
        lat, lon = builders.point_in(session, builders.ENCAGNANE)
    form = [("api_key", key), ("jurisdiction_id", JURISDICTION), ("service_code", "proprete"),
            ("description", "Dépôt sauvage\n\nMatelas et sacs devant le n° 12.\n\nhttps://fms.example/report/77\n"),
            ("first_name", "Nadia"), ("last_name", "Kaci"), ("email", "nadia.kaci@example.org"),
            ("lat", f"{lat:.6f}"), ("long", f"{lon:.6f}"), ("attribute[uprn]", "100012345678")]
    form = [(k, v) for k, v in form if k not in extra]
    return form + [(k, v) for k, values in extra.items() for v in (values if isinstance(values, list) else [values])]


def request_id(response: requests.Response) -> str:
    """As FixMyStreet reads it: $obj->{request}->[0]->{service_request_id}."""
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    return root.find("request").findtext("service_request_id")


def stored(settings, reference: str) -> tuple[Report, ReporterContact | None, ReportEvent]:
    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        contact = session.get(ReporterContact, report.id)
        created = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                            ReportEvent.kind == "created")).one()
        _ = report.photos
        session.expunge_all()
        return report, contact, created


def test_services_as_fixmystreet_populates_its_list(server):
    base, _ = server
    listed = ET.fromstring(requests.get(f"{base}/open311/v2/services.xml",
                                        params={"jurisdiction_id": JURISDICTION}, timeout=30).content)
    groups = {s.findtext("service_code"): s.findtext("group") for s in listed.findall("service")}
    assert groups["proprete"] == "Propreté" and groups["eclairage"] == "Espace public"
    meta = ET.fromstring(requests.get(f"{base}/open311/v2/services/proprete.xml", timeout=30).content)
    codes = [a.findtext("code") for a in meta.find("attributes").findall("attribute")]
    assert codes == [services.CONSENT, services.ACCURACY]


def test_without_consent_with_several_media_urls_then_a_retry(server, key, media_server):
    base, settings = server
    media_server.routes["/p/1.jpg"] = o311.Route(body=builders.jpeg(800, 600), headers={"Content-Type": "image/jpeg"})
    media_server.routes["/p/2.jpg"] = o311.Route(body=builders.jpeg(600, 800), headers={"Content-Type": "image/jpeg"})
    form = fms_form(settings, key, media_url=[f"{media_server.base}/p/1.jpg", f"{media_server.base}/p/2.jpg"])

    reference = request_id(requests.post(f"{base}/open311/v2/requests.xml", data=form, timeout=30))
    retried = requests.post(f"{base}/open311/v2/requests.xml", data=form, timeout=30)  # after a "timeout"

    assert request_id(retried) == reference
    report, contact, created = stored(settings, reference)
    assert contact is None and created.data["contact_dropped"] is True
    assert created.data["ignored_attributes"] == ["uprn"]
    assert [(p.width, p.height) for p in report.photos] == [(800, 600), (600, 800)]
    assert media_server.hits == ["/p/1.jpg", "/p/2.jpg"]  # fetched once: the retry was recognised first
    with db.command_session(settings.database_url) as session:
        assert session.scalars(select(Report.id).where(Report.open311_client_id == report.open311_client_id,
                                                       Report.request_fingerprint == report.request_fingerprint)
                               ).all() == [report.id]


def test_with_consent_and_uploaded_photos(server, key):
    base, settings = server
    form = fms_form(settings, key, **{f"attribute[{services.CONSENT}]": "oui", "phone": "07700 900123"})
    files = [("photo1", ("77.0.full.jpeg", builders.jpeg(640, 480), "image/jpeg")),
             ("photo2", ("77.1.full.jpeg", builders.jpeg(320, 240), "image/jpeg"))]

    reference = request_id(requests.post(f"{base}/open311/v2/requests.xml", data=form, files=files, timeout=30))

    report, contact, _ = stored(settings, reference)
    assert (contact.name, contact.email, contact.phone) == ("Nadia Kaci", "nadia.kaci@example.org", "07700 900123")
    assert [(p.width, p.height) for p in report.photos] == [(640, 480), (320, 240)]
    found = georeport.GeoReport(f"{base}/open311/v2", jurisdiction=JURISDICTION).get_service_request(reference)
    assert found["media_url"].startswith(f"{base}/media/")
    assert requests.get(found["media_url"], timeout=30).status_code == 200
    assert "Nadia" not in str(found) and "07700" not in str(found)


def test_a_comment_then_the_updates_fixmystreet_fetches(server, key):
    base, settings = server
    reference = request_id(requests.post(f"{base}/open311/v2/requests.xml", data=fms_form(
        settings, key, description="Encombrants rue des Lilas"), timeout=30))
    update = {"api_key": key, "jurisdiction_id": JURISDICTION, "service_request_id": reference, "update_id": "9901",
              "status": "OPEN", "description": "Toujours là ce matin.", "first_name": "Nadia", "last_name": "Kaci",
              "email": "nadia.kaci@example.org",
              "updated_datetime": datetime.now(UTC).replace(microsecond=0).isoformat()}

    posted = requests.post(f"{base}/open311/v2/servicerequestupdates.xml", data=update, timeout=30)
    again = requests.post(f"{base}/open311/v2/servicerequestupdates.xml", data=update, timeout=30)

    assert posted.status_code == 200, posted.text
    update_id = ET.fromstring(posted.content).find("request_update").findtext("update_id")
    assert ET.fromstring(again.content).find("request_update").findtext("update_id") == update_id
    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.RESOLU,
                             actor=None, note="Enlevés ce midi.", note_public=True)

    now = datetime.now(UTC)  # GetServiceRequestUpdates: the last two hours, W3C, with the key
    window = {"api_key": key, "jurisdiction_id": JURISDICTION,
              "start_date": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end_date": (now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    root = ET.fromstring(requests.get(f"{base}/open311/v2/servicerequestupdates.xml", params=window,
                                      timeout=30).content)
    mine = [u for u in root.findall("request_update") if u.findtext("service_request_id") == reference]
    assert [(u.findtext("update_id"), u.findtext("status"), u.findtext("description")) for u in mine] == [
        (update_id, "open", "Toujours là ce matin."),  # its own comment: FixMyStreet knows this update_id
        (mine[1].findtext("update_id"), "fixed", "Enlevés ce midi.")]
    read = georeport.GeoReport(f"{base}/open311/v2", jurisdiction=JURISDICTION, output_format="xml")
    assert read.get_service_request(reference)["status"] == "closed"


def test_head_and_cors_on_a_real_server(server):
    base, _ = server
    got = requests.get(f"{base}/open311/v2/services.json", headers={"Origin": "https://carte.example"}, timeout=30)
    head = requests.head(f"{base}/open311/v2/services.json", timeout=30)
    assert got.headers["access-control-allow-origin"] == "*"
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(got.content)))


def test_two_identical_posts_at_once_make_one_report(server, key):
    base, settings = server
    form = fms_form(settings, key, description="Tag sur le mur de l'école, envoyé deux fois.")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: requests.post(f"{base}/open311/v2/requests.xml", data=form, timeout=60),
                                range(4)))
    assert len({request_id(a) for a in answers}) == 1
