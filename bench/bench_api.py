"""Reports per second through the HTTP API, with and without a photo.

Starts `gusp serve` (uvicorn, one process) on a scratch database, posts reports from a few
client threads for a fixed time, prints the figures, then drops the database.
Run: .venv/bin/python bench/bench_api.py [--seconds 20] [--clients 4]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image, ImageFilter

from gusp import db, migrate
from gusp.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def phone_photo() -> bytes:
    """A 12-megapixel JPEG with photo-like content (noise, blur), about 3-5 MB."""
    noise = Image.effect_noise((4000, 3000), 60).filter(ImageFilter.GaussianBlur(1.2))
    image = Image.merge("RGB", (noise, noise.rotate(180), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str) -> None:
    """Wait for a `gusp serve` just started to answer."""
    for _ in range(200):
        try:
            httpx.get(f"{url}/api/v1/categories", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("le serveur n'a pas démarré")


def run_load(url: str, *, seconds: float, clients: int, photo: bytes | None) -> tuple[int, list[float]]:
    fields = {"category": "proprete", "description": "Banc d'essai", "lat": "43.5259", "lon": "5.4298"}
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while time.perf_counter() < deadline:
                files = [("photos", ("p.jpg", photo, "image/jpeg"))] if photo else None
                start = time.perf_counter()
                response = client.post("/api/v1/reports", data=fields, files=files)
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    base = Settings()
    url = common.scratch_url(base.database_url)
    media = tempfile.mkdtemp(prefix="gusp-bench-media-")
    settings = base.model_copy(update={"database_url": url, "media_dir": Path(media)})
    migrate.upgrade(settings=settings)
    env = {**os.environ, "GUSP_DATABASE_URL": url, "GUSP_MEDIA_DIR": media, "GUSP_ENV": "development",
           "GUSP_INTAKE_PER_IP_PER_HOUR": "100000000"}  # one client address sends them all
    gusp = [sys.executable, "-m", "gusp.cli"]
    subprocess.run([*gusp, "perimeters", "load", str(ROOT / "data/qpv_perimetres.geojson")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen([*gusp, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url)
        photo = phone_photo()
        print(f"Machine: {common.machine()}")
        print(f"Server: one uvicorn process; {args.clients} client threads for {args.seconds:.0f} s each run")
        print(f"Photo: 4000x3000 JPEG, {len(photo) / 1e6:.1f} MB\n")
        print("| run | reports | reports/s | median ms | p95 ms |")
        print("|---|---:|---:|---:|---:|")
        for label, payload in (("without photo", None), ("with one 12 MP photo", photo)):
            done, latencies = run_load(base_url, seconds=args.seconds, clients=args.clients, photo=payload)
            p95 = statistics.quantiles(latencies, n=20)[18] if len(latencies) >= 20 else max(latencies)
            print(f"| {label} | {done} | {done / args.seconds:.1f} | "
                  f"{statistics.median(latencies) * 1000:.0f} | {p95 * 1000:.0f} |")
    finally:
        server.terminate()
        server.wait(timeout=10)
        db.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
