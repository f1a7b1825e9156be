"""`gusp media sweep`, `gusp photos purge`, `gusp backup DIR`, `gusp restore DIR`: the photo store and backups."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from gusp import db, retention, storage
from gusp.config import Settings

_MB = 1024 * 1024


def sweep_command(args: argparse.Namespace, settings: Settings) -> int:
    from gusp.storage import sweep

    hours = args.grace_hours if args.grace_hours is not None else settings.media_sweep_grace_hours
    store = storage.from_settings(settings)
    engine = db.make_engine(settings.database_url)
    try:
        result = sweep.sweep(sessionmaker=db.make_sessionmaker(engine), store=store, grace=timedelta(hours=hours),
                             dry_run=args.dry_run)
    finally:
        engine.dispose()
    if result.busy:
        print("Une sauvegarde ou un autre balayage est en cours : rien n'a été fait, relancez plus tard.")
        return 1
    verb = "seraient supprimés" if args.dry_run else "supprimés"
    print(f"Photos ({store.describe()}) : {result.examined} fichiers, dont {result.recent} de moins de {hours:g} h "
          f"laissés de côté et {result.in_use} en cours d'écriture ; {result.deleted} fichiers sans ligne qui les "
          f"nomme {verb} ({result.deleted_bytes / _MB:.1f} Mo) ; {result.incomplete} écritures interrompues effacées.")
    return 0


def backup_command(args: argparse.Namespace, settings: Settings) -> int:
    from gusp.backup import dump

    result = dump.backup(settings=settings, directory=args.directory)
    print(f"Sauvegarde écrite dans {args.directory} : base {result.database_bytes / _MB:.1f} Mo "
          f"({len(result.tables)} tables, {sum(result.tables.values())} lignes), {len(result.media)} photos "
          f"({result.media_bytes / _MB:.1f} Mo) depuis {result.media_source}.")
    if result.missing:
        print(f"Attention : {len(result.missing)} photo(s) nommée(s) par la base manquent ou sont altérées dans le "
              f"stockage (liste dans manifest.json, « missing ») : {', '.join(result.missing[:5])}.", file=sys.stderr)
        return 3
    return 0


def restore_command(args: argparse.Namespace, settings: Settings) -> int:
    from gusp.backup import restore

    result = restore.restore(settings=settings, directory=args.directory, force=args.force)
    print(f"Sauvegarde du {result.manifest.created_at} restaurée dans {settings.database_url_safe} : "
          f"{result.tables} tables, {result.rows} lignes, identiques à la sauvegarde ; {len(result.manifest.media)} "
          f"photos vérifiées ({result.files_written} écrites, {result.files_deleted} en trop supprimées).")
    print("Si cette version de GUSP est plus récente que la sauvegarde, lancez `gusp db upgrade`.")
    return 0


def photos_purge_command(args: argparse.Namespace, settings: Settings) -> int:
    engine = db.make_engine(settings.database_url)
    try:
        result = retention.purge_photos(sessionmaker=db.make_sessionmaker(engine),
                                        storage=storage.from_settings(settings), settings=settings)
    finally:
        engine.dispose()
    print(f"Photos des signalements clos depuis plus de {settings.photo_retention_months} mois effacées : "
          f"{result.photos} ({result.reports} signalements, {result.files} fichiers) ; originaux non floutés "
          f"de plus de {settings.original_retention_days} jours effacés : {result.originals}.")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `media sweep`, `backup` and `restore` on the `gusp` command's subparsers."""
    media = commands.add_parser("media", help="stockage des photos").add_subparsers(dest="action", required=True)
    sweep = media.add_parser("sweep", help="supprimer les fichiers qu'aucune ligne ne nomme (le worker le fait "
                             "chaque jour)")
    sweep.add_argument("--grace-hours", type=float, default=None,
                       help="ne pas toucher aux fichiers plus récents (GUSP_MEDIA_SWEEP_GRACE_HOURS, 24 par défaut)")
    sweep.add_argument("--dry-run", action="store_true", help="compter sans rien supprimer")
    sweep.set_defaults(run=sweep_command)

    photos = commands.add_parser("photos", help="photos des signalements").add_subparsers(dest="action", required=True)
    photos.add_parser("purge", help="effacer celles des signalements clos depuis GUSP_PHOTO_RETENTION_MONTHS "
                      "(le worker le fait chaque jour)").set_defaults(run=photos_purge_command)

    backup = commands.add_parser("backup", help="sauvegarder la base et les photos dans un répertoire neuf")
    backup.add_argument("directory", type=Path)
    backup.set_defaults(run=backup_command)

    restore = commands.add_parser("restore", help="restaurer une sauvegarde dans une base et un stockage vides")
    restore.add_argument("directory", type=Path)
    restore.add_argument("--force", action="store_true",
                         help="remplacer une base et un stockage non vides (la base est supprimée et recréée)")
    restore.set_defaults(run=restore_command)
