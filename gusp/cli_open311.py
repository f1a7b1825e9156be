"""`gusp open311 clients create NAME | list | disable ID | enable ID`: Open311 client applications;
`gusp open311 poll`: read partners' Open311 updates once (the worker does it every few minutes)."""

from __future__ import annotations

import argparse

from gusp import db
from gusp.config import Settings
from gusp.open311 import clients


def create_command(args: argparse.Namespace, settings: Settings) -> int:
    """Prints the key once: it is stored hashed and cannot be shown again."""
    with db.command_session(settings.database_url) as session:
        key, client = clients.create_client(session=session, name=args.name)
    print(f"Application cliente Open311 créée : « {client.name} », n° {client.id}.")
    print(f"Clé d'API (notez-la, elle ne sera plus affichée) : {key}")
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    with db.command_session(settings.database_url) as session:
        rows = clients.list_clients(session=session)
    if not rows:
        print("Aucune application cliente Open311.")
    for usage in rows:
        c = usage.client
        state = "active" if c.active else "désactivée"
        used = c.last_used_at.isoformat(timespec="minutes") if c.last_used_at else "jamais"
        print(f"n° {c.id}\t{c.name}\t{c.prefix}…\t{state}\t{usage.report_count} signalements\tdernier usage : {used}")
    return 0


def _set_active(args: argparse.Namespace, settings: Settings, active: bool) -> int:
    with db.command_session(settings.database_url) as session:
        client = clients.update_client(session=session, client_id=args.client_id, active=active)
    print(f"Application cliente « {client.name} » {'réactivée' if active else 'désactivée'}.")
    return 0


def poll_command(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from gusp.open311.outbound import polling

    engine = db.make_engine(settings.database_url)
    try:
        result = polling.poll_all(sessionmaker=db.make_sessionmaker(engine), settings=settings,
                                  now=datetime.now(UTC))
    finally:
        engine.dispose()
    print(f"Partenaires interrogés : {result.partners} ; mises à jour appliquées : {result.applied}, "
          f"notées : {result.noted}, en échec : {result.failed}.")
    return 1 if result.failed else 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `open311 clients …` on the `gusp` command's subparsers."""
    open311 = commands.add_parser("open311", help="interface Open311 GeoReport v2").add_subparsers(
        dest="area", required=True
    )
    actions = open311.add_parser("clients", help="applications clientes et leurs clés d'API").add_subparsers(
        dest="action", required=True
    )
    create = actions.add_parser("create", help="créer une application cliente et afficher sa clé (une fois)")
    create.add_argument("name", help="nom de l'application, unique")
    create.set_defaults(run=create_command)
    actions.add_parser("list", help="lister les applications clientes").set_defaults(run=list_command)
    for action, active, text in (("disable", False, "désactiver (sa clé est refusée)"), ("enable", True, "réactiver")):
        sub = actions.add_parser(action, help=f"{text} une application cliente")
        sub.add_argument("client_id", type=int, help="numéro de l'application (voir list)")
        sub.set_defaults(run=lambda a, s, active=active: _set_active(a, s, active))
    open311.add_parser("poll", help="lire une fois les mises à jour des serveurs Open311 des partenaires").set_defaults(
        run=poll_command)
