"""Photo files in an S3-compatible object store (`GUSP_MEDIA_URL=s3://bucket/prefix`).

Objects are named `<prefix>/<key>`, flat: object stores need no sharding. The client is minio-py,
a small pure-Python S3 client that speaks to any S3-compatible endpoint (AWS, Scaleway, OVH,
Garage, SeaweedFS, MinIO…) with path-style addressing; GUSP needs six calls, not boto3's 100 MB.
The object store stays private: the app streams photos to browsers (see gusp.api.media).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from gusp import errors, storage
from gusp.config import Settings

_MISSING = frozenset({"NoSuchKey", "NotFound"})
_FULL = frozenset({"QuotaExceeded", "XMinioStorageFull", "InsufficientStorage", "StorageFull"})
_AWS = "https://s3.amazonaws.com"


class S3Storage:
    def __init__(self, client: Minio, *, bucket: str, prefix: str = "", endpoint: str = _AWS):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint

    @classmethod
    def from_settings(cls, settings: Settings, *, bucket: str, prefix: str) -> S3Storage:
        endpoint = settings.s3_endpoint_url or _AWS
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ValueError(f"GUSP_S3_ENDPOINT_URL doit être de la forme https://hote[:port], pas « {endpoint} ».")
        timeout = urllib3.Timeout(connect=settings.s3_timeout_s, read=settings.s3_timeout_s)
        retries = urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504])
        # The system's certificate store: where a city's IT puts the authority of an internal object store.
        http = urllib3.PoolManager(timeout=timeout, retries=retries, maxsize=16, cert_reqs="CERT_REQUIRED")
        client = Minio(parts.netloc, access_key=settings.s3_access_key or None,
                       secret_key=settings.s3_secret_key or None, secure=parts.scheme == "https",
                       region=settings.s3_region or None, http_client=http)
        return cls(client, bucket=bucket, prefix=prefix, endpoint=endpoint)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} ({self.endpoint})"

    def exists(self, key: str) -> bool:
        name = self._name(key)
        with self._failures():
            try:
                self.client.stat_object(bucket_name=self.bucket, object_name=name)
            except S3Error as error:
                if error.code in _MISSING:
                    return False
                raise
        return True

    def put(self, key: str, data: bytes) -> bool:
        """Upload unless present. Two concurrent writers of a new key may both say True (same bytes)."""
        if self.exists(key):
            return False
        with self._failures():
            self.client.put_object(bucket_name=self.bucket, object_name=self._name(key), data=io.BytesIO(data),
                                   length=len(data), content_type="image/jpeg")
        return True

    def open(self, key: str) -> storage.Stream:
        name = self._name(key)
        with self._failures():
            try:
                response = self.client.get_object(bucket_name=self.bucket, object_name=name)
            except S3Error as error:
                if error.code in _MISSING:
                    raise errors.NotFound("photo_introuvable", "Photo introuvable.") from None
                raise

        def close() -> None:
            response.close()
            response.release_conn()

        size = int(response.headers.get("Content-Length", 0))
        return storage.Stream(size, response.stream(storage.CHUNK), close)

    def delete(self, key: str) -> None:
        with self._failures():
            self.client.remove_object(bucket_name=self.bucket, object_name=self._name(key))

    def list(self) -> Iterator[storage.StoredObject]:
        start = f"{self.prefix}/" if self.prefix else ""
        with self._failures():
            for item in self.client.list_objects(bucket_name=self.bucket, prefix=start or None, recursive=True):
                key = (item.object_name or "")[len(start):]
                if storage.is_key(key) and item.last_modified is not None:
                    yield storage.StoredObject(key, item.size or 0, item.last_modified)

    def discard_incomplete(self, before: datetime) -> int:
        """Nothing to do: photos are uploaded in one request (far under the 5 MiB multipart threshold)."""
        return 0

    def _name(self, key: str) -> str:
        key = storage.check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _failures(self) -> Iterator[None]:
        """The store's refusals and silences as domain errors: full, or out of reach (retryable 5xx)."""
        try:
            yield
        except S3Error as error:
            if error.code in _FULL:
                raise storage.full(self.describe()) from error
            raise storage.unavailable(self.describe(), f"{error.code}: {error.message}") from error
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as error:
            raise storage.unavailable(self.describe(), error) from error
