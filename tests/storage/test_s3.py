"""The S3 store's own behaviour against a real SeaweedFS: settings, refusals, silence, its prefix."""

from __future__ import annotations

import io
import time

import pytest

from gusp import errors, storage
from gusp.config import Settings
from gusp.storage import s3
from tests import seaweed

KEY = "ab" * 32 + ".jpg"


def test_the_media_url_chooses_the_store(s3_settings):
    store = storage.from_settings(s3_settings)

    assert isinstance(store, s3.S3Storage)
    assert store.bucket == seaweed.BUCKET and store.prefix.startswith("t-")
    assert store.describe().startswith(f"s3://{seaweed.BUCKET}/t-")
    assert s3_settings.s3_secret_key not in store.describe()


@pytest.mark.parametrize("url", ["s3://", "ftp://photos/x", "photos"])
def test_a_bad_media_url_is_refused_in_french(url):
    with pytest.raises(ValueError, match="GUSP_MEDIA_URL doit être de la forme"):
        storage.from_settings(Settings(media_url=url))


def test_a_bad_endpoint_is_refused_in_french():
    with pytest.raises(ValueError, match="GUSP_S3_ENDPOINT_URL"):
        storage.from_settings(Settings(media_url="s3://photos", s3_endpoint_url="http://s3.example/path"))


def test_a_wrong_secret_is_stockage_indisponible_and_stores_nothing(s3_server, s3_settings):
    wrong = storage.from_settings(s3_settings.model_copy(update={"s3_secret_key": "pas-le-bon-secret"}))

    with pytest.raises(errors.ServiceUnavailable) as refused:
        wrong.put(KEY, b"x")

    assert (refused.value.status, refused.value.code) == (503, "stockage_indisponible")
    assert not storage.from_settings(s3_settings).exists(KEY)


def test_a_store_out_of_reach_answers_quickly(settings):
    [port] = seaweed._free_ports(1)  # nothing listens there
    silent = storage.from_settings(settings.model_copy(update={
        "media_url": "s3://photos", "s3_endpoint_url": f"http://127.0.0.1:{port}", "s3_timeout_s": 1.0}))
    started = time.monotonic()

    for call in (lambda: silent.put(KEY, b"x"), lambda: silent.open(KEY), lambda: list(silent.list())):
        with pytest.raises(errors.ServiceUnavailable) as refused:
            call()
        assert refused.value.code == "stockage_indisponible"
    assert time.monotonic() - started < 30


def test_the_store_keeps_to_its_prefix_and_to_photo_keys(s3_server, s3_settings):
    store = storage.from_settings(s3_settings)
    neighbour = storage.from_settings(s3_server.settings(s3_settings))
    client = s3_server.client()
    client.put_object(bucket_name=seaweed.BUCKET, object_name=f"{store.prefix}/notes.txt", data=io.BytesIO(b"n"),
                      length=1)
    store.put(KEY, b"mine")
    neighbour.put("cd" * 32 + ".jpg", b"theirs")

    assert [o.key for o in store.list()] == [KEY]
    assert client.stat_object(bucket_name=seaweed.BUCKET, object_name=f"{store.prefix}/{KEY}").size == 4
