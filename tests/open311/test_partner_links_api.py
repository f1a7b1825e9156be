"""/api/v1/partners/{id}/open311: admins mark a partner as reached by Open311; the key is never shown back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gusp import notify, states
from gusp.models import OutboxMessage
from gusp.models.open311 import PartnerOpen311
from tests import builders, builders_routing

KEY = "o311_SecretDuPartenaire0123456789abcdefghij"


@pytest.fixture
def admin(session) -> dict[str, str]:
    return builders.staff(session, "admin")[1]


@pytest.fixture
def partner(session):
    return builders_routing.make_partner(session, "Pays d'Aix Habitat")


def url(partner) -> str:
    return f"/api/v1/partners/{partner.id}/open311"


def test_an_admin_links_a_partner_and_never_sees_the_key_again(client, session, admin, partner):
    body = {"endpoint": "https://open311.pah.example/open311/v2/", "api_key": KEY, "jurisdiction_id": "pah",
            "service_codes": {"parties_communes": "PC-01", "ascenseurs": "ASC"}, "photos": "upload"}

    created = client.put(url(partner), json=body, headers=admin)

    assert created.status_code == 200, created.text
    shown = created.json()
    assert shown["endpoint"] == "https://open311.pah.example/open311/v2"  # no trailing slash
    assert shown["api_key"] == "o311_S…" and KEY not in created.text
    assert created.headers["cache-control"] == "no-store"
    assert (shown["sent"], shown["pending"], shown["failures"]) == (0, 0, [])
    assert session.get(PartnerOpen311, partner.id).api_key == KEY

    kept = client.put(url(partner), json={**body, "api_key": None, "photos": "none"}, headers=admin)
    assert kept.status_code == 200 and session.get(PartnerOpen311, partner.id).api_key == KEY
    assert client.get(url(partner), headers=admin).json()["photos"] == "none"


@pytest.mark.parametrize(("change", "field"), [
    ({"endpoint": "ftp://open311.pah.example"}, "endpoint"),
    ({"endpoint": "https://user:pw@open311.pah.example/v2"}, "endpoint"),
    ({"endpoint": "https://open311.pah.example/v2?x=1"}, "endpoint"),
    ({"api_key": None}, "api_key"),  # a new link needs its key
    ({"service_codes": {"piscine": "P"}}, "service_codes"),
    ({"photos": "fax"}, "photos"),
    ({"photos": "media_url"}, "photos"),  # no GUSP_PUBLIC_URL: the partner could not download them
])
def test_bad_links_are_refused_with_the_field(client, session, admin, partner, change, field):
    body = {"endpoint": "https://open311.pah.example/open311/v2", "api_key": KEY, **change}

    response = client.put(url(partner), json=body, headers=admin)

    assert response.status_code == 422
    assert response.json()["code"] == "liaison_open311_invalide" and response.json()["field"] == field
    assert session.get(PartnerOpen311, partner.id) is None


@pytest.mark.parametrize("role", ["coordinateur", "partenaire", "groupe", "agent"])
def test_only_admins_see_or_change_links(client, session, partner, role):
    extra = {"partner_id": partner.id} if role == "partenaire" else {}
    headers = builders.staff(session, role, **extra)[1]
    assert client.get(url(partner), headers=headers).status_code == 403
    assert client.put(url(partner), json={"endpoint": "https://x.example/v2", "api_key": KEY},
                      headers=headers).status_code == 403


def test_missing_partner_or_link_is_a_404(client, admin, partner):
    assert client.get("/api/v1/partners/999999/open311", headers=admin).json()["code"] == "partenaire_inconnu"
    response = client.get(url(partner), headers=admin)
    assert (response.status_code, response.json()["code"]) == (404, "liaison_open311_introuvable")


def test_failures_are_listed_and_retried(client, session, admin, partner, settings):
    client.put(url(partner), json={"endpoint": "https://open311.pah.example/v2", "api_key": KEY}, headers=admin)
    report = builders.make_report(session, settings)
    failed = notify.enqueue(session=session, kind="open311_request", recipient="https://open311.pah.example/v2",
                            subject="Open311", text="{}", html=None, report_id=report.id,
                            data={"partner_id": partner.id, "fields": []})
    failed.status, failed.attempts, failed.last_error = states.OutboxStatus.FAILED, 8, "Unavailable: ConnectError"
    session.flush()

    shown = client.get(url(partner), headers=admin).json()
    assert [(f["reference"], f["attempts"], f["error"]) for f in shown["failures"]] == [
        (report.reference, 8, "Unavailable: ConnectError")]

    assert client.post(f"{url(partner)}/retry", headers=admin).json() == {"retried": 1}
    session.refresh(failed)
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert client.get(url(partner), headers=admin).json()["pending"] == 1


def test_deleting_the_link_goes_back_to_mail(client, session, admin, partner):
    client.put(url(partner), json={"endpoint": "https://open311.pah.example/v2", "api_key": KEY}, headers=admin)
    assert client.delete(url(partner), headers=admin).status_code == 204
    assert session.get(PartnerOpen311, partner.id) is None
    assert session.scalars(select(OutboxMessage)).all() == []
