"""POST and GET /api/v1/reports through HTTP, against the real database and media directory."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from gusp.models import Report, ReportEvent, ReporterContact, ReportPhoto
from tests import builders

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)


def post(client, fields, photos=(), headers=None):
    files = [("photos", (f"photo{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    return client.post("/api/v1/reports", data=fields, files=files or None, headers=headers or {})


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_report_with_photo_is_created_attributed_and_served(client, session, settings):
    """A 2,200 px photo: 6/8 would give 1,650 px, under resize.MIN_FILL, so it is decoded whole and resampled to 2,048."""
    response = post(client, builders.form(session, quartier=builders.JAS_DE_BOUFFAN), [builders.jpeg(2200, 1400)])

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("GUSP-20")
    assert response.headers["location"] == f"/api/v1/reports/{body['reference']}"
    assert body["status"] == "nouveau"
    assert body["status_label"] == "Nouveau"
    assert body["category"]["code"] == "proprete"
    assert body["attribution"] == {
        "kind": "perimetre",
        "quartier": {"code": builders.JAS_DE_BOUFFAN, "nom": "Jas de Bouffan"},
        "nearest_quartier": None,
        "distance_m": None,
    }
    [photo] = body["photos"]
    assert (photo["width"], photo["height"]) == (2048, 1303)
    assert max(photo["thumbnail_width"], photo["thumbnail_height"]) == 400
    display = client.get(photo["url"])
    assert display.status_code == 200
    assert display.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(display.content)).size == (2048, 1303)
    thumb = client.get(photo["thumbnail_url"])
    assert Image.open(io.BytesIO(thumb.content)).size == (photo["thumbnail_width"], photo["thumbnail_height"])
    assert len(builders.stored_files(settings)) == 2

    report = session.scalars(select(Report).where(Report.reference == body["reference"])).one()
    [event] = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)).all()
    assert (event.kind, event.source, event.data["status"]) == ("created", "api", "nouveau")


def test_references_are_unique_and_readable(client, session):
    references = [post(client, builders.form(session)).json()["reference"] for _ in range(3)]
    assert len(set(references)) == 3
    for reference in references:
        prefix, year, number = reference.split("-")
        assert prefix == "GUSP" and len(year) == 4 and len(number) >= 6 and number.isdigit()


def test_public_view_never_shows_contact_details(client, session):
    fields = builders.form(
        session,
        contact_name="Fatima Benali",
        contact_email="fatima.benali@example.org",
        contact_phone="06 12 34 56 78",
        contact_consent="true",
        source="web",
    )
    created = post(client, fields)
    assert created.status_code == 201, created.text
    public = client.get(f"/api/v1/reports/{created.json()['reference']}")

    assert public.status_code == 200
    for response in (created, public):
        text = response.text
        for secret in ("Fatima", "Benali", "fatima.benali", "06 12", "0612345678", "contact"):
            assert secret not in text
    contact = session.get(ReporterContact, session.scalars(select(Report.id)).one())
    assert (contact.name, contact.email, contact.phone, contact.consent) == (
        "Fatima Benali", "fatima.benali@example.org", "0612345678", True,
    )


def test_lookup_is_case_insensitive_and_unknown_reference_is_a_json_404(client, session):
    reference = post(client, builders.form(session)).json()["reference"]
    assert client.get(f"/api/v1/reports/{reference.lower()}").json()["reference"] == reference

    missing = client.get("/api/v1/reports/GUSP-1999-000001")
    assert missing.status_code == 404
    assert missing.json()["code"] == "signalement_introuvable"


def test_report_outside_every_perimeter_is_kept_with_the_nearest_quartier(client, session):
    # Cours Mirabeau, in the city centre: in the service area, in no QPV.
    response = post(client, builders.form(session, lat=43.5263, lon=5.4474))

    assert response.status_code == 201, response.text
    attribution = response.json()["attribution"]
    assert attribution["kind"] == "hors_perimetre"
    assert attribution["quartier"] is None
    assert attribution["nearest_quartier"]["code"] in {builders.ENCAGNANE, "QN01316M", "QN01314M", builders.JAS_DE_BOUFFAN}
    assert 100 < attribution["distance_m"] < 5000


def test_point_outside_the_territory_is_refused(client, session):
    response = post(client, builders.form(session, lat=48.8566, lon=2.3522))  # Paris

    assert response.status_code == 422
    assert response.json()["code"] == "hors_territoire"
    assert count(session, Report) == 0


def test_phone_photo_is_served_upright_without_gps_or_any_metadata(client, session, settings):
    from tests import builders_photos

    phone = builders_photos.make_jpeg(1200, 900, orientation=6, gps=True)
    heic = builders_photos.make_heic(600, 400)
    response = post(client, builders.form(session), [phone, heic])

    assert response.status_code == 201, response.text
    jpeg_photo, heic_photo = response.json()["photos"]
    assert (jpeg_photo["width"], jpeg_photo["height"]) == (900, 1200)  # orientation 6: turned upright
    assert (heic_photo["width"], heic_photo["height"]) == (600, 400)
    for photo in (jpeg_photo, heic_photo):
        for url in (photo["url"], photo["thumbnail_url"]):
            served = client.get(url).content
            assert Image.open(io.BytesIO(served)).getexif() == {}
            for leak in (b"Exif", b"GPS", b"http://ns.adobe.com/xap", builders_photos.COMMENT):
                assert leak not in served
    stored = builders.stored_files(settings)
    assert len(stored) == 4
    assert all(name.endswith(".jpg") for name in stored)
    photo = session.scalars(select(ReportPhoto).order_by(ReportPhoto.position)).first()
    assert photo.source_format == "JPEG"


def test_unknown_or_malformed_photo_keys_are_json_404(client):
    for key in ("0" * 64 + ".jpg", "abc.jpg", "..passwd"):
        response = client.get(f"/media/{key}")
        assert response.status_code == 404
        assert response.json()["code"] == "photo_introuvable"
    traversal = client.get("/media/..%2F..%2Fetc%2Fpasswd")
    assert traversal.status_code == 404
    assert traversal.json()["code"] in {"photo_introuvable", "introuvable"}
