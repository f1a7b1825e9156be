"""Faces through HTTP: public photos blurred, the original for coordinators only, blur rectangles, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from gusp import partners, retention, storage
from gusp.models import Report, ReportPhoto
from tests import builders
from tests.api.test_reports import post
from tests.test_photos_faces import DATA, LABELS, box_detail, real_photo

FACE = LABELS["astronaut.jpg"]["faces"][0]["box"]


@pytest.fixture
def coordinator(session):
    return builders.staff(session, "coordinateur")[1]


@pytest.fixture
def filed(client, session):
    """A report filed by a resident with a real photo of a face, and its staff detail."""
    data, _ = real_photo("astronaut.jpg")
    created = post(client, builders.form(session), [data])
    assert created.status_code == 201, created.text
    return created.json(), data


def test_the_public_photo_is_blurred_and_the_original_is_for_coordinators_only(client, session, filed, coordinator):
    public, sent = filed
    [photo] = public["photos"]
    before = box_detail(sent, FACE, 1.0)
    assert box_detail(client.get(photo["url"]).content, FACE, 1.0) < before * 0.4
    thumb = client.get(photo["thumbnail_url"]).content
    assert box_detail(thumb, FACE, photo["thumbnail_width"] / 512) < box_detail(sent, FACE, 1.0) * 0.6

    staff = client.get(f"/api/v1/gestion/reports/{public['reference']}", headers=coordinator).json()
    [staff_photo] = staff["staff_photos"]
    assert [r["source"] for r in staff_photo["blur_regions"]] == ["visage"]
    original = client.get(staff_photo["original_url"], headers=coordinator)
    assert original.status_code == 200 and "no-store" in original.headers["cache-control"]
    assert box_detail(original.content, FACE, 1.0) > before * 0.6

    key = session.scalar(select(ReportPhoto.original_key).where(ReportPhoto.id == staff_photo["id"]))
    assert client.get(f"/media/{key}").status_code == 404  # the public route never serves it
    assert key not in str(public) and key not in client.get(f"/api/v1/reports/{public['reference']}").text
    assert client.get(staff_photo["original_url"]).status_code == 401
    ville = partners.create_partner(session=session, name="Ville", kind="ville", emails=["v@x.example"])
    partner = builders.staff(session, "partenaire", partner_id=ville.id)[1]
    assert client.get(staff_photo["original_url"], headers=partner).status_code in (403, 404)
    admin = builders.staff(session, "admin")[1]
    assert client.get(staff_photo["original_url"], headers=admin).status_code == 200


def test_a_coordinator_blurs_a_rectangle_and_the_public_renditions_are_remade(client, session, filed, coordinator):
    public, sent = filed
    ref = public["reference"]
    [photo] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]
    badge = [140, 340, 210, 420]  # the mission patch on the suit: no face, sharp
    before = box_detail(client.get(photo["url"], headers=coordinator).content, badge, 1.0)

    answer = client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id']}/blur", headers=coordinator,
                         json={"rectangles": [{"x": 140, "y": 340, "w": 70, "h": 80}]})

    assert answer.status_code == 200, answer.text
    [after] = answer.json()["staff_photos"]
    assert after["url"] != photo["url"] and after["thumbnail_url"] != photo["thumbnail_url"]
    assert box_detail(client.get(after["url"], headers=coordinator).content, badge, 1.0) < before * 0.3
    assert box_detail(client.get(after["url"], headers=coordinator).content, FACE, 1.0) < box_detail(sent, FACE, 1.0) * 0.4
    assert [r["source"] for r in after["blur_regions"]] == ["visage", "manuel"]
    assert client.get(f"/api/v1/reports/{ref}").json()["photos"][0]["url"] == after["public_url"]
    assert client.get(photo["public_url"]).status_code == 404  # the former public display is no longer served
    kinds = [e["kind"] for e in answer.json()["staff_timeline"]]
    assert kinds[-1] == "photo_blurred"
    public_kinds = [e.get("kind") for e in client.get(f"/api/v1/reports/{ref}").json()["timeline"]]
    assert "photo_blurred" not in public_kinds
    # The original is untouched: the patch is sharp there.
    original = client.get(after["original_url"], headers=coordinator).content
    assert box_detail(original, badge, 1.0) > before * 0.6


def test_a_photo_without_a_face_gets_its_original_kept_when_first_blurred(client, session, coordinator):
    created = post(client, builders.form(session), [(DATA / "licenseplate_motion.jpg").read_bytes()])
    ref = created.json()["reference"]
    [photo] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]
    assert photo["original_url"] is None and photo["blur_regions"] == []

    answer = client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id']}/blur", headers=coordinator,
                         json={"rectangles": [{"x": 215, "y": 215, "w": 145, "h": 75}]})  # the plate

    [after] = answer.json()["staff_photos"]
    assert after["original_url"] and client.get(photo["public_url"]).status_code == 404  # old display: now the original
    group = builders.staff(session, "groupe")[1]
    assert client.get(photo["url"], headers=group).status_code == 404  # nor on the staff route for other roles
    assert client.get(photo["url"], headers=coordinator).status_code == 200
    plate = [222, 222, 350, 282]
    original = client.get(after["original_url"], headers=coordinator).content
    assert box_detail(client.get(after["url"], headers=coordinator).content, plate, 1.0) < box_detail(original, plate, 1.0) * 0.4


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"rectangles": [{"x": 5000, "y": 5000, "w": 50, "h": 50}]}, 422, "zone_hors_photo"),
    ({"rectangles": [{"x": 10, "y": 10, "w": 2, "h": 50}]}, 422, "zone_hors_photo"),
    ({"rectangles": []}, 422, None),
    ({"rectangles": [{"x": 1, "y": 1, "w": 0, "h": 5}]}, 422, None),
])
def test_bad_rectangles_are_refused_in_french_and_change_nothing(client, session, filed, coordinator, body, status,
                                                                  code):
    public, _ = filed
    ref = public["reference"]
    [photo] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]

    refused = client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id']}/blur", headers=coordinator, json=body)

    assert refused.status_code == status and refused.json()["message"]
    if code:
        assert refused.json()["code"] == code
    [same] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]
    assert same == photo


def test_only_coordinators_blur_and_only_photos_of_the_report(client, session, filed, coordinator):
    public, _ = filed
    ref = public["reference"]
    [photo] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]
    body = {"rectangles": [{"x": 10, "y": 10, "w": 50, "h": 50}]}
    assert client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id'] + 10**6}/blur", headers=coordinator,
                       json=body).json()["code"] == "photo_introuvable"
    agent = builders.staff(session, "groupe")[1]
    assert client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id']}/blur", headers=agent,
                       json=body).status_code in (403, 404)
    assert client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id']}/blur", json=body).status_code in (401, 403)


def test_a_face_photo_that_cannot_be_analysed_files_nothing(app, client, session, settings, tmp_path):
    broken = tmp_path / "centerface.onnx"
    broken.write_bytes(b"not a model")
    app.state.settings = settings.model_copy(update={"face_model_file": broken})
    data, _ = real_photo("astronaut.jpg")
    count = session.scalar(select(func.count()).select_from(Report))

    refused = post(client, builders.form(session), [data])

    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "floutage_indisponible" and "visages" in refused.json()["message"]
    assert session.scalar(select(func.count()).select_from(Report)) == count
    assert builders.stored_files(settings) == []


def test_purged_originals_are_no_longer_served_and_blurring_goes_on_from_the_display(client, session, settings,
                                                                                    filed, coordinator):
    public, sent = filed
    ref = public["reference"]
    [photo] = client.get(f"/api/v1/gestion/reports/{ref}", headers=coordinator).json()["staff_photos"]
    sessions = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                            expire_on_commit=False)
    store = storage.from_settings(settings)

    def purge(days: int) -> int:
        kept = settings.model_copy(update={"original_retention_days": days})
        return retention.purge_photos(sessionmaker=sessions, storage=store, settings=kept).originals

    session.execute(update(ReportPhoto).values(created_at=func.now() - timedelta(days=2)))
    assert purge(3) == 0  # younger than the retention
    assert purge(1) >= 1

    assert client.get(photo["original_url"], headers=coordinator).json()["code"] == "original_absent"
    answer = client.post(f"/api/v1/gestion/reports/{ref}/photos/{photo['id']}/blur", headers=coordinator,
                         json={"rectangles": [{"x": 140, "y": 340, "w": 70, "h": 80}]})
    [after] = answer.json()["staff_photos"]
    assert after["original_url"] is None  # a blurred display never becomes the "original"
    assert box_detail(client.get(after["url"], headers=coordinator).content, FACE, 1.0) < box_detail(sent, FACE, 1.0) * 0.4
