"""The manifest of a backup directory: what it holds, with sizes and SHA-256, and how to check it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gusp import errors

FORMAT = "gusp-backup/1"
NAME = "manifest.json"
DUMP = "database.dump"
MEDIA = "media"
_CHUNK = 1024 * 1024


@dataclass
class MediaFile:
    key: str
    bytes: int
    sha256: str


@dataclass
class Manifest:
    created_at: str
    gusp_version: str
    alembic_revision: str | None
    server_version: str
    pg_dump: str
    database_bytes: int
    database_sha256: str
    tables: dict[str, int]
    media_source: str
    media: list[MediaFile] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # named by a row, absent or damaged in the store
    format: str = FORMAT

    @property
    def media_bytes(self) -> int:
        return sum(f.bytes for f in self.media)


def media_path(directory: Path, key: str) -> Path:
    return directory / MEDIA / key[:2] / key[2:4] / key


def sha256_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def write(directory: Path, manifest: Manifest) -> None:
    """Written last and atomically: its presence says the backup is complete."""
    temporary = directory / f".{NAME}.tmp"
    temporary.write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=1))
    with open(temporary, "rb") as file:
        os.fsync(file.fileno())
    temporary.replace(directory / NAME)


def read(directory: Path) -> Manifest:
    path = directory / NAME
    if not path.is_file():
        raise errors.NotFound("sauvegarde_introuvable",
                              f"{directory} n'est pas une sauvegarde complète de GUSP ({NAME} manque).")
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}")
        data["media"] = [MediaFile(**f) for f in data["media"]]
        return Manifest(**data)
    except (ValueError, TypeError, KeyError) as error:
        raise errors.Unprocessable("sauvegarde_invalide", f"{path} est illisible ou d'un autre format : {error}.") \
            from error


def problems(directory: Path, manifest: Manifest) -> list[str]:
    """Every file of the backup that is missing or differs from its checksum (nothing means: intact)."""
    found = []
    dump = directory / DUMP
    if not dump.is_file() or sha256_file(dump) != (manifest.database_bytes, manifest.database_sha256):
        found.append(DUMP)
    for item in manifest.media:
        path = media_path(directory, item.key)
        if not path.is_file() or sha256_file(path) != (item.bytes, item.sha256) \
                or item.sha256 != item.key.removesuffix(".jpg"):
            found.append(str(path.relative_to(directory)))
    return found
