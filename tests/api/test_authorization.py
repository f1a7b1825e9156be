"""The authorisation matrix: every staff endpoint × every role, and anonymous.

One report R in Encagnane, made by agent « agent », assigned to partner P1. Around it: an admin,
a coordinator, a member of P1 and one of P2, a group member of Encagnane and one of Jas de
Bouffan, R's agent and another agent, and nobody. A principal that may not see R gets the same
404 as for a report that does not exist (no probing); one that sees it but may not act gets 403.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gusp import partners, triage
from gusp.models import Quartier
from tests import builders

PRINCIPALS = ("admin", "coordinateur", "partenaire_p1", "partenaire_p2", "groupe_encagnane", "groupe_jas",
              "agent", "autre_agent", "anonyme")
SEES = {"admin", "coordinateur", "partenaire_p1", "groupe_encagnane", "agent"}
MANAGERS = {"admin", "coordinateur"}


class World:
    def __init__(self, session, settings):
        self.session, self.settings = session, settings
        self.p1 = partners.create_partner(session=session, name="P1 Bailleur", kind="bailleur", emails=["p1@x.example"])
        self.p2 = partners.create_partner(session=session, name="P2 Ville", kind="ville", emails=["p2@x.example"])
        ids = dict(session.execute(select(Quartier.code, Quartier.id)).all())
        specs = {
            "admin": ("admin", None, ()), "coordinateur": ("coordinateur", None, ()),
            "partenaire_p1": ("partenaire", self.p1.id, ()), "partenaire_p2": ("partenaire", self.p2.id, ()),
            "groupe_encagnane": ("groupe", None, (ids[builders.ENCAGNANE],)),
            "groupe_jas": ("groupe", None, (ids[builders.JAS_DE_BOUFFAN],)),
            "agent": ("agent", None, ()), "autre_agent": ("agent", None, ()),
        }
        self.users, self.tokens = {}, {}
        for key, (role, partner_id, quartiers) in specs.items():
            self.users[key], self.tokens[key] = builders.staff(session, role, partner_id=partner_id,
                                                               quartier_ids=quartiers, name=key)

    def report(self):
        """A fresh R for each call, so that one principal's action does not change the next one's case."""
        report = builders.make_report(self.session, self.settings, quartier=builders.ENCAGNANE,
                                      contact_email="habitante@example.org", contact_consent="true")
        report.created_by_user_id = self.users["agent"].id
        triage.assign(session=self.session, settings=self.settings, report=report, partner=self.p1, actor=None)
        self.session.flush()
        return report

    def headers(self, who):
        return {} if who == "anonyme" else self.tokens[who]


@pytest.fixture
def world(session, settings):
    return World(session, settings)


def expected(who, *, allowed):
    if who == "anonyme":
        return 401
    if who not in SEES:
        return 404
    return 200 if who in allowed else 403


ACTIONS = {
    # name: (method, path suffix, json body, who may)
    "detail": ("get", "", None, SEES),
    "duplicates": ("get", "/duplicates", None, SEES),
    "comment": ("post", "/comments", {"note": "Vu sur place."}, SEES),
    "public_comment": ("post", "/comments", {"note": "Merci !", "public": True}, MANAGERS),
    "take": ("post", "/status", {"status": "en_cours"}, MANAGERS | {"partenaire_p1"}),
    "reject": ("post", "/status", {"status": "rejete", "reason": "non_fonde"}, MANAGERS),
    "priority": ("post", "/priority", {"priority": "haute"}, MANAGERS),
    "category": ("post", "/category", {"category": "encombrants"}, MANAGERS),
    "assign": ("post", "/assign", None, MANAGERS),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_report_actions_by_role(client, world, action):
    method, suffix, body, allowed = ACTIONS[action]
    for who in PRINCIPALS:
        report = world.report()
        if action == "assign":
            body = {"partner_id": world.p2.id}
        response = getattr(client, method)(f"/api/v1/gestion/reports/{report.reference}{suffix}",
                                           headers=world.headers(who), **({"json": body} if body else {}))
        assert response.status_code == expected(who, allowed=allowed), (who, response.text)
        if response.status_code >= 400:
            assert response.json()["code"] in {"non_authentifie", "signalement_introuvable", "interdit"}


def test_resolving_with_an_after_photo_by_role(client, world):
    for who in PRINCIPALS:
        report = world.report()
        response = client.post(f"/api/v1/gestion/reports/{report.reference}/resolve", headers=world.headers(who),
                               data={"note": "Réparé."},
                               files={"after_photo": ("apres.jpg", builders.jpeg(400, 300), "image/jpeg")})
        assert response.status_code == expected(who, allowed=MANAGERS | {"partenaire_p1"}), (who, response.text)


def test_merge_and_bulk_are_for_coordinators(client, world):
    for who in PRINCIPALS:
        master, duplicate = world.report(), world.report()
        merged = client.post(f"/api/v1/gestion/reports/{duplicate.reference}/merge", headers=world.headers(who),
                             json={"master_reference": master.reference})
        assert merged.status_code == expected(who, allowed=MANAGERS), (who, merged.text)
        bulk = client.post("/api/v1/gestion/reports/bulk", headers=world.headers(who),
                           json={"references": [master.reference], "action": "status", "status": "en_cours"})
        assert bulk.status_code == (401 if who == "anonyme" else 200 if who in MANAGERS else 403), who


def test_the_list_holds_only_what_each_role_sees(client, world):
    report = world.report()
    other = builders.make_report(world.session, world.settings, quartier=builders.JAS_DE_BOUFFAN)
    for who in PRINCIPALS:
        response = client.get("/api/v1/gestion/reports", headers=world.headers(who))
        if who == "anonyme":
            assert response.status_code == 401
            continue
        seen = {line["reference"] for line in response.json()["data"]}
        assert (report.reference in seen) == (who in SEES), who
        assert (other.reference in seen) == (who in MANAGERS | {"groupe_jas"}), who


def test_only_coordinators_and_admins_see_the_reporters_contact(client, world):
    report = world.report()
    for who in SEES:
        detail = client.get(f"/api/v1/gestion/reports/{report.reference}", headers=world.headers(who))
        assert detail.status_code == 200
        contact = detail.json()["contact"]
        if who in MANAGERS:
            assert contact["email"] == "habitante@example.org"
        else:
            assert contact is None
            assert "habitante@example.org" not in detail.text


def test_public_endpoints_never_show_internal_notes_or_contacts(client, world, session, settings):
    report = world.report()
    triage.comment(session=session, report=report, actor=world.users["coordinateur"], note="Note interne secrète")
    triage.comment(session=session, report=report, actor=world.users["coordinateur"], note="Passage prévu mardi.",
                   public=True)
    public = client.get(f"/api/v1/reports/{report.reference}")

    assert public.status_code == 200
    assert "Note interne secrète" not in public.text
    assert "Passage prévu mardi." in public.text
    assert "habitante@example.org" not in public.text
    assert "Coordinateur" not in public.text  # no staff names either


CATEGORIES = ("proprete", "encombrants", "tags_affichage", "eclairage", "voirie", "espaces_verts", "aires_de_jeux",
              "mobilier_urbain", "nuisibles")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/partners"), ("post", "/api/v1/partners"), ("get", "/api/v1/routing-rules"),
     ("post", "/api/v1/routing-rules"), ("get", "/api/v1/zones")],
)
def test_partners_rules_and_zones_are_managed_by_coordinators_and_admins(client, world, method, path):
    for who, category in zip(PRINCIPALS, CATEGORIES, strict=True):
        payloads = {
            "/api/v1/partners": {"name": f"Métropole {who}", "kind": "metropole"},
            "/api/v1/routing-rules": {"category_code": category, "partner_id": world.p1.id},
        }
        body = {"json": payloads[path]} if method == "post" else {}
        response = getattr(client, method)(path, headers=world.headers(who), **body)
        wanted = 401 if who == "anonyme" else (201 if method == "post" else 200) if who in MANAGERS else 403
        assert response.status_code == wanted, (who, response.text)


def test_changing_partners_rules_and_zones_is_for_coordinators_and_admins(client, world):
    zone_file = json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"code": "PAH-ENC", "nom": "Résidence", "partenaire": "P1 Bailleur"},
        "geometry": {"type": "Polygon", "coordinates": [[[5.43, 43.52], [5.431, 43.52], [5.431, 43.521],
                                                          [5.43, 43.52]]]}}]}).encode()
    for who in PRINCIPALS:
        rule = partners.create_rule(session=world.session, category_code="voirie", partner_id=world.p1.id)
        world.session.flush()
        calls = {
            "patch partner": client.patch(f"/api/v1/partners/{world.p2.id}", headers=world.headers(who),
                                          json={"delay_days": 7}),
            "delete rule": client.delete(f"/api/v1/routing-rules/{rule.id}", headers=world.headers(who)),
            "load zones": client.post("/api/v1/zones", headers=world.headers(who),
                                      files={"file": ("zones.geojson", zone_file, "application/geo+json")}),
        }
        wanted = {"patch partner": 200, "delete rule": 204, "load zones": 200}
        for name, response in calls.items():
            expected_status = 401 if who == "anonyme" else wanted[name] if who in MANAGERS else 403
            assert response.status_code == expected_status, (who, name, response.text)
        if who not in MANAGERS:
            world.session.delete(rule)
            world.session.flush()
