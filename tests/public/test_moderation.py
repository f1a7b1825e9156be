"""Per-photo moderation: a coordinator hides a photo (before or after), it leaves every public
surface and its public URL answers 404; shown again, it is back; both are staff events."""

from __future__ import annotations

from tests import builders
from tests.api.test_reports import post


def _photos_of(client, session, **form):
    created = post(client, builders.form(session, **form), [builders.jpeg(colour=(1, 2, 3)), builders.jpeg(colour=(250, 2, 3))])
    assert created.status_code == 201, created.text
    return created.json()


def test_a_hidden_photo_leaves_every_public_surface_and_comes_back(client, session, settings):
    _, coordinator = builders.staff(session, "coordinateur")
    report = _photos_of(client, session)
    reference = report["reference"]
    staff = client.get(f"/api/v1/gestion/reports/{reference}", headers=coordinator).json()
    first, second = staff["photos"]
    assert first["public"] and first["public_url"] == report["photos"][0]["url"]
    public_url = report["photos"][1]["url"]
    assert client.get(public_url).status_code == 200

    hidden = client.post(f"/api/v1/gestion/reports/{reference}/photos/{second['id']}/hide", headers=coordinator)
    assert hidden.status_code == 200, hidden.text
    shown_photo = hidden.json()["photos"][1]
    assert shown_photo["hidden"] and not shown_photo["public"] and shown_photo["public_url"] is None
    assert hidden.json()["staff_timeline"][-1]["kind"] == "photo_hidden"
    gone = client.get(public_url)
    assert gone.status_code == 404 and gone.json()["code"] == "photo_introuvable"
    assert gone.headers["cache-control"] == "no-store"  # shown again later, it must come back at once
    assert client.get(report["photos"][1]["thumbnail_url"]).status_code == 404
    public = client.get(f"/api/v1/reports/{reference}").json()
    assert [p["url"] for p in public["photos"]] == [report["photos"][0]["url"]]
    assert all(e["kind"] != "photo_hidden" for e in public["timeline"])
    assert second["url"].rsplit("/", 1)[1] not in client.get(f"/open311/v2/requests/{reference}.json").text
    # staff still see it, through the signed-in URL only
    assert client.get(shown_photo["url"], headers=coordinator).status_code == 200
    assert client.get(shown_photo["url"]).status_code == 401

    again = client.post(f"/api/v1/gestion/reports/{reference}/photos/{second['id']}/show", headers=coordinator)
    assert again.status_code == 200 and again.json()["staff_timeline"][-1]["kind"] == "photo_shown"
    assert client.get(public_url).status_code == 200
    assert len(client.get(f"/api/v1/reports/{reference}").json()["photos"]) == 2


def test_only_coordinators_moderate_and_bad_ids_are_clear_errors(client, session, settings):
    _, coordinator = builders.staff(session, "coordinateur")
    _, agent = builders.staff(session, "agent")
    report = _photos_of(client, session)
    reference = report["reference"]
    photo_id = client.get(f"/api/v1/gestion/reports/{reference}", headers=coordinator).json()["photos"][0]["id"]
    assert client.post(f"/api/v1/gestion/reports/{reference}/photos/{photo_id}/hide").status_code == 401
    refused = client.post(f"/api/v1/gestion/reports/{reference}/photos/{photo_id}/hide", headers=agent)
    assert refused.status_code in (403, 404) and refused.json()["message"]
    missing = client.post(f"/api/v1/gestion/reports/{reference}/photos/2147483647/hide", headers=coordinator)
    assert missing.status_code == 404 and missing.json()["code"] == "photo_introuvable"
    wrong = client.post(f"/api/v1/gestion/reports/{reference}/photos/abc/hide", headers=coordinator)
    assert wrong.status_code == 422 and "code" in wrong.json()
