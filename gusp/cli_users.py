"""`gusp users create` (the first admin, staff before the admin pages exist) and `gusp users purge`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from gusp import accounts, db, errors, states
from gusp.config import Settings

PASSWORD_ENV = "GUSP_NEW_PASSWORD"


def _read_password() -> str | None:
    """From GUSP_NEW_PASSWORD (scripts), else typed twice without echo; None when they differ."""
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    first = getpass.getpass("Mot de passe (12 caractères au moins) : ")
    second = getpass.getpass("Le même mot de passe, pour confirmer : ")
    if first != second:
        print("Les deux mots de passe diffèrent ; aucun compte créé.", file=sys.stderr)
        return None
    return first


def create_user_command(args: argparse.Namespace, settings: Settings) -> int:
    """0 when created, 1 when the passwords differ, 2 when the account is refused."""
    password = _read_password()
    if password is None:
        return 1
    try:
        with db.command_session(settings.database_url) as session:
            user = accounts.create_user(
                session=session,
                email=args.email,
                full_name=args.name,
                password=password,
                role=args.role,
                partner_id=args.partner_id,
                quartier_ids=args.quartier_ids,
            )
    except errors.GuspError as error:
        print(f"Erreur ({error.code}) : {error.message}", file=sys.stderr)
        return 2
    print(f"Compte créé : {user.email} ({user.role}), n° {user.id}.")
    return 0


def purge_command(args: argparse.Namespace, settings: Settings) -> int:
    """To run from cron: the tables of sessions, failures and links do not grow forever."""
    with db.command_session(settings.database_url) as session:
        deleted = accounts.purge_expired(session=session, settings=settings)
    print(f"Comptes : {deleted} sessions, échecs de connexion et liens périmés effacés.")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `users create` and `users purge` on the `gusp` command's subparsers."""
    users = commands.add_parser("users", help="comptes du personnel").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="créer un compte (mot de passe : GUSP_NEW_PASSWORD ou saisi)")
    create.add_argument("--email", required=True, help="adresse e-mail, identifiant de connexion")
    create.add_argument("--name", required=True, help="nom complet")
    create.add_argument("--role", required=True, choices=[r.value for r in states.Role])
    create.add_argument("--partner-id", type=int, default=None, help="partenaire du compte (rôle partenaire)")
    create.add_argument(
        "--quartier-id", type=int, action="append", default=[], dest="quartier_ids",
        help="quartier suivi (rôle groupe) ; à répéter",
    )
    create.set_defaults(run=create_user_command)
    users.add_parser("purge", help="effacer sessions expirées, vieux échecs de connexion, liens périmés").set_defaults(
        run=purge_command
    )
