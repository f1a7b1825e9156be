"""Walking diagnostics and meeting packs over HTTP: who may do what, bad input, PDFs served."""

from __future__ import annotations

import io

import pypdf
import pytest
from sqlalchemy import func, select

from gusp import partners, triage
from gusp.models import Report
from gusp.models.diagnostics import DiagnosticFinding, MeetingPack
from tests import builders, builders_routing

URL = "/api/v1/diagnostics"
PACK = "/api/v1/packs"


def issue(client, params: dict, headers: dict | None = None):
    """POST a pack request: `quartier` as a list, like the staff page sends it."""
    body = dict(params)
    if "quartier" in body:
        body["quartier"] = body["quartier"] if isinstance(body["quartier"], list) else [body["quartier"]]
    return client.post(PACK, json=body, headers=headers or {})


@pytest.fixture
def world(session):
    bailleur = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur", emails=[])
    other = partners.create_partner(session=session, name="Métropole", kind="metropole", emails=[])
    builders_routing.make_rule(session, "proprete", bailleur)
    encagnane = builders_routing.quartier_id(session, builders.ENCAGNANE)
    return {
        "bailleur": bailleur,
        "coordinateur": builders.staff(session, "coordinateur")[1],
        "admin": builders.staff(session, "admin")[1],
        "agent": builders.staff(session, "agent")[1],
        "invited": builders.staff(session, "partenaire", partner_id=bailleur.id)[1],
        "stranger": builders.staff(session, "partenaire", partner_id=other.id)[1],
        "group": builders.staff(session, "groupe", quartier_ids=[encagnane])[1],
    }


def create(client, world, who="coordinateur", **overrides):
    body = {"quartier": builders.ENCAGNANE, "date": "2026-11-25", "title": "Encagnane sud",
            "participants": "Conseil citoyen", "partner_ids": [world["bailleur"].id], **overrides}
    return client.post(URL, json=body, headers=world[who])


def finding(client, session, world, diagnostic_id, who="agent", photos=1, **overrides):
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    fields = {"kind": "probleme", "category": "proprete", "description": "Sacs éventrés", "lat": lat, "lon": lon,
              **overrides}
    files = [("photos", (f"p{i}.jpg", builders.jpeg(), "image/jpeg")) for i in range(photos)]
    return client.post(f"{URL}/{diagnostic_id}/findings", data={k: str(v) for k, v in fields.items()},
                       files=files or None, headers=world[who])


