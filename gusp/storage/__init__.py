"""Where photo files live: a small interface, with the local disk (`local`) or an S3-compatible
object store (`s3`) behind it, chosen by `GUSP_MEDIA_URL`.

Files are content-addressed ("<sha256>.jpg", see gusp.photos.pipeline): a key names one content for
ever, so writing a key that exists is a no-op and two reports may share a file. Nothing here knows
who may see a file: the routes decide whether a key may be served, the storage only how its bytes
are read. Files no row names are removed by `sweep`, never by a failing request.
"""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from gusp import errors
from gusp.config import Settings

log = logging.getLogger(__name__)

_KEY = re.compile(r"[0-9a-f]{64}\.jpg")  # with fullmatch: no "..", "/", other suffix or trailing newline
CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredObject:
    """One stored file as listed: its key, its size in bytes, when it was written (UTC)."""

    key: str
    size: int
    modified: datetime


class Stream:
    """The bytes of one stored file, read chunk by chunk; iterating to the end, `read()` or `close()` frees it."""

    def __init__(self, size: int, chunks: Iterator[bytes], close: Callable[[], None]):
        self.size = size
        self._chunks = chunks
        self._close = close
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def read(self) -> bytes:
        return b"".join(self)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PhotoStorage(Protocol):
    def put(self, key: str, data: bytes) -> bool:
        """Store data under key; True if this call created the file, False if it existed already."""
        ...

    def open(self, key: str) -> Stream:
        """The file's bytes; `NotFound` (photo_introuvable) if there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error. Only the sweep and a forced restore delete."""
        ...

    def list(self) -> Iterator[StoredObject]:
        """Every stored file, in no particular order (the sweep and backups walk it)."""
        ...

    def discard_incomplete(self, before: datetime) -> int:
        """Remove what writes interrupted before `before` left behind; how many pieces."""
        ...

    def describe(self) -> str:
        """Where the files are, for messages (no secret)."""
        ...


def check_key(key: object) -> str:
    """A valid key, or "not found": keys come from URLs and must never name anything else."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise errors.NotFound("photo_introuvable", "Photo introuvable.")
    return key


def is_key(name: str) -> bool:
    return _KEY.fullmatch(name) is not None


def from_settings(settings: Settings) -> PhotoStorage:
    """The store `GUSP_MEDIA_URL` names (`s3://bucket/prefix`), else the local `GUSP_MEDIA_DIR`."""
    from gusp.storage import local

    url = settings.media_url.strip()
    if not url:
        return local.LocalStorage(settings.media_dir)
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path:
        return local.LocalStorage(parts.path)
    if parts.scheme == "s3" and parts.netloc:
        from gusp.storage import s3

        return s3.S3Storage.from_settings(settings, bucket=parts.netloc, prefix=parts.path.strip("/"))
    raise ValueError(f"GUSP_MEDIA_URL doit être de la forme s3://seau/prefixe ou file:///chemin, pas « {url} ».")


# What a failing store means for the person who sent a photo: the disk is full, or the store is
# out of reach. Both are retryable (5xx): the phone keeps the report and sends it again later.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_UNAVAILABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.ESTALE, errno.ENOTCONN})


def full(where: str) -> errors.InsufficientStorage:
    log.error("photo storage full: %s", where)
    return errors.InsufficientStorage(
        "stockage_plein",
        "Le stockage des photos est plein : rien n'a été enregistré. Le service est prévenu ; réessayez plus tard.",
        retry_after=600,
    )


def unavailable(where: str, cause: object) -> errors.ServiceUnavailable:
    log.error("photo storage unavailable: %s: %s", where, cause)
    return errors.ServiceUnavailable(
        "stockage_indisponible",
        "Le stockage des photos est momentanément indisponible : rien n'a été enregistré. "
        "Réessayez dans quelques minutes.",
        retry_after=60,
    )


def os_failure(error: OSError, where: str) -> errors.GuspError | OSError:
    """The domain error for a file system failure, or the error itself when it is none of ours to name."""
    if error.errno in _FULL:
        return full(where)
    if error.errno in _UNAVAILABLE:
        return unavailable(where, error)
    return error
