"""Every public surface (tests/public/surfaces.py) is walked: none returns a phone, an e-mail, a
name, an internal note, a hidden photo, or the place or photo of a sensitive category."""

from __future__ import annotations

import urllib.parse

import pytest
from sqlalchemy import select

from gusp.models import Report
from tests import builders, builders_routing
from tests.api.test_reports import post
from tests.open311 import builders_open311
from tests.public import surfaces

PHONES = ["06 11 22 33 44", "+33 6 55 44 33 22", "07.98.76.54.32", "0033 4 42 11 22 33", "0611223399"]
EMAILS = ["jean.voisin@example.org", "fatima.reporter@example.org"]


def test_every_public_route_is_listed(app):
    """A route reachable without sign-in must be a listed data surface or a listed non-data route."""
    routes = surfaces.public_routes(app)
    listed = set(surfaces.DATA) | set(surfaces.NON_DATA)
    assert routes - listed == set(), "route publique absente de tests/public/surfaces.py"
    assert listed - routes == set(), "route listée qui n'existe plus"


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _seed(client, session, settings) -> tuple[surfaces.Seed, list[str]]:
    """Reports full of personal data, staff work on them, Open311 posts; returns the seed and the
    bodies of the POST surfaces' answers."""
    _, coordinator = builders.staff(session, "coordinateur", name="coordinatrice-secrete")
    partner = builders_routing.make_partner(session, "Bailleur Confidentiel")
    answers: list[str] = []

    created = post(client, builders.form(
        session, description=f"Sacs devant le hall, appeler {PHONES[0]} ou écrire à {EMAILS[0]}.",
        contact_name="Fatima Reporter", contact_email=EMAILS[1], contact_phone="06 98 76 54 00", contact_consent="true",
    ), [builders.jpeg(colour=(10, 20, 30)), builders.jpeg(colour=(200, 210, 220))])
    assert created.status_code == 201, created.text
    answers.append(created.text)
    ordinary = created.json()["reference"]
    report = session.scalars(select(Report).where(Report.reference == ordinary)).one()
    hidden = report.photos[1]
    hidden.hidden = True
    session.flush()

    gestion = f"/api/v1/gestion/reports/{ordinary}"
    for path, body in [
        ("/assign", {"partner_id": partner.id, "note": f"INTERNE-assign {PHONES[1]}"}),
        ("/priority", {"priority": "haute"}),
        ("/status", {"status": "en_cours", "note": f"INTERNE-status {PHONES[2]}"}),
        ("/comments", {"note": f"INTERNE-comment {EMAILS[0]}"}),
        ("/comments", {"note": f"Passage prévu, joindre le gardien au {PHONES[3]}", "public": True}),
    ]:
        done = client.post(gestion + path, json=body, headers=coordinator)
        assert done.status_code == 200, done.text

    duplicate = post(client, builders.form(session, description="Encore des sacs"), [])
    answers.append(duplicate.text)
    merged = client.post(f"/api/v1/gestion/reports/{duplicate.json()['reference']}/merge", headers=coordinator,
                         json={"master_reference": ordinary, "note": f"INTERNE-merge vu avec M. Durand {PHONES[4]}"})
    assert merged.status_code == 200, merged.text

    sensitive = post(client, builders.form(session, quartier=builders.JAS_DE_BOUFFAN, category="tranquillite",
                                           description="Occupation du hall, bruit la nuit."),
                     [builders.jpeg(colour=(90, 250, 90))])
    assert sensitive.status_code == 201, sensitive.text
    answers.append(sensitive.text)
    sensitive_report = session.scalars(select(Report).where(Report.reference == sensitive.json()["reference"])).one()

    pending = post(client, builders.form(session, description="EN-ATTENTE texte non relu"),
                   [builders.jpeg(colour=(33, 66, 99))])
    pending_report = session.scalars(select(Report).where(Report.reference == pending.json()["reference"])).one()
    pending_report.published = False  # as with GUSP_PUBLIC_MODERATION=before (tests/public/test_prior_moderation.py)
    session.flush()

    api_key, _ = builders_open311.make_client(session)
    by_open311 = builders_open311.post(client, builders_open311.fields(
        session, api_key, description=f"Tags sur le mur, mon numéro {PHONES[0]}", email=EMAILS[1],
        first_name="Fatima", last_name="Reporter"))
    assert by_open311.status_code == 200, by_open311.text
    answers.append(by_open311.text)
    open311_ref = by_open311.json()[0]["service_request_id"]
    open311_report = session.scalars(select(Report).where(Report.reference == open311_ref)).one()
    update = client.post("/open311/v2/servicerequestupdates.json", content=urllib.parse.urlencode({
        "api_key": api_key, "service_request_id": ordinary, "update_id": "u-1",
        "description": f"Toujours là, rappelez-moi au {PHONES[1]} ou {EMAILS[1]}",
        "updated_datetime": "2026-01-01T10:00:00+01:00", "status": "OPEN"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert update.status_code == 200, update.text
    answers.append(update.text)

    lat, lon = builders.point_in(session, builders.JAS_DE_BOUFFAN)
    forbidden = [*PHONES, *(_digits(p) for p in PHONES), *EMAILS, "Fatima", "INTERNE", "Coordinatrice",
                 "06 98 76 54 00", "EN-ATTENTE", str(lat)[:7], str(lon)[:6]]
    private = [hidden.display_key, hidden.thumbnail_key, pending_report.photos[0].display_key,
               *(k for p in sensitive_report.photos for k in (p.display_key, p.thumbnail_key))]
    public = [report.photos[0].display_key, report.photos[0].thumbnail_key]
    seed = surfaces.Seed(
        references=[ordinary, duplicate.json()["reference"], sensitive_report.reference, open311_ref,
                    pending_report.reference],
        open311_token=open311_report.open311_token or "",
        point=builders.point_in(session, builders.ENCAGNANE),
        sensitive_point=(lat, lon),
        forbidden=forbidden,
        private_keys=private,
        public_keys=public,
    )
    return seed, answers


def test_no_public_surface_returns_personal_data_or_hidden_photos(client, session, settings):
    seed, answers = _seed(client, session, settings)
    bodies = {f"POST answer {i}": text for i, text in enumerate(answers)}
    for (method, path), fetch in surfaces.DATA.items():
        if fetch is None or method != "GET":
            continue
        for url in fetch(seed):
            response = client.get(url)
            assert response.status_code == 200, (url, response.text)
            bodies[url] = response.text
    assert len(bodies) > 20
    for url, body in bodies.items():
        for secret in seed.forbidden:
            assert secret not in body, f"{secret!r} publié par {url}"
    # the masked text is there, so the surfaces did show the texts, masked
    assert "[numéro masqué]" in bodies[f"/api/v1/reports/{seed.references[0]}"]
    assert "[adresse masquée]" in bodies["/open311/v2/servicerequestupdates.json"]
    assert "[numéro masqué]" in bodies["/open311/v2/requests.xml"]
    for key in seed.private_keys:
        refused = client.get(f"/media/{key}")
        assert refused.status_code == 404 and refused.json()["code"] == "photo_introuvable"
    for key in seed.public_keys:
        assert client.get(f"/media/{key}").status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_gives_no_coordinates_for_a_quartier_only_category(client, session, settings, fmt):
    sensitive = builders.make_report(session, settings, category="tranquillite", photos=[builders.jpeg()])
    body = client.get(f"/open311/v2/requests/{sensitive.reference}.{fmt}")
    assert body.status_code == 200
    if fmt == "json":
        [request] = body.json()
        assert request["lat"] is None and request["long"] is None and request["media_url"] is None
    else:
        tree = builders_open311.xml(body)
        assert not (tree.findtext("request/lat") or "") and not (tree.findtext("request/media_url") or "")
