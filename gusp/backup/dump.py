"""`gusp backup DIR`: the database and the photo files it names, from one snapshot, with a manifest."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sqlalchemy import Connection, text

from gusp import db, errors, storage
from gusp.backup import manifest, postgres
from gusp.config import Settings
from gusp.storage import sweep


def backup(*, settings: Settings, directory: Path) -> manifest.Manifest:
    """Write a backup into directory (new or empty); the manifest lists photos the store had lost."""
    _require_empty(directory)
    store = storage.from_settings(settings)
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as guard, guard.begin():
            sweep.hold_off_sweeps(guard)  # until every file is copied
            with engine.connect() as snapshot:
                snapshot = snapshot.execution_options(isolation_level="REPEATABLE READ")
                with snapshot.begin():
                    result = _dump(snapshot, settings=settings, directory=directory)
                    keys = sorted(sweep.all_referenced(snapshot))
            result.media_source = store.describe()
            for key in keys:
                if (copied := _copy(store, key, directory)) is None:
                    result.missing.append(key)
                else:
                    result.media.append(copied)
    finally:
        engine.dispose()
    manifest.write(directory, result)
    return result


def _require_empty(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise errors.Conflict("sauvegarde_existante",
                              f"{directory} existe et n'est pas vide : choisissez un nouveau répertoire par sauvegarde.")
    directory.mkdir(parents=True, exist_ok=True)


def _dump(connection: Connection, *, settings: Settings, directory: Path) -> manifest.Manifest:
    """pg_dump of the snapshot this connection exports, and the figures of that same snapshot."""
    snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
    target = directory / manifest.DUMP
    pg_dump = postgres.dump(settings.database_url, target=target, snapshot=snapshot,
                            at_least=postgres.server_major(connection))
    size, digest = manifest.sha256_file(target)
    has_revision = connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
    return manifest.Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        gusp_version=metadata.version("gusp"),
        alembic_revision=connection.scalar(text("SELECT version_num FROM alembic_version")) if has_revision else None,
        server_version=connection.scalar(text("SHOW server_version")),
        pg_dump=pg_dump,
        database_bytes=size,
        database_sha256=digest,
        tables=postgres.table_counts(connection),
        media_source="",
    )


def _copy(store: storage.PhotoStorage, key: str, directory: Path) -> manifest.MediaFile | None:
    """Copy one file, checking on the way that its bytes still hash to its name; None if missing or damaged."""
    target = manifest.media_path(directory, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{key}.tmp")
    digest, size = hashlib.sha256(), 0
    try:
        stream = store.open(key)
    except errors.NotFound:
        return None
    with stream, open(temporary, "wb") as file:
        for chunk in stream:
            digest.update(chunk)
            size += len(chunk)
            file.write(chunk)
        file.flush()
        os.fsync(file.fileno())
    if digest.hexdigest() != key.removesuffix(".jpg"):  # damaged in the store: listed with the missing ones
        temporary.unlink()
        return None
    temporary.replace(target)
    return manifest.MediaFile(key=key, bytes=size, sha256=digest.hexdigest())
