"""Photos served by the app from either store, and a full or failing store as a clear JSON error."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from gusp.api import deps
from gusp.api.main import create_app
from gusp.config import Settings
from gusp.models import Report
from tests import builders, filesystems
from tests.api.test_reports import post


@pytest.fixture
def client_of(session):
    """A client of the real app with the given settings, its requests sharing the test's session."""
    made = []

    def make(settings: Settings) -> TestClient:
        app = create_app(settings)
        app.dependency_overrides[deps.get_session] = lambda: session
        made.append(app)
        return TestClient(app, raise_server_exceptions=False)

    yield make
    for app in made:
        app.state.engine.dispose()


def test_photos_are_streamed_from_either_store(session, store_settings, client_of):
    client = client_of(store_settings)
    created = post(client, builders.form(session), [builders.jpeg(1200, 900)])
    assert created.status_code == 201, created.text
    [photo] = created.json()["photos"]

    served = client.get(photo["url"])

    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).size == (photo["width"], photo["height"])
    assert served.headers["content-type"] == "image/jpeg"
    assert int(served.headers["content-length"]) == len(served.content)
    assert served.headers["etag"] == f'"{photo["url"].rsplit("/", 1)[1].removesuffix(".jpg")}"'
    # revalidated at each use: a photo hidden later must not stay in caches (gusp.api.media)
    assert served.headers["cache-control"] == "public, no-cache" and served.headers["x-content-type-options"] == "nosniff"
    again = client.get(photo["url"], headers={"If-None-Match": served.headers["etag"]})
    assert again.status_code == 304 and not again.content
    for missing in ("ab" * 32 + ".jpg", "..%2F..%2Fetc%2Fpasswd", "x.jpg"):
        refused = client.get(f"/media/{missing}")
        assert refused.status_code == 404 and refused.json()["code"] in ("photo_introuvable", "introuvable")


def test_a_full_media_disk_is_a_clear_507_and_saves_nothing(session, settings, client_of, tmp_path):
    with filesystems.tmpfs(tmp_path / "petit-disque", size_kb=256) as root:
        client = client_of(settings.model_copy(update={"media_dir": root}))
        filesystems.fill(root)

        refused = post(client, builders.form(session), [builders.jpeg(1600, 1200)],
                       {"Idempotency-Key": "disque-plein-1"})

        assert refused.status_code == 507, refused.text
        assert refused.json()["code"] == "stockage_plein"
        assert "rien n'a été enregistré" in refused.json()["message"]
        assert refused.headers["retry-after"].isdigit()
        assert session.scalar(select(func.count()).select_from(Report)) == 0
        assert [p.name for p in root.rglob("*") if p.is_file()] == ["remplissage"]


def test_a_read_only_media_store_is_a_clear_503(session, settings, client_of, tmp_path):
    with filesystems.tmpfs(tmp_path / "lecture-seule", size_kb=256, read_only=True) as root:
        client = client_of(settings.model_copy(update={"media_dir": root}))

        refused = post(client, builders.form(session), [builders.jpeg(800, 600)])

    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "stockage_indisponible"
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_an_object_store_refusing_the_keys_is_a_clear_503(session, s3_settings, client_of):
    client = client_of(s3_settings.model_copy(update={"s3_secret_key": "pas-le-bon-secret"}))

    refused = post(client, builders.form(session), [builders.jpeg(800, 600)])

    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "stockage_indisponible"
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_the_staff_route_serves_a_photo_only_to_whoever_sees_its_report(client, session):
    """Keys are content hashes, yet one read in a forwarded mail, or public before the photo was hidden,
    must not open a report to a partner it was not given, nor to a group of another quartier."""
    from gusp.models import Partner, Quartier

    created = post(client, builders.form(session), [builders.jpeg(900, 700)])
    assert created.status_code == 201, created.text
    ref = created.json()["reference"]
    report = session.scalar(select(Report).where(Report.reference == ref))
    given, other = (Partner(name=f"Bailleur {n}", kind="bailleur", emails=[], active=True) for n in ("A", "B"))
    session.add_all([given, other])
    session.flush()
    report.partner_id, report.assigned_at = given.id, report.created_at
    session.flush()
    elsewhere = session.scalar(select(Quartier.id).where(Quartier.id != report.quartier_id).limit(1))
    coordinator = builders.staff(session, "coordinateur")[1]
    [photo] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]
    urls = [photo["url"], photo["thumbnail_url"]]
    assert all(url.startswith("/api/v1/gestion/media/") for url in urls)

    allowed = {
        "coordinator": coordinator,
        "the partner given the report": builders.staff(session, "partenaire", partner_id=given.id)[1],
        "a group of its quartier": builders.staff(session, "groupe", quartier_ids=[report.quartier_id])[1],
    }
    refused = {
        "another partner": builders.staff(session, "partenaire", partner_id=other.id)[1],
        "a group of another quartier": builders.staff(session, "groupe", quartier_ids=[elsewhere])[1],
        "an agent who did not make it": builders.staff(session, "agent")[1],
    }
    for who, headers in allowed.items():
        assert [client.get(url, headers=headers).status_code for url in urls] == [200, 200], who
    for who, headers in refused.items():
        answers = [client.get(url, headers=headers) for url in urls]
        assert [a.status_code for a in answers] == [404, 404], who
        assert answers[0].json()["code"] == "photo_introuvable" and answers[0].headers["Cache-Control"] == "no-store"
    assert client.get(urls[0]).status_code == 401  # nobody signed in
