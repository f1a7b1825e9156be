"""Sensitive categories: no photo and no coordinates on any public surface; set in the file and by admins."""

from __future__ import annotations

import json

from sqlalchemy import select

from gusp import categories
from gusp.models import Category
from tests import builders


def test_public_tranquillity_is_sensitive_by_default(session):
    category = session.get(Category, "tranquillite")
    assert category.photos_public is False and category.location_public == "quartier"
    assert session.get(Category, "proprete").photos_public is True


def test_its_reports_show_the_quartier_only(client, session, settings):
    report = builders.make_report(session, settings, category="tranquillite", photos=[builders.jpeg()])
    public = client.get(f"/api/v1/reports/{report.reference}").json()
    assert public["location"] is None and public["photos"] == []
    assert public["attribution"]["quartier"]["code"] == builders.ENCAGNANE
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    nearby = client.get("/api/v1/reports/nearby", params={"category": "tranquillite", "lat": lat, "lon": lon})
    assert nearby.status_code == 200 and nearby.json()["count"] == 0
    assert client.get(f"/media/{report.photos[0].display_key}").status_code == 404


def test_an_admin_marks_a_category_and_every_surface_follows(client, session, settings):
    _, admin = builders.staff(session, "admin")
    _, coordinator = builders.staff(session, "coordinateur")
    report = builders.make_report(session, settings, category="eclairage", photos=[builders.jpeg()])
    url = f"/media/{report.photos[0].display_key}"
    assert client.get(url).status_code == 200

    refused = client.patch("/api/v1/categories/eclairage", json={"photos_public": False}, headers=coordinator)
    assert refused.status_code == 403 and refused.json()["code"] == "interdit"
    done = client.patch("/api/v1/categories/eclairage", json={"photos_public": False, "location_public": "quartier"},
                        headers=admin)
    assert done.status_code == 200 and done.json()["location_public"] == "quartier"
    assert client.get(url).status_code == 404
    public = client.get(f"/api/v1/reports/{report.reference}").json()
    assert public["photos"] == [] and public["location"] is None
    [request] = client.get(f"/open311/v2/requests/{report.reference}.json").json()
    assert request["lat"] is None and request["media_url"] is None
    staff = client.get(f"/api/v1/gestion/reports/{report.reference}", headers=coordinator).json()
    assert staff["location"]["lat"] and staff["photos"][0]["public"] is False and not staff["location_public"]

    for bad, code in (({"location_public": "rue"}, 422), ({"photos_public": None}, 422), ({"autre": 1}, 422)):
        answer = client.patch("/api/v1/categories/eclairage", json=bad, headers=admin)
        assert answer.status_code == code and answer.json()["message"]
    assert client.patch("/api/v1/categories/inconnue", json={}, headers=admin).status_code == 404


def test_the_file_only_tightens(session, tmp_path, settings):
    session.get(Category, "proprete").photos_public = False  # an admin tightened it
    session.get(Category, "tranquillite").location_public = "exact"  # an admin loosened it
    session.flush()
    categories.seed(session=session, path=settings.categories_file)
    session.expire_all()
    rows = {c.code: c for c in session.scalars(select(Category))}
    assert rows["proprete"].photos_public is False
    assert rows["tranquillite"].location_public == "quartier" and rows["tranquillite"].photos_public is False
    document = json.loads(settings.categories_file.read_text(encoding="utf-8"))
    assert any(c.get("location_public") == "quartier" for c in document["categories"])
