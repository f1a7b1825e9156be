"""Client applications and their keys: the admins' API and the `gusp open311 clients` commands."""

from __future__ import annotations

import argparse

import pytest
from sqlalchemy import select

from gusp import accounts, cli_open311, db
from gusp.models.open311 import Open311Client
from gusp.open311 import clients
from tests import builders, builders_routing
from tests.open311 import builders_open311 as o311

URL = "/api/v1/open311/clients"


def test_an_admin_creates_a_client_and_sees_its_key_once(client, session):
    _, admin = builders.staff(session, "admin")

    created = client.post(URL, json={"name": "  Appli   Mon Quartier "}, headers=admin)

    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    assert body["name"] == "Appli Mon Quartier" and body["active"] is True and body["report_count"] == 0
    key = body["api_key"]
    assert key.startswith("o311_") and body["prefix"] == key[:12]
    stored = session.get(Open311Client, body["id"])
    assert stored.key_hash != key and key not in stored.key_hash

    o311.post(client, o311.fields(session, key))
    [listed] = [c for c in client.get(URL, headers=admin).json()["data"] if c["id"] == body["id"]]
    assert "api_key" not in listed
    assert listed["report_count"] == 1 and listed["last_used_at"] is not None


def test_an_admin_deactivates_renames_and_reactivates_a_client(client, session):
    _, admin = builders.staff(session, "admin")
    key, app_client = o311.make_client(session, "Ancienne appli")

    off = client.patch(f"{URL}/{app_client.id}", json={"active": False, "name": "Appli retirée"}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["name"] == "Appli retirée"
    assert o311.post(client, o311.fields(session, key)).status_code == 403

    assert client.patch(f"{URL}/{app_client.id}", json={"active": True}, headers=admin).json()["active"] is True
    assert o311.post(client, o311.fields(session, key)).status_code == 200


def test_names_are_unique_and_clients_are_found_by_id(client, session):
    _, admin = builders.staff(session, "admin")
    o311.make_client(session, "Appli Unique")

    clash = client.post(URL, json={"name": "appli unique"}, headers=admin)
    assert clash.status_code == 409 and clash.json()["code"] == "client_open311_existe"
    assert client.post(URL, json={"name": "   "}, headers=admin).json()["code"] == "nom_invalide"
    missing = client.patch(f"{URL}/999999", json={"active": False}, headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "client_open311_introuvable"


@pytest.mark.parametrize("role", ["coordinateur", "partenaire", "agent", "groupe"])
def test_only_admins_manage_clients(client, session, role):
    partner_id = None
    if role == "partenaire":
        partner_id = builders_routing.make_partner(session).id
    _, headers = builders.staff(session, role, partner_id=partner_id)

    assert client.get(URL, headers=headers).status_code == 403
    assert client.post(URL, json={"name": "Pirate"}, headers=headers).status_code == 403
    assert client.get(URL).status_code == 401
    assert session.scalars(select(Open311Client).where(Open311Client.name == "Pirate")).first() is None


def test_a_cookie_session_needs_its_csrf_token(client, session):
    accounts.create_user(session=session, email="admin-csrf@aix.example", full_name="Admin", role="admin",
                         password="un mot de passe assez long")
    signed_in = client.post("/api/v1/auth/login", json={"email": "admin-csrf@aix.example",
                                                        "password": "un mot de passe assez long"})
    assert signed_in.status_code == 200, signed_in.text
    refused = client.post(URL, json={"name": "Sans jeton"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_invalide"


def test_the_command_creates_lists_and_disables_clients(committed_settings, capsys):
    root = argparse.ArgumentParser(prog="gusp")
    cli_open311.add_commands(root.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> str:
        args = root.parse_args(list(argv))
        assert args.run(args, committed_settings) == 0
        return capsys.readouterr().out

    out = run("open311", "clients", "create", "Appli du conseil citoyen")
    key = out.split("affichée) : ")[1].strip()
    assert key.startswith("o311_")
    with db.command_session(committed_settings.database_url) as session:
        client = clients.resolve_key(session=session, value=key)
        assert client is not None and client.name == "Appli du conseil citoyen"
        client_id = client.id

    assert "Appli du conseil citoyen" in run("open311", "clients", "list")
    assert "désactivée" in run("open311", "clients", "disable", str(client_id))
    with db.command_session(committed_settings.database_url) as session:
        assert clients.resolve_key(session=session, value=key) is None
    run("open311", "clients", "enable", str(client_id))
    with db.command_session(committed_settings.database_url) as session:
        assert clients.resolve_key(session=session, value=key) is not None
