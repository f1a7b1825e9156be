"""Photo files on the local disk (the default): root/ab/cd/<key>, written atomically and durably."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from gusp import errors, storage

_FILE_MODE = 0o644  # mkstemp creates 0600; a front web server may serve these files directly
_TEMPORARY = (".", ".tmp")  # prefix and suffix of a file being written


class LocalStorage:
    """Files under root, sharded as root/ab/cd/<key> so that no directory grows huge."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def describe(self) -> str:
        return f"répertoire {self.root}"

    def path(self, key: str) -> Path:
        """The file of a valid key; any other key is "not found", since keys come from URLs."""
        key = storage.check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open(self, key: str) -> storage.Stream:
        path = self.path(key)
        try:
            file = open(path, "rb")  # noqa: SIM115 — closed by the stream
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise errors.NotFound("photo_introuvable", "Photo introuvable.") from None
        except OSError as error:
            raise storage.os_failure(error, str(path)) from error
        size = os.fstat(file.fileno()).st_size
        return storage.Stream(size, iter(lambda: file.read(storage.CHUNK), b""), file.close)

    def put(self, key: str, data: bytes) -> bool:
        """Write atomically: a temporary file in the target directory, fsynced, then linked into place.

        A hard link, unlike os.replace, fails when the name exists, so exactly one of two
        concurrent writers of a key is told it created the file. A reader never sees a half-written
        file; a full disk leaves no partial one (`stockage_plein`).
        """
        target = self.path(key)
        if target.exists():
            return False
        try:
            return self._write(target, data)
        except OSError as error:
            raise storage.os_failure(error, str(target)) from error

    def delete(self, key: str) -> None:
        """Remove the file, then its shard directories if that left them empty (best effort)."""
        target = self.path(key)
        target.unlink(missing_ok=True)
        for directory in (target.parent, target.parent.parent):
            try:
                directory.rmdir()
            except OSError:  # not empty, already gone, or a concurrent put is filling it
                return

    def list(self) -> Iterator[storage.StoredObject]:
        for path in self._files():
            if storage.is_key(path.name) and path.parent.name == path.name[2:4]:
                try:
                    info = path.stat()
                except FileNotFoundError:  # removed meanwhile
                    continue
                yield storage.StoredObject(path.name, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    def discard_incomplete(self, before: datetime) -> int:
        """Remove temporary files that a crashed write left (a finished or failed one removes its own)."""
        removed = 0
        for path in self._files():
            if path.name.startswith(_TEMPORARY[0]) and path.name.endswith(_TEMPORARY[1]):
                try:
                    if datetime.fromtimestamp(path.stat().st_mtime, UTC) < before:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def _files(self) -> Iterator[Path]:
        """The files two shard levels down (root/ab/cd/*), the only place where this store writes."""
        if not self.root.is_dir():
            return
        for first in _subdirectories(self.root):
            for second in _subdirectories(first):
                try:
                    with os.scandir(second) as entries:
                        yield from (Path(e.path) for e in entries if e.is_file(follow_symlinks=False))
                except FileNotFoundError:
                    continue

    def _write(self, target: Path, data: bytes) -> bool:
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

    def _temporary_file(self, directory: Path) -> Path:
        """An empty, uniquely named file in directory, created with the directory if need be."""
        for _ in range(3):  # delete() may remove an empty shard directory between mkdir and mkstemp
            directory.mkdir(parents=True, exist_ok=True)
            try:
                fd, name = tempfile.mkstemp(prefix=_TEMPORARY[0], suffix=_TEMPORARY[1], dir=directory)
            except FileNotFoundError:
                continue
            os.close(fd)
            return Path(name)
        raise FileNotFoundError(errno.ENOENT, "The shard directory keeps disappearing", str(directory))


def _subdirectories(directory: Path) -> Iterator[Path]:
    try:
        with os.scandir(directory) as entries:
            names = [e.path for e in entries if e.is_dir(follow_symlinks=False) and len(e.name) == 2]
    except FileNotFoundError:
        return
    yield from (Path(name) for name in sorted(names))


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
