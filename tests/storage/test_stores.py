"""The photo storage interface, against both stores: the local directory and a real SeaweedFS (S3)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from gusp import errors, storage


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest() + ".jpg"


@pytest.fixture
def store(store_settings) -> storage.PhotoStorage:
    return storage.from_settings(store_settings)


def test_a_file_is_written_once_read_listed_and_deleted(store):
    data = b"\xff\xd8" + bytes(range(256)) * 1000 + b"\xff\xd9"  # several read chunks
    key = key_of(data)
    before = datetime.now(UTC) - timedelta(seconds=5)

    assert store.put(key, data) is True
    assert store.put(key, data) is False
    assert store.exists(key)
    stream = store.open(key)
    assert stream.size == len(data)
    chunks = list(stream)
    assert len(chunks) > 1 and b"".join(chunks) == data
    [listed] = list(store.list())
    assert (listed.key, listed.size) == (key, len(data))
    assert before < listed.modified < datetime.now(UTC) + timedelta(seconds=5)

    store.delete(key)
    assert not store.exists(key)
    assert list(store.list()) == []
    store.delete(key)  # already gone: not an error


def test_a_missing_file_is_not_found(store):
    with pytest.raises(errors.NotFound) as missing:
        store.open(key_of(b"never stored"))
    assert missing.value.code == "photo_introuvable"
    assert not store.exists(key_of(b"never stored"))


def test_two_files_are_listed_with_their_sizes(store):
    files = {key_of(d): d for d in (b"premiere photo", b"seconde photo, plus longue")}
    for key, data in files.items():
        store.put(key, data)

    assert sorted((o.key, o.size) for o in store.list()) == sorted((k, len(d)) for k, d in files.items())
    assert store.open(next(iter(files))).read() == next(iter(files.values()))


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
def test_keys_other_than_a_sha256_jpeg_are_not_found(store, key):
    for call in (store.open, store.exists, store.delete, lambda k: store.put(k, b"x")):
        with pytest.raises(errors.NotFound) as refused:
            call(key)
        assert refused.value.code == "photo_introuvable"
        assert refused.value.message == "Photo introuvable."
    assert list(store.list()) == []
