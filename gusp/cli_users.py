"""`gusp users create` (the first admin), `list`, `deactivate`, `set-role`, and `purge`; the admin
page (/gestion/comptes) does the same from a browser."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from gusp import account_admin, accounts, db, errors, states
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
                quartier_ids=[*args.quartier_ids,
                              *account_admin.quartier_ids(session=session, codes=args.quartier_codes)],
            )
    except errors.GuspError as error:
        print(f"Erreur ({error.code}) : {error.message}", file=sys.stderr)
        return 2
    print(f"Compte créé : {user.email} ({user.role}), n° {user.id}.")
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    """One line per account: e-mail, role, partner or quartiers, active or not, last sign-in."""
    with db.command_session(settings.database_url) as session:
        users = account_admin.list_users(session=session, active=None if args.all else True)
        for user in users:
            scope = ""
            if user.partner_id is not None:
                scope = f" partenaire n° {user.partner_id}"
            codes = [q.code for q in account_admin.quartiers_of(session=session, user=user)]
            if codes:
                scope += f" quartiers {','.join(codes)}"
            seen = user.last_login_at.strftime("%d/%m/%Y") if user.last_login_at else "jamais connecté"
            state = "actif" if user.active else "désactivé"
            print(f"{user.id}\t{user.email}\t{user.role}{scope}\t{state}\t{seen}\t{user.full_name}")
        print(f"{len(users)} compte(s).", file=sys.stderr)
    return 0


def _change(args: argparse.Namespace, settings: Settings, done: str, **changes: object) -> int:
    try:
        with db.command_session(settings.database_url) as session:
            user = account_admin.user_by_email(session=session, email=args.email)
            account_admin.update_user(session=session, user=user, actor=None, **changes)
            print(f"{user.email} : {done}.")
    except errors.GuspError as error:
        print(f"Erreur ({error.code}) : {error.message}", file=sys.stderr)
        return 2
    return 0


def deactivate_command(args: argparse.Namespace, settings: Settings) -> int:
    """0 when done (its sessions end, its API tokens stop), 2 when refused (unknown, last admin)."""
    return _change(args, settings, "compte désactivé", active=False)


def set_role_command(args: argparse.Namespace, settings: Settings) -> int:
    changes: dict[str, object] = {"role": args.role}
    if args.partner_id is not None:
        changes["partner_id"] = args.partner_id
    if args.quartiers is not None:
        changes["quartier_codes"] = args.quartiers
    return _change(args, settings, f"rôle {args.role}", **changes)


def purge_command(args: argparse.Namespace, settings: Settings) -> int:
    """To run from cron: the tables of sessions, failures and links do not grow forever."""
    with db.command_session(settings.database_url) as session:
        deleted = accounts.purge_expired(session=session, settings=settings)
    print(f"Comptes : {deleted} sessions, échecs de connexion et liens périmés effacés.")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register the `users` commands on the `gusp` command's subparsers."""
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
    create.add_argument(
        "--quartier", action="append", default=[], dest="quartier_codes",
        help="code du quartier suivi (rôle groupe), comme /api/v1/quartiers le montre ; à répéter",
    )
    create.set_defaults(run=create_user_command)
    listing = users.add_parser("list", help="lister les comptes actifs (--all : aussi les désactivés)")
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(run=list_command)
    deactivate = users.add_parser("deactivate", help="désactiver un compte (sessions fermées, jetons arrêtés)")
    deactivate.add_argument("--email", required=True)
    deactivate.set_defaults(run=deactivate_command)
    set_role = users.add_parser("set-role", help="changer le rôle d'un compte")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", required=True, choices=[r.value for r in states.Role])
    set_role.add_argument("--partner-id", type=int, default=None, help="partenaire (rôle partenaire)")
    set_role.add_argument("--quartier", action="append", default=None, dest="quartiers",
                          help="code de quartier suivi (rôle groupe) ; à répéter")
    set_role.set_defaults(run=set_role_command)
    users.add_parser("purge", help="effacer sessions expirées, vieux échecs de connexion, liens périmés").set_defaults(
        run=purge_command
    )
