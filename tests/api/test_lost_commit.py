"""A COMMIT applied by PostgreSQL whose answer never reaches the app loses nothing.

A real TCP proxy (tests/pgproxy.py) sits between the app and the server and drops the answer to
the COMMIT of the request under test. The app cannot know whether its work was saved: it must say
so (503, retry with the same key), keep the photo files, and the retry gets the saved report whose
photos are served.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gusp import db
from gusp.api.main import create_app
from gusp.config import Settings
from gusp.models import Report, ReportPhoto
from gusp.models.diagnostics import DiagnosticFinding, DiagnosticPhoto
from tests import builders, builders_routing, conftest, pgproxy
from tests.api.test_reports import post


@pytest.fixture(scope="module")
def shared_database(base_settings) -> Iterator[Settings]:
    """A database of this module's own, for real commits (each test adds its own rows)."""
    url = make_url(base_settings.database_url).set(database=f"gusp_commit_{uuid.uuid4().hex[:12]}")
    settings = base_settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)})
    conftest.prepare(settings)
    yield settings
    db.drop_database(settings.database_url)


@pytest.fixture
def through_proxy(shared_database, media_dir) -> Iterator[tuple[pgproxy.PgProxy, TestClient, Session]]:
    """The proxy, a client of an app that reaches the database through it, and a direct session."""
    settings = shared_database.model_copy(update={"media_dir": media_dir})
    engine = db.make_engine(settings.database_url)
    with pgproxy.running_proxy(settings.database_url) as (proxy, url):
        app = create_app(settings.model_copy(update={"database_url": url}))
        try:
            with TestClient(app, raise_server_exceptions=False) as client, db.make_sessionmaker(engine)() as direct:
                yield proxy, client, direct
        finally:
            app.state.engine.dispose()
            engine.dispose()


def assert_uncertain(response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == "enregistrement_incertain"
    assert "même clé" in body["message"] and "rien n'a été enregistré" not in body["message"]
    assert response.headers["retry-after"].isdigit()


def test_a_report_whose_commit_answer_is_lost_keeps_its_photos(through_proxy):
    proxy, client, direct = through_proxy
    fields = builders.form(direct)
    photos = [builders.jpeg(900, 600), builders.jpeg(640, 480, (10, 90, 200))]
    headers = {"Idempotency-Key": "telephone-en-zone-blanche-1"}

    proxy.cut_commit_after(b"INSERT INTO report_photos")
    lost = post(client, fields, photos, headers)

    assert proxy.cuts == 1
    assert_uncertain(lost)
    saved = select(func.count()).select_from(Report).where(Report.idempotency_key == headers["Idempotency-Key"])
    assert direct.scalar(saved) == 1
    retry = post(client, fields, photos, headers)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    served = retry.json()["photos"]
    assert len(served) == 2
    for photo in served:
        for url in (photo["url"], photo["thumbnail_url"]):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.content[:2] == b"\xff\xd8"


def test_a_resolution_whose_commit_answer_is_lost_keeps_its_after_photo(through_proxy):
    proxy, client, direct = through_proxy
    with db.transaction(direct):
        partner = builders_routing.make_partner(direct)
        _, headers = builders.staff(direct, "partenaire", partner_id=partner.id)
    created = post(client, builders.form(direct))
    reference = created.json()["reference"]
    with db.transaction(direct):
        direct.execute(Report.__table__.update().where(Report.reference == reference)
                       .values(status="en_cours", partner_id=partner.id, assigned_at=func.now()))

    proxy.cut_commit_after(b"INSERT INTO report_photos")
    lost = client.post(f"/api/v1/gestion/reports/{reference}/resolve", data={"note": "Sacs enlevés."},
                       files={"after_photo": ("apres.jpg", builders.jpeg(800, 600, (20, 140, 20)), "image/jpeg")},
                       headers=headers)

    assert proxy.cuts == 1, lost.text
    assert_uncertain(lost)
    public = client.get(f"/api/v1/reports/{reference}").json()
    assert public["status"] == "resolu"
    [after] = direct.scalars(select(ReportPhoto).join(Report).where(Report.reference == reference)).all()
    for key in (after.display_key, after.thumbnail_key):
        assert client.get(f"/media/{key}").status_code == 200


def test_a_positive_point_whose_commit_answer_is_lost_keeps_its_photos(through_proxy):
    proxy, client, direct = through_proxy
    with db.transaction(direct):
        _, coordinator = builders.staff(direct, "coordinateur")
    walk = client.post("/api/v1/diagnostics", headers=coordinator,
                       json={"quartier": builders.ENCAGNANE, "date": "2026-11-25", "title": "Encagnane sud"})
    assert walk.status_code == 201, walk.text
    lat, lon = builders.point_in(direct, builders.ENCAGNANE)

    proxy.cut_commit_after(b"INSERT INTO diagnostic_photos")
    lost = client.post(f"/api/v1/diagnostics/{walk.json()['id']}/findings", headers=coordinator,
                       data={"kind": "point_positif", "description": "Jardin partagé fleuri", "lat": lat, "lon": lon},
                       files=[("photos", ("jardin.jpg", builders.jpeg(700, 500, (30, 160, 60)), "image/jpeg"))])

    assert proxy.cuts == 1
    assert_uncertain(lost)
    [photo] = direct.scalars(select(DiagnosticPhoto).join(DiagnosticFinding)
                             .where(DiagnosticFinding.diagnostic_id == walk.json()["id"])).all()
    for key in (photo.display_key, photo.thumbnail_key):  # walks' photos are staff-only
        assert client.get(f"/api/v1/gestion/media/{key}", headers=coordinator).status_code == 200
