"""The no-photo intake (gusp/intake_lean.py): at most four SQL statements, and the same report as
gusp.intake would make: the same answer as the public view read back, event, contact, receipt,
routing, duplicate hints and counters."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

from gusp.models import OutboxMessage, Report, ReportEvent, ReporterContact
from gusp.models.throttle import RateCounter
from tests import builders, builders_routing

pytestmark = pytest.mark.clock


@pytest.fixture
def statements(engine):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def post(client, fields, key="cle-statements-1"):
    return client.post("/api/v1/reports", data=fields, headers={"Idempotency-Key": key} if key else {})


def test_a_stranger_s_report_with_a_contact_takes_at_most_four_statements(client, session, statements):
    partner = builders_routing.make_partner(session)
    builders_routing.make_rule(session, "proprete", partner, quartier=builders.ENCAGNANE)
    first = post(client, builders.form(session), key="cle-premier")
    fields = builders.form(session, contact_email="habitante@example.org", contact_name="Awa",
                           contact_consent="true")
    statements.clear()

    response = post(client, fields)

    assert response.status_code == 201, response.text
    assert len(statements) <= 4, "\n---\n".join(statements)
    body = response.json()
    assert client.get(response.headers["location"]).json() == body  # the answer is the public view
    report = session.scalars(select(Report).where(Report.reference == body["reference"])).one()
    assert report.partner_id == partner.id and report.quartier_id is not None
    [created] = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
    assert created.data == {"status": "nouveau", "category": "proprete", "attribution": "perimetre",
                            "quartier_id": report.quartier_id, "photos": 0,
                            "likely_duplicates": [first.json()["reference"]]}
    assert (created.kind, created.source, created.note_public, created.at) == ("created", "api", True,
                                                                             report.created_at)
    assert session.get(ReporterContact, report.id).email == "habitante@example.org"
    [receipt] = session.scalars(select(OutboxMessage).where(OutboxMessage.report_id == report.id)).all()
    assert receipt.recipient == "habitante@example.org" and body["reference"] in receipt.subject
    assert body["follow_url"] in receipt.body_text
    counters = session.scalars(select(RateCounter.key)).all()
    assert any(k.startswith("intake-ip:") for k in counters) and any(k.startswith("mail-to:") for k in counters)


def test_outside_every_perimeter_the_nearest_quartier_and_distance_are_given(client, session, statements):
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    fields = builders.form(session, lat=lat + 0.03)  # about 3.3 km north: out of every perimeter
    statements.clear()

    response = post(client, fields, key=None)

    assert response.status_code == 201, response.text
    assert len(statements) <= 4
    body = response.json()
    assert body["attribution"]["kind"] == "hors_perimetre" and body["attribution"]["distance_m"] > 0
    assert client.get(response.headers["location"]).json() == body


def test_a_retry_replays_and_an_unknown_category_or_a_far_place_is_refused(client, session):
    fields = builders.form(session)
    first = post(client, fields, key="cle-rejouee")
    again = post(client, fields, key="cle-rejouee")
    unknown = post(client, builders.form(session, category="inconnue"), key=None)
    far = post(client, builders.form(session, lat=48.85, lon=2.35), key=None)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert session.scalar(select(func.count()).select_from(Report).where(Report.idempotency_key == "cle-rejouee")) == 1
    assert unknown.status_code == 422 and unknown.json()["code"] in {"champs_invalides", "categorie_inconnue"}
    assert far.status_code == 422 and far.json()["code"] == "hors_territoire"


def test_a_place_just_outside_the_service_area_but_within_its_margin_is_taken(client, session, settings):
    # 200 m north of the area's northernmost vertex: outside the outline, so the geodesic margin decides
    lat, lon = session.execute(text(
        "SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_Project((dp).geom::geography, 200, 0)::geometry AS p"
        " FROM (SELECT ST_DumpPoints(geom) AS dp FROM service_areas) v ORDER BY ST_Y((dp).geom) DESC LIMIT 1) s"
    )).one()
    assert settings.service_area_margin_m > 200
    assert not session.scalar(text("SELECT bool_or(ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))"
                                   " FROM service_areas"), {"lat": lat, "lon": lon})

    response = post(client, builders.form(session, lat=lat, lon=lon), key=None)

    assert response.status_code == 201, response.text
    assert response.json()["attribution"]["kind"] == "hors_perimetre"
