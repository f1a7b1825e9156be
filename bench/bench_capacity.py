"""What one instance can take, and what a year of reports costs in disk: the capacity note of the README.

Starts `gusp serve` on a scratch database and media directory, posts reports without photo and with
one 12 MP phone photo, for a fixed time each, then measures what they left behind: bytes of photo
files per photo (display + thumbnail and any other rendition kept; files are content-addressed, so
the same photo sent again is stored once: the bytes are those of one photo's files), bytes of database per report (every table and index, events and outbox included,
measured as the growth of the database), and the sustained intake rate. It then projects a year for
the volumes given on the command line (reports per 1,000 inhabitants per year, photos per report,
peak day as a multiple of the average day).

Run: .venv/bin/python bench/bench_capacity.py [--seconds 20] [--clients 4]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench_api import free_port, phone_photo, run_load, wait_until_up
from bench_photos import make_photo
from gusp import db, migrate
from gusp.config import Settings

ROOT = Path(__file__).resolve().parent.parent
# (who, inhabitants): Aix-en-Provence (Insee 2021: 147,478) and the Aix-Marseille-Provence Métropole
# (Insee 2021: 1,922,000), the two cases of issue 15.
PLACES = [("Aix-en-Provence", 147_478), ("Métropole Aix-Marseille-Provence", 1_922_000)]


def database_bytes(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()


def media_bytes(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--per-thousand", type=float, default=100,
                        help="reports per 1,000 inhabitants per year (default 100)")
    parser.add_argument("--photos-per-report", type=float, default=1.2)
    parser.add_argument("--peak", type=float, default=5, help="peak day / average day")
    args = parser.parse_args()

    base = Settings()
    url = common.scratch_url(base.database_url)
    media = Path(tempfile.mkdtemp(prefix="gusp-bench-capacity-"))
    settings = base.model_copy(update={"database_url": url, "media_dir": media})
    migrate.upgrade(settings=settings)
    engine = db.make_engine(url)
    env = {**os.environ, "GUSP_DATABASE_URL": url, "GUSP_MEDIA_DIR": str(media),
           "GUSP_INTAKE_PER_IP_PER_HOUR": "1000000", "GUSP_ENV": "development"}
    gusp = [sys.executable, "-m", "gusp.cli"]
    subprocess.run([*gusp, "perimeters", "load", str(ROOT / "data/qpv_perimetres.geojson")], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen([*gusp, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    photo_path = media.parent / f"{media.name}-input.jpg"
    try:
        wait_until_up(base_url)
        # Two generated photos with fine detail everywhere (sensor noise; bench_photos' shapes and
        # noise): they compress worse than most street scenes, so the larger one is projected.
        photo = phone_photo()
        db_before = database_bytes(engine)
        plain, plain_latencies = run_load(base_url, seconds=args.seconds, clients=args.clients, photo=None)
        db_plain = database_bytes(engine)
        with_photo, _ = run_load(base_url, seconds=args.seconds, clients=args.clients, photo=photo)
        db_after = database_bytes(engine)
        files_bytes, files = media_bytes(media)
        make_photo(photo_path)
        httpx.post(f"{base_url}/api/v1/reports", timeout=60, files=[("photos", ("p.jpg", photo_path.read_bytes(), "image/jpeg"))],
                   data={"category": "proprete", "lat": "43.5259", "lon": "5.4298"}).raise_for_status()
        smooth_bytes = media_bytes(media)[0] - files_bytes
    finally:
        server.terminate()
        server.wait(timeout=10)
        engine.dispose()
        db.drop_database(url)
        photo_path.unlink(missing_ok=True)

    per_report_db = (db_plain - db_before) / max(plain, 1)
    per_photo_report_db = (db_after - db_plain) / max(with_photo, 1)
    per_photo_files = max(files_bytes, smooth_bytes)  # one distinct photo of each kind was sent
    plain_rate = plain / args.seconds
    photo_rate = with_photo / args.seconds
    print(f"Machine: {common.machine()}")
    print(f"Server: one uvicorn process; {args.clients} client threads, {args.seconds:.0f} s per run")
    print(f"Photo sent: 4000x3000 JPEG, {len(photo) / 1e6:.1f} MB; disk projected with the larger photo\n")
    print("| measured | value |")
    print("|---|---:|")
    print(f"| reports/s without photo | {plain_rate:.1f} |")
    print(f"| reports/s with one 12 MP photo | {photo_rate:.1f} |")
    print(f"| photo files kept per photo, bench_api's noise photo ({files} files) | {per_photo_files / 1024:.0f} KiB |")
    print(f"| photo files kept per photo, bench_photos' photo | {smooth_bytes / 1024:.0f} KiB |")
    print(f"| database per report without photo | {per_report_db / 1024:.1f} KiB |")
    print(f"| database per report with one photo | {per_photo_report_db / 1024:.1f} KiB |")
    print()
    print(f"Projection: {args.per_thousand:g} reports per 1,000 inhabitants a year, "
          f"{args.photos_per_report:g} photos per report, peak day = {args.peak:g} × the average day\n")
    print("| place | inhabitants | reports/year | peak day | peak day / one instance's day with photos "
          "| photos/day (peak) | photo disk/year | database/year |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, inhabitants in PLACES:
        per_year = inhabitants * args.per_thousand / 1000
        peak_day = per_year / 365 * args.peak
        capacity_day = photo_rate * 86_400
        photos_year = per_year * args.photos_per_report
        disk_year = photos_year * per_photo_files
        database_year = per_year * per_photo_report_db
        print(f"| {name} | {inhabitants:,} | {per_year:,.0f} | {peak_day:,.0f} | {peak_day / capacity_day:.2%} "
              f"| {peak_day * args.photos_per_report:,.0f} | {disk_year / 2**30:.1f} GiB "
              f"| {database_year / 2**30:.2f} GiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
