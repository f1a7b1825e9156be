"""Accounts managed by admins over the API, and one's own password (issue 14, point 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gusp import account_admin, accounts, errors, partners
from gusp.models import OutboxMessage, User, UserSession
from tests import builders

URL = "/api/v1/admin/users"
PASSWORD = "une phrase de passe des tests"


def test_an_admin_creates_an_account_by_quartier_code_and_it_gets_an_invitation(client, session):
    _, admin = builders.staff(session, "admin")

    created = client.post(URL, headers=admin, json={
        "email": "Gaelle.Groupe@Ville.example", "full_name": "Gaëlle Groupe", "role": "groupe",
        "quartiers": [builders.ENCAGNANE, builders.JAS_DE_BOUFFAN]})

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "gaelle.groupe@ville.example" and body["active"] is True
    assert sorted(q["code"] for q in body["quartiers"]) == sorted([builders.ENCAGNANE, builders.JAS_DE_BOUFFAN])
    assert all(isinstance(q["id"], int) for q in body["quartiers"])
    [invitation] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "password_reset")).all()
    assert invitation.recipient == "gaelle.groupe@ville.example"
    listed = client.get(URL, headers=admin).json()
    assert body["id"] in [u["id"] for u in listed["data"]] and listed["count"] == len(listed["data"])
    unknown = client.post(URL, headers=admin, json={"email": "x@ville.example", "full_name": "X", "role": "groupe",
                                                    "quartiers": ["NULLE-PART"]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "quartier_inconnu"
    assert "NULLE-PART" in unknown.json()["message"]
    again = client.post(URL, headers=admin, json={"email": "gaelle.groupe@ville.example", "full_name": "G",
                                                  "role": "agent"})
    assert again.status_code == 409 and again.json()["code"] == "utilisateur_existant"


def test_role_partner_quartiers_and_deactivation(client, session):
    admin_user, admin = builders.staff(session, "admin")
    regie = partners.create_partner(session=session, name="Régie", kind="ville", emails=["r@x.example"])
    agent, agent_headers = builders.staff(session, "agent")
    session.add(UserSession(id_hash="a" * 64, user_id=agent.id, csrf_token="x", expires_at=agent.created_at))
    session.flush()
    url = f"{URL}/{agent.id}"

    no_partner = client.patch(url, headers=admin, json={"role": "partenaire"})
    assert no_partner.status_code == 422 and no_partner.json()["code"] == "partenaire_requis"
    made = client.patch(url, headers=admin, json={"role": "partenaire", "partner_id": regie.id}).json()
    assert made["role"] == "partenaire" and made["partner_name"] == "Régie"
    back = client.patch(url, headers=admin, json={"role": "groupe", "quartiers": [builders.ENCAGNANE]}).json()
    assert back["partner_id"] is None and [q["code"] for q in back["quartiers"]] == [builders.ENCAGNANE]

    off = client.patch(url, headers=admin, json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    assert session.scalars(select(UserSession).where(UserSession.user_id == agent.id)).all() == []
    assert client.get("/api/v1/auth/me", headers=agent_headers).status_code == 401  # its tokens stop too

    myself = client.patch(f"{URL}/{admin_user.id}", headers=admin, json={"active": False})
    assert myself.status_code == 409 and myself.json()["code"] == "compte_personnel"
    assert client.get(f"{URL}/999999999", headers=admin).json()["code"] == "compte_introuvable"


def test_the_last_admin_stays_and_only_admins_manage_accounts(client, session):
    first, first_headers = builders.staff(session, "admin")
    for other in session.scalars(select(User).where(User.role == "admin", User.id != first.id)):
        other.active = False
    session.flush()
    _, coordinator = builders.staff(session, "coordinateur")

    with pytest.raises(errors.Conflict) as last:  # from `gusp users`, where nobody is signed in
        account_admin.update_user(session=session, user=first, actor=None, role="coordinateur")
    assert last.value.code == "dernier_admin"
    second, _ = builders.staff(session, "admin")
    assert client.patch(f"{URL}/{second.id}", headers=first_headers, json={"role": "coordinateur"}).status_code == 200
    refused = client.get(URL, headers=coordinator)
    assert refused.status_code == 403 and refused.json()["code"] == "interdit"


def test_an_admin_sends_a_reset_link(client, session):
    _, admin = builders.staff(session, "admin")
    agent, _ = builders.staff(session, "agent")

    sent = client.post(f"{URL}/{agent.id}/password-reset", headers=admin)

    assert sent.status_code == 202 and agent.email in sent.json()["message"]
    [mail] = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == agent.email)).all()
    assert mail.kind == "password_reset"


def test_one_changes_one_s_own_password_with_the_current_one(client, session):
    accounts.create_user(session=session, email="moi@ville.example", full_name="Moi", password=PASSWORD,
                         role="coordinateur")
    signed = client.post("/api/v1/auth/login", json={"email": "moi@ville.example", "password": PASSWORD})
    csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
    url = "/api/v1/auth/password"

    wrong = client.post(url, headers=csrf, json={"current_password": "pas le bon", "new_password": "x" * 20})
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    short = client.post(url, headers=csrf, json={"current_password": PASSWORD, "new_password": "court"})
    assert short.status_code == 422 and short.json()["field"] == "new_password"
    assert client.post(url, json={"current_password": PASSWORD, "new_password": "y" * 20}).status_code == 403
    changed = client.post(url, headers=csrf, json={"current_password": PASSWORD, "new_password": "une toute autre phrase"})
    assert changed.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 200  # this session goes on
    client.cookies.clear()
    assert client.post("/api/v1/auth/login", json={"email": "moi@ville.example", "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": "moi@ville.example",
                                                   "password": "une toute autre phrase"}).status_code == 200
