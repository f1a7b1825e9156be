"""The `gusp` command: serve, db upgrade, perimeters load, demo; media and backups in cli_media."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gusp import DEFAULT_DATABASE_URL, errors

if TYPE_CHECKING:
    from gusp.config import Settings

# This module's own commands: running one of them imports no other command module (a perimeter
# load starts in a fraction of the time the whole command set takes to import). SQLAlchemy too is
# imported by the commands that use it: a perimeter load runs on psycopg alone, and builds no Settings
# (importing pydantic-settings alone is 0.3 s of CPU, a fifth of the load beside ogr2ogr).
OWN_COMMANDS = frozenset({"serve", "db", "perimeters", "zones", "worker", "contacts", "demo"})


def serve_options(args: argparse.Namespace) -> dict[str, object]:
    """uvicorn's options: X-Forwarded-* are believed only from the proxies named, none by default
    (a local process must not choose the client address that sign-in throttling counts)."""
    options: dict[str, object] = {"host": args.host, "port": args.port, "proxy_headers": False}
    if args.forwarded_allow_ips:
        options.update(proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips)
    return options


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import os
    import tempfile

    import uvicorn

    from gusp.ops import logs

    refusal = settings.public_url_missing()
    if refusal is not None:
        print(f"gusp serve ne démarre pas. {refusal}", file=sys.stderr)
        return 2
    from gusp.ops import health

    assets = health.web_assets(settings.web_vendor_dir)
    if not assets.ok:  # the pages would load without their maps: say it now, not to the first resident
        print(f"gusp serve ne démarre pas. {assets.detail[:1].upper()}{assets.detail[1:]}.", file=sys.stderr)
        return 2
    workers = args.workers or settings.web_workers
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker process counts its own requests; Prometheus reads them summed from this directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gusp-metrics-")
    logs.configure(json_lines=settings.log_format == "json")
    uvicorn.run("gusp.api.main:create_served_app", factory=True, workers=workers, log_config=None,
                server_header=False, **serve_options(args))
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from gusp import migrate

    migrate.upgrade(settings=settings)
    print("Base de données à jour.")
    return 0


def database_url(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """GUSP_DATABASE_URL as Settings reads it (the name in any case), else its default."""
    return next((value for name, value in environ.items() if name.upper() == "GUSP_DATABASE_URL"),
                DEFAULT_DATABASE_URL)


def _perimeters_load(args: argparse.Namespace, settings: Settings | None) -> int:
    from gusp.geo import loading

    url = settings.database_url if settings is not None else database_url()
    result = loading.load_file(url=url, path=args.file, dry_run=args.dry_run)
    if result.dry_run:
        print(f"Simulation (rien n'a été modifié) pour {args.file} : {result.created} à créer, "
              f"{result.updated} à mettre à jour, {result.unchanged} inchangés.")
        for label, codes in (("À créer", result.created_codes), ("À mettre à jour", result.updated_codes)):
            if codes:
                print(f"{label} : {', '.join(codes)}.")
    else:
        print(
            f"Périmètres chargés depuis {args.file} : {result.created} créés, {result.updated} mis à jour, "
            f"{result.unchanged} inchangés."
        )
    if result.repaired:
        print(f"Contours invalides réparés (make_valid) puis chargés : {len(result.repaired)}.")
        for repair in result.repaired:
            print(f"  {repair.code} : {repair.why}")
    if result.kept_geometry:
        print(f"Sans périmètre dans le fichier, périmètre déjà tracé conservé : {', '.join(result.kept_geometry)}.")
    if result.without_geometry:
        print(f"Sans périmètre (attribution manuelle seulement) : {', '.join(result.without_geometry)}.")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from gusp import db
    from gusp import demo, storage
    from gusp.geo import perimeters

    if args.size:
        from gusp import demo_bulk

        result = demo_bulk.command(settings=settings, size=args.size, seed=args.seed,
                                   progress=lambda n: print(f"… {n} signalements", flush=True))
        print(f"Démo : {result.created} signalements et {result.events} événements en {result.seconds:.0f} s.")
        return 0

    with db.command_session(settings.database_url) as session:
        perimeters.load(session=session, path=args.perimeters or settings.perimeters_file)
    with db.command_session(settings.database_url) as session:
        result = demo.run(
            session=session, settings=settings, storage=storage.from_settings(settings),
            count=args.count, seed=args.seed,
        )
    print(f"Démo : {result.created} signalements créés, {result.already_there} déjà présents.")
    return 0


def _zones_load(args: argparse.Namespace, settings: Settings) -> int:
    from gusp import db
    from gusp.geo import zones

    with db.command_session(settings.database_url) as session:
        result = zones.load(session=session, path=args.file)
    print(
        f"Zones de gestion chargées depuis {args.file} : {result.created} créées, {result.updated} mises à jour, "
        f"{result.unchanged} inchangées."
    )
    if result.not_in_file:
        print(f"Zones absentes du fichier, conservées : {', '.join(result.not_in_file)}.")
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    """Send the outbox until SIGTERM or Ctrl-C; queue the overdue digest each morning."""
    import signal
    import threading

    from gusp import db, worker

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    engine = db.make_engine(settings.database_url)
    print(f"Envoi des messages par {settings.smtp_host}:{settings.smtp_port} (Ctrl-C pour arrêter).")
    try:
        worker.run_forever(sessionmaker=db.make_sessionmaker(engine), settings=settings,
                           sender=worker.SmtpSender(settings), stop=stop, poll_s=args.poll)
    finally:
        engine.dispose()
    return 0


def _contacts_purge(args: argparse.Namespace, settings: Settings) -> int:
    from gusp import db
    from gusp import retention

    with db.command_session(settings.database_url) as session:
        deleted = retention.purge_contacts(session=session, settings=settings)
    print(f"Coordonnées de déclarants effacées (conservation de {settings.contact_retention_months} mois échue) : "
          f"{deleted}.")
    return 0


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command; only this module's own when `command` is one of them."""
    root = argparse.ArgumentParser(prog="gusp", description="GUSP : signalements du cadre de vie.")
    commands = root.add_subparsers(dest="command", required=True)
    if command in OWN_COMMANDS:
        cli_media = cli_open311 = cli_users = ops_commands = None
    else:
        from gusp import cli_media, cli_open311, cli_users
        from gusp.ops import commands as ops_commands

    serve = commands.add_parser("serve", help="servir l'application web et l'API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--forwarded-allow-ips", default="",
                       help="adresses des mandataires inverses dont on croit les en-têtes X-Forwarded-*, "
                            "séparées par des virgules (aucun par défaut ; les limites par adresse en dépendent)")
    serve.add_argument("--workers", type=int, default=None,
                       help="processus servant les requêtes (GUSP_WEB_WORKERS, 1 par défaut)")
    serve.set_defaults(run=_serve)

    if ops_commands is not None:
        ops_commands.add_commands(commands)

    database = commands.add_parser("db", help="base de données").add_subparsers(dest="action", required=True)
    database.add_parser("upgrade", help="créer la base si besoin, migrer, charger les catégories").set_defaults(
        run=_db_upgrade
    )

    perimeters = commands.add_parser("perimeters", help="périmètres des quartiers").add_subparsers(
        dest="action", required=True
    )
    load = perimeters.add_parser("load", help="créer ou mettre à jour les quartiers d'un fichier GeoJSON")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true", help="dire ce qui changerait, sans rien modifier")
    load.set_defaults(run=_perimeters_load)

    zones = commands.add_parser("zones", help="zones de gestion (bailleurs, Ville, Métropole)").add_subparsers(
        dest="action", required=True
    )
    zones_load = zones.add_parser("load", help="créer ou mettre à jour les zones d'un fichier GeoJSON")
    zones_load.add_argument("file", type=Path)
    zones_load.set_defaults(run=_zones_load)

    work = commands.add_parser("worker", help="envoyer les e-mails en attente (boîte d'envoi)")
    work.add_argument("--poll", type=float, default=5.0, help="secondes entre deux relèves (5 par défaut)")
    work.set_defaults(run=_worker)

    if cli_users is not None:
        cli_users.add_commands(commands)
    contacts = commands.add_parser("contacts", help="coordonnées des déclarants").add_subparsers(
        dest="action", required=True
    )
    contacts.add_parser("purge", help="effacer celles dont la durée de conservation est échue (le worker le fait "
                        "chaque jour)").set_defaults(run=_contacts_purge)
    if cli_open311 is not None:
        cli_open311.add_commands(commands)
    if cli_media is not None:
        cli_media.add_commands(commands)

    demo = commands.add_parser("demo", help="charger les périmètres et des signalements de démonstration")
    demo.add_argument("--count", type=int, default=300, help="nombre de signalements (300 par défaut)")
    demo.add_argument("--size", type=int, default=None,
                      help="générer N signalements en SQL, sans photos, pour les statistiques (ex. 1000000)")
    demo.add_argument("--seed", type=int, default=2026, help="graine du hasard (même graine : mêmes données)")
    demo.add_argument("--perimeters", type=Path, default=None, help="fichier de périmètres à charger d'abord")
    demo.set_defaults(run=_demo)
    return root


def _settings() -> Settings:
    from gusp.config import Settings

    return Settings()


def _unreachable() -> tuple[type[Exception], ...]:
    """The database drivers' OperationalError, of those the command imported (evaluated only when an
    exception is being matched): SQLAlchemy's, and psycopg's for a perimeter load."""
    return tuple(getattr(sys.modules[name], "OperationalError") for name in ("sqlalchemy.exc", "psycopg")
                 if name in sys.modules)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser(argv[0] if argv else None).parse_args(argv)
    settings = None if args.run is _perimeters_load else _settings()
    try:
        return args.run(args, settings)
    except errors.GuspError as error:
        print(f"Erreur ({error.code}) : {error.message}", file=sys.stderr)
        return 2
    except _unreachable() as error:
        print(
            f"Base de données injoignable ({(settings or _settings()).database_url_safe}) : "
            f"{getattr(error, 'orig', error)}\n"
            "Vérifiez GUSP_DATABASE_URL, puis lancez `gusp db upgrade`.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