def test_a_walk_from_creation_to_follow_up(client, session, settings, world):
    created = create(client, world, route={"type": "LineString", "coordinates": [[5.43, 43.52], [5.431, 43.521]]})
    assert created.status_code == 201, created.text
    walk = created.json()
    assert walk["quartier"]["code"] == builders.ENCAGNANE and walk["partners"][0]["name"] == "Pays d'Aix Habitat"
    assert walk["route"]["type"] == "LineString" and created.headers["Location"] == f"{URL}/{walk['id']}"

    problem = finding(client, session, world, walk["id"])
    positive = finding(client, session, world, walk["id"], kind="point_positif", category="",
                       description="Jardin partagé bien tenu")
    second = finding(client, session, world, walk["id"], who="coordinateur", photos=0, description="Tags")
    assert [r.status_code for r in (problem, positive, second)] == [201, 201, 201], positive.text
    assert [r.json()["number"] for r in (problem, positive, second)] == [1, 2, 3]
    assert problem.json()["report_reference"].startswith("GUSP-") and problem.json()["status"] == "nouveau"
    assert problem.json()["partner"]["name"] == "Pays d'Aix Habitat" and len(problem.json()["photos"]) == 1
    assert positive.json()["report_reference"] is None and positive.json()["photos"][0]["url"].startswith("/api/v1/gestion/media/")  # staff only
    report = session.scalars(select(Report).where(Report.reference == problem.json()["report_reference"])).one()
    assert report.source == "agent"

    triage.change_status(session=session, settings=settings, report=report, to="resolu", actor=None)
    detail = client.get(f"{URL}/{walk['id']}", headers=world["group"])
    assert detail.status_code == 200
    assert detail.json()["progress"] == {"problems": 2, "open": 1, "resolved": 1, "closed": 0, "rejected": 0,
                                         "treated": 1, "positive_points": 1}
    assert [f["kind"] for f in detail.json()["findings"]] == ["probleme", "point_positif", "probleme"]
    listed = client.get(URL, headers=world["agent"], params={"quartier": builders.ENCAGNANE})
    assert listed.json()["count"] == 1 and listed.json()["data"][0]["progress"]["treated"] == 1

    pdf = client.get(f"{URL}/{walk['id']}/restitution.pdf", headers=world["invited"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    content = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Jardin partagé bien tenu" in content and report.reference in content

    closed = client.post(f"{URL}/{walk['id']}/close", headers=world["coordinateur"])
    assert closed.status_code == 200 and closed.json()["closed_at"]
    late = finding(client, session, world, walk["id"])
    assert late.status_code == 409 and late.json()["code"] == "diagnostic_clos"


@pytest.mark.parametrize(("who", "status"), [("coordinateur", 201), ("admin", 201), ("agent", 403),
                                             ("invited", 403), ("group", 403)])
def test_only_coordinators_and_admins_create_walks(client, world, who, status):
    assert create(client, world, who).status_code == status


def test_who_sees_and_who_captures(client, session, world):
    walk = create(client, world).json()
    for who, status in (("coordinateur", 200), ("agent", 200), ("invited", 200), ("group", 200), ("stranger", 404)):
        assert client.get(f"{URL}/{walk['id']}", headers=world[who]).status_code == status, who
        assert client.get(f"{URL}/{walk['id']}/restitution.pdf", headers=world[who]).status_code == status, who
    assert client.get(URL, headers=world["stranger"]).json()["count"] == 0
    assert client.get(f"{URL}/{walk['id']}").status_code == 401
    refused = finding(client, session, world, walk["id"], who="invited")
    assert refused.status_code == 403 and refused.json()["code"] == "interdit"
    assert finding(client, session, world, walk["id"], who="stranger").status_code == 403
    assert client.get(f"{URL}/999999", headers=world["coordinateur"]).json()["code"] == "diagnostic_introuvable"


def test_bad_input_is_refused_in_french_and_writes_nothing(client, session, world):
    bad = create(client, world, quartier="QN00000X", partner_ids=[999999], route={"type": "Point"})
    assert bad.status_code == 422
    assert {e["code"] for e in bad.json()["errors"]} == {"quartier_inconnu", "partenaire_inconnu", "parcours_invalide"}
    assert create(client, world, date="2026-13-45").status_code == 422
    missing = client.post(URL, json={"title": "x"}, headers=world["coordinateur"])
    assert missing.status_code == 422 and missing.json()["code"] == "champ_manquant"
    assert create(client, world, extra="?").status_code == 422

    walk = create(client, world).json()
    cases = [
        ({"kind": "autre"}, "valeur_inconnue"),
        ({"category": ""}, "categorie_manquante"),
        ({"category": "inconnue"}, "categorie_inconnue"),
        ({"lat": "nord"}, "nombre_invalide"),
        ({"kind": "point_positif", "description": "", "photos": 0}, "description_manquante"),
    ]
    for overrides, code in cases:
        photos = overrides.pop("photos", 1)
        answer = finding(client, session, world, walk["id"], photos=photos, **overrides)
        assert answer.status_code == 422 and answer.json()["code"] == code, (overrides, answer.text)
        assert answer.json()["message"]
    not_a_photo = client.post(f"{URL}/{walk['id']}/findings", headers=world["agent"],
                              data={"kind": "point_positif", "lat": "43.52", "lon": "5.43"},
                              files=[("photos", ("x.jpg", b"%PDF-1.4", "image/jpeg"))])
    assert not_a_photo.status_code == 415
    assert session.scalar(select(func.count()).select_from(DiagnosticFinding)) == 0


def test_meeting_packs_by_role(client, session, settings, world):
    builders.make_report(session, settings, description="Dépôt sauvage")
    params = {"quartier": builders.ENCAGNANE, "from": "2026-01-01", "to": "2026-12-31"}

    answer = issue(client, params, world["coordinateur"])
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert answer.headers["location"] == issued["url"] == f"/api/v1/packs/{issued['id']}.pdf"
    pdf = client.get(issued["url"], headers=world["coordinateur"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    assert "Encagnane" in reader.pages[0].extract_text() and len(reader.pages) >= 3
    assert client.get(issued["url"], headers=world["coordinateur"]).content == pdf.content  # the same, as issued
    assert issue(client, params, world["group"]).status_code == 201  # its own quartier
    mixed = {**params, "quartier": [builders.ENCAGNANE, builders.JAS_DE_BOUFFAN]}
    assert issue(client, mixed, world["group"]).json()["code"] == "quartier_interdit"
    assert issue(client, {**params, "quartier": "ville"}, world["group"]).json()["code"] == "quartier_interdit"
    for who in ("agent", "invited"):
        assert issue(client, params, world[who]).status_code == 403
        assert client.get(issued["url"], headers=world[who]).status_code == 403
    assert issue(client, params).status_code == 401
    assert session.scalar(select(func.count()).select_from(MeetingPack)) == 2
    listed = client.get(PACK, headers=world["coordinateur"]).json()
    assert listed["count"] == 2 and [p["quartier_codes"] for p in listed["data"]] == [[builders.ENCAGNANE]] * 2
    assert listed["data"][1]["id"] == issued["id"] and listed["data"][1]["has_pdf"] is True
    assert client.get("/api/v1/packs/999999.pdf", headers=world["coordinateur"]).status_code == 404


@pytest.mark.parametrize(("params", "code"), [
    ({"quartier": "QN00000X", "from": "2026-01-01", "to": "2026-03-31"}, "quartier_inconnu"),
    ({"quartier": builders.ENCAGNANE, "from": "2026-03-31", "to": "2026-01-01"}, "periode_invalide"),
    ({"quartier": builders.ENCAGNANE, "from": "2020-01-01", "to": "2026-01-01"}, "periode_trop_longue"),
    ({"quartier": builders.ENCAGNANE, "from": "hier", "to": "2026-01-01"}, "champ_invalide"),
    ({"from": "2026-01-01", "to": "2026-03-31"}, "champ_manquant"),
    ({"quartier": " ", "from": "2026-01-01", "to": "2026-03-31"}, "quartier_manquant"),
])
def test_a_bad_pack_request_records_nothing(client, session, world, params, code):
    answer = issue(client, params, world["coordinateur"])
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert session.scalar(select(func.count()).select_from(MeetingPack)) == 0
