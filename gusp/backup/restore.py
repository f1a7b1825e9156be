"""`gusp restore DIR [--force]`: a backup back into the database and photo store of the settings.

Everything is checked before anything is written: the manifest, every checksum, and that the
target database and store are empty (`--force`: the database is dropped and made again, and files
of the store that the backup does not hold are deleted). The database is restored in one
transaction; afterwards every table's row count and every photo are compared with the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from gusp import db, errors, storage
from gusp.backup import manifest, postgres
from gusp.config import Settings


@dataclass(frozen=True)
class Restored:
    manifest: manifest.Manifest
    tables: int
    rows: int
    files_written: int
    files_deleted: int


def restore(*, settings: Settings, directory: Path, force: bool = False) -> Restored:
    backup = manifest.read(directory)
    if damaged := manifest.problems(directory, backup):
        raise errors.Unprocessable(
            "sauvegarde_alteree",
            f"La sauvegarde {directory} est incomplète ou altérée ({len(damaged)} fichier(s), dont "
            f"{', '.join(damaged[:5])}) : rien n'a été restauré.")
    store = storage.from_settings(settings)
    _require_empty_targets(settings, store, force=force)

    if force:
        db.drop_database(settings.database_url)
    db.ensure_database(settings.database_url)
    postgres.restore(settings.database_url, source=directory / manifest.DUMP,
                     at_least=postgres.dump_major(backup.pg_dump))

    kept = {item.key for item in backup.media}
    deleted = 0
    if force:
        for stored in list(store.list()):
            if stored.key not in kept:
                store.delete(stored.key)
                deleted += 1
    written = sum(store.put(item.key, manifest.media_path(directory, item.key).read_bytes()) for item in backup.media)
    counts = _check(settings, store, backup)
    return Restored(manifest=backup, tables=len(counts), rows=sum(counts.values()), files_written=written,
                    files_deleted=deleted)


def _require_empty_targets(settings: Settings, store: storage.PhotoStorage, *, force: bool) -> None:
    if force:
        return
    occupied = []
    if not _database_is_empty(settings.database_url):
        occupied.append(f"la base {make_url(settings.database_url).database} contient déjà des tables")
    if next(iter(store.list()), None) is not None:
        occupied.append(f"le stockage des photos ({store.describe()}) contient déjà des fichiers")
    if occupied:
        raise errors.Conflict("restauration_refusee",
                              f"Restauration refusée : {' et '.join(occupied)}. Restaurez dans une base et un "
                              "stockage vides, ou ajoutez --force pour les remplacer.")


def _database_is_empty(url: str) -> bool:
    if not db.database_exists(url):
        return True
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return postgres.is_empty(connection)
    finally:
        engine.dispose()


def _check(settings: Settings, store: storage.PhotoStorage, backup: manifest.Manifest) -> dict[str, int]:
    """Every table with the rows of the manifest, every photo in the store: or say what differs."""
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            counts = postgres.table_counts(connection)
    finally:
        engine.dispose()
    differing = sorted(name for name in {*counts, *backup.tables} if counts.get(name) != backup.tables.get(name))
    absent = [item.key for item in backup.media if not store.exists(item.key)]
    if differing or absent:
        raise errors.GuspError(
            "restauration_incomplete",
            f"Restauration incomplète : tables différentes de la sauvegarde : {', '.join(differing) or 'aucune'} ; "
            f"photos absentes du stockage : {len(absent)}.")
    return counts
