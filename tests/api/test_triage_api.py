"""The triage API as a coordinator uses it: filters, text search, pages, refusals, bulk actions."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from gusp import notify, partners, triage
from gusp.models import OutboxMessage, Report, ReportEvent
from tests import builders


@pytest.fixture
def coordinator(session):
    return builders.staff(session, "coordinateur")[1]


def refs(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [line["reference"] for line in response.json()["data"]]


@pytest.mark.clock
def test_filters_narrow_the_list(client, session, settings, coordinator):
    ville = partners.create_partner(session=session, name="Ville", kind="ville", emails=["v@x.example"])
    sacs = builders.make_report(session, settings, description="Sacs poubelles éventrés devant le hall")
    lampe = builders.make_report(session, settings, category="eclairage", quartier=builders.JAS_DE_BOUFFAN,
                                 description="Lampadaire éteint")
    late = builders.make_report(session, settings, category="voirie", description="Trou dans la chaussée")
    triage.assign(session=session, settings=settings, report=late, partner=ville, actor=None)
    late.due_at = late.assigned_at - timedelta(days=1)
    triage.set_priority(session=session, settings=settings, report=lampe, priority="urgente", actor=None)
    session.flush()
    url = "/api/v1/gestion/reports"

    assert refs(client.get(url, params={"category": "eclairage"}, headers=coordinator)) == [lampe.reference]
    assert refs(client.get(url, params={"quartier": builders.JAS_DE_BOUFFAN}, headers=coordinator)) == [lampe.reference]
    assert refs(client.get(url, params={"status": "pris_en_compte"}, headers=coordinator)) == [late.reference]
    assert refs(client.get(url, params={"partner": ville.id}, headers=coordinator)) == [late.reference]
    assert refs(client.get(url, params={"priority": "urgente"}, headers=coordinator)) == [lampe.reference]
    assert refs(client.get(url, params={"overdue": "true"}, headers=coordinator)) == [late.reference]
    assert refs(client.get(url, params={"q": "poubelle"}, headers=coordinator)) == [sacs.reference]  # stemmed
    assert refs(client.get(url, params={"q": sacs.reference}, headers=coordinator)) == [sacs.reference]
    lat, lon = builders.point_in(session, builders.JAS_DE_BOUFFAN)
    box = f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"
    assert refs(client.get(url, params={"bbox": box}, headers=coordinator)) == [lampe.reference]
    today = sacs.created_at.astimezone(ZoneInfo(settings.timezone)).date().isoformat()  # filters are Paris days
    assert len(refs(client.get(url, params={"created_from": today, "created_to": today}, headers=coordinator))) == 3
    overdue_line = client.get(url, params={"overdue": "true"}, headers=coordinator).json()["data"][0]
    assert overdue_line["overdue"] is True and overdue_line["partner"]["name"] == "Ville"


def test_keyset_pages_cover_everything_once_in_order(client, session, settings, coordinator):
    made = [builders.make_report(session, settings, description=f"n°{i}") for i in range(7)]
    # Same creation time for some: the id breaks ties, so no line is lost or repeated between pages.
    session.execute(text("UPDATE reports SET created_at = '2026-06-01T10:00:00+02' WHERE id <= :i"),
                    {"i": made[3].id})
    session.expire_all()
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/gestion/reports", params=params, headers=coordinator).json()
        seen += [line["reference"] for line in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(r.reference for r in made)
    assert len(seen) == len(set(seen)) == 7
    ascending = client.get("/api/v1/gestion/reports", params={"sort": "created_at", "limit": 7},
                           headers=coordinator).json()["data"]
    assert [line["reference"] for line in ascending] == list(reversed(seen))


def test_bad_list_parameters_are_clear_4xx(client, coordinator):
    url = "/api/v1/gestion/reports"
    assert client.get(url, params={"cursor": "n'importe quoi"}, headers=coordinator).json()["code"] == "curseur_invalide"
    assert client.get(url, params={"sort": "prix"}, headers=coordinator).json()["code"] == "tri_invalide"
    assert client.get(url, params={"bbox": "1,2,3"}, headers=coordinator).json()["code"] == "bbox_invalide"
    bad_status = client.get(url, params={"status": "termine"}, headers=coordinator)
    assert (bad_status.status_code, bad_status.json()["code"]) == (422, "valeur_inconnue")
    assert client.get(url, params={"limit": 0}, headers=coordinator).json()["code"] == "valeur_hors_limites"


def test_a_forbidden_transition_is_409_and_changes_nothing(client, session, settings, coordinator):
    report = builders.make_report(session, settings)
    count = session.scalar(select(func.count()).select_from(ReportEvent))

    response = client.post(f"/api/v1/gestion/reports/{report.reference}/status", headers=coordinator,
                           json={"status": "clos"})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_interdite"
    assert body["allowed"] == ["pris_en_compte", "rejete", "resolu"]
    assert "« Pris en compte »" in body["message"]
    assert client.get(f"/api/v1/reports/{report.reference}").json()["status"] == "nouveau"
    assert session.scalar(select(func.count()).select_from(ReportEvent)) == count


def test_bulk_applies_what_it_can_and_reports_the_rest(client, session, settings, coordinator):
    fresh = builders.make_report(session, settings)
    done = builders.make_report(session, settings)
    triage.change_status(session=session, settings=settings, report=done, to="resolu", actor=None)

    response = client.post("/api/v1/gestion/reports/bulk", headers=coordinator, json={
        "references": [fresh.reference, done.reference, "GUSP-1999-000000"],
        "action": "status", "status": "rejete", "reason": "non_fonde",
    })

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["succeeded"]) == (3, 1)
    assert [(i["reference"], i["ok"], i["code"]) for i in body["data"]] == [
        (fresh.reference, True, None),
        (done.reference, False, "transition_interdite"),
        ("GUSP-1999-000000", False, "signalement_introuvable"),
    ]
    assert client.get(f"/api/v1/reports/{done.reference}").json()["status"] == "resolu"


def test_merge_through_the_api(client, session, settings, coordinator):
    master, duplicate = builders.make_report(session, settings), builders.make_report(session, settings)

    listed = client.get(f"/api/v1/gestion/reports/{duplicate.reference}/duplicates", headers=coordinator).json()
    both_ways = client.get(f"/api/v1/gestion/reports/{master.reference}/duplicates", headers=coordinator).json()
    merged = client.post(f"/api/v1/gestion/reports/{duplicate.reference}/merge", headers=coordinator,
                         json={"master_reference": master.reference})

    assert [(d["reference"], d["later"]) for d in listed] == [(master.reference, False)]
    assert [(d["reference"], d["later"]) for d in both_ways] == [(duplicate.reference, True)]
    assert merged.status_code == 200
    assert (merged.json()["status"], merged.json()["master_reference"]) == ("rejete", master.reference)
    master_side = client.get(f"/api/v1/gestion/reports/{master.reference}", headers=coordinator).json()
    assert master_side["duplicate_references"] == [duplicate.reference]
    public = client.get(f"/api/v1/reports/{master.reference}").json()
    assert public["similar_count"] == 1
    assert client.get(f"/api/v1/reports/{duplicate.reference}").json()["duplicate_of"] == master.reference


def test_nearby_reports_before_sending(client, session, settings):
    near = builders.make_report(session, settings, quartier=builders.ENCAGNANE)
    lat, lon = builders.point_in(session, builders.ENCAGNANE)

    found = client.get("/api/v1/reports/nearby", params={"category": "proprete", "lat": lat, "lon": lon}).json()
    other = client.get("/api/v1/reports/nearby", params={"category": "eclairage", "lat": lat, "lon": lon}).json()
    unknown = client.get("/api/v1/reports/nearby", params={"category": "piscine", "lat": lat, "lon": lon})

    assert [r["reference"] for r in found["data"]] == [near.reference]
    assert found["data"][0]["distance_m"] < 1
    assert other == {"data": [], "count": 0}
    assert (unknown.status_code, unknown.json()["code"]) == (422, "categorie_inconnue")


def test_a_report_left_nouveau_past_the_triage_deadline_is_overdue(client, session, settings, coordinator):
    forgotten = builders.make_report(session, settings, description="Personne ne l'a regardé")
    fresh = builders.make_report(session, settings, description="Arrivé ce matin")
    session.execute(text("UPDATE reports SET created_at = now() - interval '3 days' WHERE id = :i"),
                    {"i": forgotten.id})
    session.expire_all()
    url = "/api/v1/gestion/reports"

    assert settings.triage_delay_days == 2
    late = refs(client.get(url, params={"overdue": "true"}, headers=coordinator))
    assert forgotten.reference in late and fresh.reference not in late
    detail = client.get(f"{url}/{forgotten.reference}", headers=coordinator).json()
    assert detail["overdue"] is True and detail["due_at"] is None  # no partner's deadline yet
    assert client.get(f"{url}/{fresh.reference}", headers=coordinator).json()["overdue"] is False
    now = session.scalar(func.now())
    assert notify.overdue_digest(session=session, settings=settings, now=now) >= 1
    [digest] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "overdue_digest")).all()[:1]
    assert forgotten.reference in digest.body_text and fresh.reference not in digest.body_text
    assert "moins d'un jour" in digest.body_text or "1 jour" in digest.body_text

    never = settings.model_copy(update={"triage_delay_days": 0})
    assert not triage.is_overdue(session.get(Report, forgotten.id), now=now, settings=never)


def test_the_public_view_says_who_handles_the_report_and_by_when(client, session, settings):
    report = builders.make_report(session, settings)
    assert {k: client.get(f"/api/v1/reports/{report.reference}").json()[k] for k in ("handled_by", "expected_by")} == {
        "handled_by": None, "expected_by": None}
    partner = partners.create_partner(session=session, name="Pays d'Aix Habitat", kind="bailleur", emails=["p@x.example"])
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None,
                  note="Note interne à ne pas montrer")

    public = client.get(f"/api/v1/reports/{report.reference}").json()

    assert public["handled_by"] == "Pays d'Aix Habitat"
    assert public["expected_by"] == report.due_at.astimezone(ZoneInfo(settings.timezone)).isoformat()
    assert "Note interne" not in str(public) and "p@x.example" not in str(public)

    triage.change_status(session=session, settings=settings, report=report, to="resolu", actor=None)
    resolved = client.get(f"/api/v1/reports/{report.reference}").json()
    assert resolved["handled_by"] == "Pays d'Aix Habitat" and resolved["expected_by"] is None
