"""Local photo storage: atomic writes in sharded directories, a full or read-only disk as clear errors."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gusp import errors, storage
from gusp.config import Settings
from gusp.storage.local import LocalStorage
from tests import filesystems


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() + ".jpg"


def files_under(root: Path) -> list[Path]:
    """Every file below root, hidden temporary files included."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_put_creates_the_file_once_in_its_shard(tmp_path):
    store = LocalStorage(tmp_path / "media")
    data = b"\xff\xd8 a photo \xff\xd9"
    key = key_of(data)

    assert store.put(key, data) is True
    assert store.put(key, data) is False

    assert store.path(key) == tmp_path / "media" / key[:2] / key[2:4] / key
    assert store.path(key).read_bytes() == data
    assert store.exists(key)
    assert files_under(tmp_path / "media") == [Path(key[:2], key[2:4], key)]  # no temporary file left


def test_files_are_readable_by_a_front_web_server(tmp_path):
    store = LocalStorage(tmp_path)
    key = key_of(b"x")
    store.put(key, b"x")

    assert stat.S_IMODE(store.path(key).stat().st_mode) == 0o644


def test_a_failed_write_leaves_no_file_and_no_temporary_file(tmp_path):
    store = LocalStorage(tmp_path)
    key = key_of(b"x")

    with pytest.raises(TypeError):
        store.put(key, "not bytes")  # type: ignore[arg-type]

    assert not store.exists(key)
    assert files_under(tmp_path) == []


def test_concurrent_writers_of_one_key_are_told_that_exactly_one_created_it(tmp_path):
    data = bytes(range(256)) * 4096
    key = key_of(data)
    for attempt in range(5):
        store = LocalStorage(tmp_path / str(attempt))
        start = threading.Barrier(8)
        created: list[bool] = []

        def write() -> None:
            start.wait()
            created.append(store.put(key, data))

        threads = [threading.Thread(target=write) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(created) == [False] * 7 + [True]
        assert store.path(key).read_bytes() == data
        assert files_under(store.root) == [Path(key[:2], key[2:4], key)]


def test_delete_removes_the_file_and_the_shard_directories_it_emptied(tmp_path):
    store = LocalStorage(tmp_path)
    first, neighbour = "abcd" + "0" * 60 + ".jpg", "abcd" + "1" * 60 + ".jpg"  # same shard
    store.put(first, b"1")
    store.put(neighbour, b"2")

    store.delete(first)
    assert not store.exists(first) and store.exists(neighbour)

    store.delete(neighbour)
    assert not (tmp_path / "ab").exists()
    assert tmp_path.is_dir()  # the root itself stays

    store.delete(neighbour)  # already gone: not an error
    assert store.put(first, b"1") is True  # and the shard can be made again


def test_from_settings_stores_under_the_media_directory(tmp_path):
    store = storage.from_settings(Settings(media_dir=tmp_path / "var" / "media"))
    key = key_of(b"y")

    store.put(key, b"y")

    assert (tmp_path / "var" / "media" / key[:2] / key[2:4] / key).read_bytes() == b"y"


def test_from_settings_reads_a_file_url(tmp_path):
    store = storage.from_settings(Settings(media_url=f"file://{tmp_path / 'photos'}"))
    store.put(key_of(b"z"), b"z")

    assert (tmp_path / "photos").rglob(key_of(b"z"))


def test_listing_shows_stored_files_only(tmp_path):
    store = LocalStorage(tmp_path)
    key = key_of(b"x")
    store.put(key, b"x")
    (tmp_path / "notes.txt").write_text("not a photo")
    (store.path(key).parent / ("b" * 64 + ".jpg")).write_bytes(b"in the wrong shard")
    (store.path(key).parent / ".abc.tmp").write_bytes(b"a write under way")

    assert [o.key for o in store.list()] == [key]


def test_discard_incomplete_removes_old_temporary_files_only(tmp_path):
    store = LocalStorage(tmp_path)
    key = key_of(b"x")
    store.put(key, b"x")
    old, recent = store.path(key).parent / ".old.tmp", store.path(key).parent / ".recent.tmp"
    old.write_bytes(b"crashed long ago")
    recent.write_bytes(b"being written")
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(old, (an_hour_ago, an_hour_ago))

    assert store.discard_incomplete(datetime.now(UTC) - timedelta(minutes=10)) == 1

    assert not old.exists() and recent.exists() and store.exists(key)


def test_a_full_disk_is_stockage_plein_and_leaves_no_partial_file(tmp_path):
    with filesystems.tmpfs(tmp_path / "media", size_kb=64) as root:
        store = LocalStorage(root)
        first = os.urandom(20_000)
        store.put(key_of(first), first)
        filesystems.fill(root)
        big = os.urandom(60_000)

        with pytest.raises(errors.InsufficientStorage) as full:
            store.put(key_of(big), big)

        assert (full.value.status, full.value.code) == (507, "stockage_plein")
        assert "rien n'a été enregistré" in full.value.message
        assert full.value.headers()["Retry-After"].isdigit()
        assert not store.exists(key_of(big))
        assert [p.name for p in root.rglob(".*.tmp")] == []
        assert store.open(key_of(first)).read() == first


def test_a_read_only_store_is_stockage_indisponible(tmp_path):
    with filesystems.tmpfs(tmp_path / "media", size_kb=64, read_only=True) as root:
        with pytest.raises(errors.ServiceUnavailable) as refused:
            LocalStorage(root).put(key_of(b"x"), b"x")

    assert (refused.value.status, refused.value.code) == (503, "stockage_indisponible")
