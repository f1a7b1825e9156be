"""Issue 10, point 1: PNG bombs sent all at once to a real `gusp serve` process.

A 60-megapixel RGBA PNG is a few hundred kilobytes and 240 MB once decoded; eight of them used
to take the server to 6 GB. Now the decodes share GUSP_DECODE_MEMORY_MB (512 MiB by default):
the server stays under 1 GB of RSS, keeps answering other requests, and a photo that cannot get
its share within GUSP_DECODE_WAIT_S is answered 503 with Retry-After, to be sent again later.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from gusp import db
from gusp.config import Settings
from tests import builders
from tests import builders_photos as build

ROOT = Path(__file__).resolve().parent.parent.parent
UPLOADS = 8
GIB = 1024**3


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = build.png_bomb(7745, 7745)  # 59.98 Mpx, under the 60 Mpx limit
    assert len(data) < 400_000
    return data


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


@contextmanager
def served(settings: Settings, **env: str) -> Iterator[tuple[str, int]]:
    """`gusp serve` in a process of its own, as in production; its URL and process id."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {**os.environ, "GUSP_DATABASE_URL": settings.database_url, "GUSP_MEDIA_DIR": str(settings.media_dir),
                   "GUSP_WEB_WORKERS": "1", **env}  # one process: the one whose memory is measured
    server = subprocess.Popen([sys.executable, "-m", "gusp.cli", "serve", "--port", str(port)], env=environment,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/categories", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "gusp serve did not start"
            time.sleep(0.1)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=20)


def _form(settings: Settings) -> dict[str, str]:
    with db.command_session(settings.database_url) as session:
        return builders.form(session, description="Dépôt sauvage (photo très grande)")


def _upload_all(url: str, form: dict[str, str], bomb: bytes) -> Callable[[], list[httpx.Response]]:
    """Start UPLOADS concurrent reports with the bomb; returns a function that waits for their answers."""
    def send(_: int) -> httpx.Response:
        with httpx.Client(timeout=300) as client:
            return client.post(f"{url}/api/v1/reports", data=form, files={"photos": ("bombe.png", bomb, "image/png")})

    pool = ThreadPoolExecutor(UPLOADS)
    futures = [pool.submit(send, i) for i in range(UPLOADS)]

    def wait() -> list[httpx.Response]:
        pool.shutdown(wait=True)
        return [f.result() for f in futures]

    return wait


def test_eight_concurrent_png_bombs_stay_under_1_gb_and_the_server_keeps_answering(committed_settings, bomb):
    form = _form(committed_settings)
    with served(committed_settings, GUSP_DECODE_MEMORY_MB="512", GUSP_DECODE_WAIT_S="300") as (url, pid):
        baseline = _status_kib(pid, "VmRSS")
        wait = _upload_all(url, form, bomb)
        answered, rss = [], []
        done = threading.Event()
        waiter = threading.Thread(target=lambda: (answered.append(wait()), done.set()))
        waiter.start()
        with httpx.Client(timeout=20) as client:
            while not done.is_set():
                rss.append(_status_kib(pid, "VmRSS"))
                response = client.get(f"{url}/api/v1/categories")
                assert response.status_code == 200 and response.json()["count"] > 0
                time.sleep(0.2)
        waiter.join()
        peak = _status_kib(pid, "VmHWM")

    responses = answered[0]
    assert [r.status_code for r in responses] == [201] * UPLOADS, [r.text for r in responses if r.status_code != 201]
    for response in responses:
        [photo] = response.json()["photos"]
        assert (photo["width"], photo["height"]) == (1937, 1937)  # 4×4 block average: >= 1,728 px (resize.MIN_FILL)
    assert len(rss) >= 5  # the categories were asked for (and answered) all along the uploads
    assert max(rss) - baseline > 200 * 1024**2  # the bombs were really decoded, one at least at a time
    print(f"baseline {baseline / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB, {len(rss)} category requests")
    assert peak < GIB, f"peak RSS {peak / 2**20:.0f} MiB (baseline {baseline / 2**20:.0f} MiB)"


def test_photos_waiting_past_the_deadline_get_503_with_retry_after_and_lose_nothing(committed_settings, bomb):
    form = _form(committed_settings)
    with served(committed_settings, GUSP_DECODE_MEMORY_MB="512", GUSP_DECODE_WAIT_S="0.5") as (url, pid):
        responses = _upload_all(url, form, bomb)()
        refused = [r for r in responses if r.status_code == 503]
        assert refused and len(refused) < UPLOADS, [(r.status_code, r.text[:120]) for r in responses]
        assert {r.status_code for r in responses} == {201, 503}
        for response in refused:
            assert response.headers["Retry-After"] == "10"
            assert response.headers["Content-Type"].startswith("application/json")
            assert response.json() == {
                "code": "photos_en_attente",
                "message": "Le serveur traite beaucoup de photos en ce moment : réessayez dans quelques secondes.",
                "index": 0,  # which photo of the report, as for every photo error
            }
        retried = httpx.post(f"{url}/api/v1/reports", data=form, files={"photos": ("bombe.png", bomb, "image/png")},
                             timeout=300)
        assert retried.status_code == 201
        assert _status_kib(pid, "VmHWM") < GIB
