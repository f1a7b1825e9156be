"""`gusp check`, `gusp daily` and `gusp deploy …`: the commands of whoever runs the service."""

from __future__ import annotations

import argparse
from pathlib import Path

from gusp import accounts, db, retention, worker
from gusp.config import Settings
from gusp.ops import check, deploy


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    findings = check.run(settings)
    print(check.report(findings))
    return 1 if any(f.level is check.Level.BLOCKER for f in findings) else 0


def daily_command(args: argparse.Namespace, settings: Settings) -> int:
    """What a systemd timer runs each night; each step in its own transaction, each step reported."""
    with db.command_session(settings.database_url) as session:
        expired = accounts.purge_expired(session=session, settings=settings)
    print(f"Comptes : {expired} sessions, échecs de connexion et liens périmés effacés.")
    with db.command_session(settings.database_url) as session:
        contacts = retention.purge_contacts(session=session, settings=settings)
    print(f"Coordonnées de déclarants effacées : {contacts}.")
    engine = db.make_engine(settings.database_url)
    try:
        purged = worker.photo_purge(sessionmaker=db.make_sessionmaker(engine), settings=settings)
        swept = worker.media_sweep(sessionmaker=db.make_sessionmaker(engine), settings=settings)
    finally:
        engine.dispose()
    if purged is None:
        print("Photos des signalements clos : échec (voir le journal), nouvel essai demain.")
        return 1
    print(f"Photos des signalements clos depuis plus de {settings.photo_retention_months} mois effacées : "
          f"{purged.photos} ({purged.reports} signalements) ; originaux non floutés effacés : {purged.originals}.")
    if swept is None:
        print("Ménage du stockage des photos : échec (voir le journal), nouvel essai demain.")
        return 1
    print(f"Ménage du stockage des photos : {swept.deleted} fichier(s) que plus rien ne nomme effacé(s).")
    return 0


def render_command(args: argparse.Namespace, settings: Settings) -> int:
    site = deploy.Site(
        server_name=args.server_name, certificate=args.certificate, certificate_key=args.certificate_key,
        backends=args.backend or [f"127.0.0.1:{args.app_port}"], http_port=args.http_port,
        https_port=args.https_port,
    )
    service = deploy.Service(user=args.user, app_dir=args.app_dir, env_file=args.env_file, app_port=args.app_port)
    for path in deploy.render(args.root, site=site, service=service, settings=settings):
        print(f"écrit : {path}")
    return 0


def certificate_command(args: argparse.Namespace, settings: Settings) -> int:
    certificate, key = deploy.self_signed_certificate(args.directory, args.host)
    print(f"certificat : {certificate}\nclé : {key}")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("check", help="vérifier les réglages et l'environnement avant la production").set_defaults(
        run=check_command)
    commands.add_parser("daily", help="purges quotidiennes (le minuteur systemd gusp-daily la lance)").set_defaults(
        run=daily_command)

    deploy_commands = commands.add_parser("deploy", help="fichiers de production (nginx, systemd)").add_subparsers(
        dest="action", required=True)
    render = deploy_commands.add_parser("render", help="écrire le site nginx et les unités systemd")
    render.add_argument("--root", type=Path, default=Path("/"), help="racine où écrire etc/… (/ sur le serveur)")
    render.add_argument("--server-name", required=True, help="nom du site, ex. signalements.aixenprovence.fr")
    render.add_argument("--certificate", type=Path, default=Path("/etc/gusp/tls/gusp.crt"))
    render.add_argument("--certificate-key", type=Path, default=Path("/etc/gusp/tls/gusp.key"))
    render.add_argument("--backend", action="append", help="adresse:port d'un processus gusp serve ; à répéter")
    render.add_argument("--http-port", type=int, default=80)
    render.add_argument("--https-port", type=int, default=443)
    render.add_argument("--user", default="gusp")
    render.add_argument("--app-dir", type=Path, default=Path("/opt/gusp"))
    render.add_argument("--env-file", type=Path, default=Path("/etc/gusp/gusp.env"))
    render.add_argument("--app-port", type=int, default=8000)
    render.set_defaults(run=render_command)
    certificate = deploy_commands.add_parser("certificate", help="certificat autosigné, s'il n'y en a pas déjà un")
    certificate.add_argument("--directory", type=Path, default=Path("/etc/gusp/tls"))
    certificate.add_argument("--host", required=True)
    certificate.set_defaults(run=certificate_command)
