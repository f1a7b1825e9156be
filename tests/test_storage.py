"""Local photo storage: content-addressed keys, atomic writes, sharded directories, no traversal."""

from __future__ import annotations

import hashlib
import stat
import threading
from pathlib import Path

import pytest

from gusp import errors, storage
from gusp.config import Settings


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() + ".jpg"


def files_under(root: Path) -> list[Path]:
    """Every file below root, hidden temporary files included."""
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_put_creates_the_file_once_in_its_shard(tmp_path):
    store = storage.LocalStorage(tmp_path / "media")
    data = b"\xff\xd8 a photo \xff\xd9"
    key = key_of(data)

    assert store.put(key, data) is True
    assert store.put(key, data) is False

    assert store.path(key) == tmp_path / "media" / key[:2] / key[2:4] / key
    assert store.path(key).read_bytes() == data
    assert store.exists(key)
    assert files_under(tmp_path / "media") == [Path(key[:2], key[2:4], key)]  # no temporary file left


def test_files_are_readable_by_a_front_web_server(tmp_path):
    store = storage.LocalStorage(tmp_path)
    key = key_of(b"x")
    store.put(key, b"x")

    assert stat.S_IMODE(store.path(key).stat().st_mode) == 0o644


def test_a_failed_write_leaves_no_file_and_no_temporary_file(tmp_path):
    store = storage.LocalStorage(tmp_path)
    key = key_of(b"x")

    with pytest.raises(TypeError):
        store.put(key, "not bytes")  # type: ignore[arg-type]

    assert not store.exists(key)
    assert files_under(tmp_path) == []


def test_concurrent_writers_of_one_key_are_told_that_exactly_one_created_it(tmp_path):
    data = bytes(range(256)) * 4096
    key = key_of(data)
    for attempt in range(5):
        store = storage.LocalStorage(tmp_path / str(attempt))
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
    store = storage.LocalStorage(tmp_path)
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


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "../" + "a" * 61 + ".jpg",
        "a" * 64 + ".jpg\n",
        "a" * 64 + ".jpg/..",
        "/" + "a" * 63 + ".jpg",
        "A" * 64 + ".jpg",
        "a" * 64 + ".JPG",
        "a" * 63 + ".jpg",
        "a" * 64 + ".png",
        "g" * 64 + ".jpg",
        "",
        None,
    ],
)
def test_keys_other_than_a_sha256_jpeg_are_not_found(tmp_path, key):
    store = storage.LocalStorage(tmp_path / "media")

    for call in (store.path, store.exists, store.delete, lambda k: store.put(k, b"x")):
        with pytest.raises(errors.NotFound) as refused:
            call(key)
        assert refused.value.code == "photo_introuvable"
        assert refused.value.message == "Photo introuvable."
    assert files_under(tmp_path) == []


def test_from_settings_stores_under_the_media_directory(tmp_path):
    store = storage.from_settings(Settings(media_dir=tmp_path / "var" / "media"))
    key = key_of(b"y")

    store.put(key, b"y")

    assert (tmp_path / "var" / "media" / key[:2] / key[2:4] / key).read_bytes() == b"y"
