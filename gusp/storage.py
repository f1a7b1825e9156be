"""Where photo files live: a small interface, the local disk behind it today, object storage later.

Files are content-addressed ("<sha256>.jpg", see gusp.photos.pipeline): a key names one content for
ever, so writing a key that exists is a no-op and two reports may share a file.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from gusp import errors
from gusp.config import Settings

_KEY = re.compile(r"[0-9a-f]{64}\.jpg")  # with fullmatch: no "..", "/", other suffix or trailing newline
_FILE_MODE = 0o644  # mkstemp creates 0600; a front web server may serve these files directly


class PhotoStorage(Protocol):
    def put(self, key: str, data: bytes) -> bool:
        """Store data under key; True if this call created the file, False if it existed already."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def path(self, key: str) -> Path:
        """The local file to serve."""
        ...


class LocalStorage:
    """Files under root, sharded as root/ab/cd/<key> so that no directory grows huge."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file of a valid key; any other key is "not found", since keys come from URLs."""
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise errors.NotFound("photo_introuvable", "Photo introuvable.")
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, data: bytes) -> bool:
        """Write atomically: a temporary file in the target directory, fsynced, then linked into place.

        A hard link, unlike os.replace, fails when the name exists, so exactly one of two
        concurrent writers of a key is told it created the file (intake deletes what it created
        when its transaction fails). A reader never sees a half-written file.
        """
        target = self.path(key)
        if target.exists():
            return False
        new_directories = [d for d in (target.parent.parent, target.parent) if not d.is_dir()]
        temporary = self._temporary_file(target.parent)
        try:
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, _FILE_MODE)
            created = _link_into_place(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        if created:  # the new entry, and those of shard directories made for it, must survive a crash
            for directory in [target.parent, *(d.parent for d in new_directories)]:
                _fsync_directory(directory)
        return created

    def delete(self, key: str) -> None:
        """Remove the file, then its shard directories if that left them empty (best effort)."""
        target = self.path(key)
        target.unlink(missing_ok=True)
        for directory in (target.parent, target.parent.parent):
            try:
                directory.rmdir()
            except OSError:  # not empty, already gone, or a concurrent put is filling it
                return

    def _temporary_file(self, directory: Path) -> Path:
        """An empty, uniquely named file in directory, created with the directory if need be."""
        for _ in range(3):  # delete() may remove an empty shard directory between mkdir and mkstemp
            directory.mkdir(parents=True, exist_ok=True)
            try:
                fd, name = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=directory)
            except FileNotFoundError:
                continue
            os.close(fd)
            return Path(name)
        raise FileNotFoundError(errno.ENOENT, "The shard directory keeps disappearing", str(directory))


def from_settings(settings: Settings) -> PhotoStorage:
    """The storage the settings describe: the local media directory for now."""
    return LocalStorage(settings.media_dir)


def _link_into_place(temporary: Path, target: Path) -> bool:
    """Give the written file its name; False if another writer got there first (same key, same bytes)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
        # a file system without hard links: replacing an existing file is harmless (same bytes)
        os.replace(temporary, target)
    return True


def _fsync_directory(directory: Path) -> None:
    """Make a directory entry durable, so a crash cannot lose a file that a committed row points to."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
