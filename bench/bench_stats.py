"""Statistics on a million reports: each endpoint beside a bare GROUP BY over the same table.

Creates a scratch database, migrates it, loads the perimeters, generates N reports with
`gusp.demo_bulk` (VACUUM ANALYZE after, as `gusp demo --size` does), then times, over the
default period (the last twelve months), each statistics function called directly and each
endpoint through HTTP (one `gusp serve` process, a coordinator's API token), beside
`SELECT quartier_id, category_code, count(*) FROM reports GROUP BY 1, 2`. Prints a Markdown
table with the machine, then drops the database.
Run: .venv/bin/python bench/bench_stats.py [--size 1000000] [--runs 5]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from gusp import credentials, db, demo_bulk, migrate, stats, stats_delays, stats_places, stats_rates
from gusp.config import Settings
from gusp.geo import perimeters
from gusp.models import User

ROOT = Path(__file__).resolve().parent.parent
# `gusp serve`, with the statistics router included if create_app does not include it yet.
SERVE = """
import sys, uvicorn
from gusp.api import main, stats
app = main.create_app()
if not any(getattr(r, "path", "") == "/api/v1/stats/volumes" for r in app.routes):
    app.include_router(stats.router)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
BARE = "SELECT quartier_id, category_code, count(*) FROM reports GROUP BY 1, 2"


def timed(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """Median and minimum in ms, after one warm-up run."""
    work()
    laps = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        laps.append((time.perf_counter() - start) * 1000)
    return statistics.median(laps), min(laps)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    base = Settings()
    url = common.scratch_url(base.database_url)
    settings = base.model_copy(update={"database_url": url})
    migrate.upgrade(settings=settings)
    server = None
    try:
        with db.command_session(url) as session:
            perimeters.load(session=session, path=settings.perimeters_file)
        start = time.perf_counter()
        with db.command_session(url) as session:
            result = demo_bulk.generate(session=session, settings=settings, size=args.size)
        demo_bulk.vacuum_analyze(settings=settings)
        generation = time.perf_counter() - start
        with db.command_session(url) as session:
            user = User(email="bench@gusp.example", full_name="Banc d'essai", role="coordinateur",
                        password_hash="!", active=True)
            session.add(user)
            session.flush()
            token, _ = credentials.create_api_token(session=session, user=user, name="bench")
            versions = session.execute(text("SELECT version(), postgis_lib_version()")).one()

        engine = db.make_engine(url)
        maker = db.make_sessionmaker(engine)
        tz = ZoneInfo(settings.timezone)

        def service(call: Callable[..., object], **kwargs: object) -> Callable[[], object]:
            def work() -> object:
                with maker() as session:
                    who = session.get(User, user.id)
                    now = session.scalar(text("SELECT now()"))
                    scope = stats.Scope(period=stats.default_period(now.astimezone(tz).date()))
                    return call(session=session, user=who, scope=scope, tz=tz, now=now, **kwargs)
            return work

        def bare() -> object:
            with maker() as session:
                return session.execute(text(BARE)).all()

        with maker() as session:
            total = session.scalar(text("SELECT count(*) FROM reports"))
            now = session.scalar(text("SELECT now()"))
            period = stats.default_period(now.astimezone(tz).date())
            start_at, end_at = period.bounds(tz)
            in_period = session.scalar(text("SELECT count(*) FROM reports WHERE created_at >= :a AND created_at < :b"),
                                       {"a": start_at, "b": end_at})

        port = 8765
        env = {**os.environ, "GUSP_DATABASE_URL": url}
        server = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                              headers={"Authorization": f"Bearer {token}"})
        for _ in range(100):
            try:
                client.get("/api/v1/categories")
                break
            except httpx.TransportError:
                time.sleep(0.2)

        def http(path: str) -> Callable[[], object]:
            def work() -> object:
                response = client.get(path)
                response.raise_for_status()
                return response.content
            return work

        cases = [
            ("bare `GROUP BY quartier_id, category_code` (whole table)", bare, None),
            ("volumes (quartier × catégorie × statut × mois)", service(stats.volumes), "/api/v1/stats/volumes"),
            ("volumes, with `compare=previous_year`", None, "/api/v1/stats/volumes?compare=previous_year"),
            ("rates (per 1,000 inhabitants, share resolved)", service(stats_rates.rates), "/api/v1/stats/rates"),
            ("delays by partner (median, p90, mean)", service(stats_delays.delays), "/api/v1/stats/delays"),
            ("delays by partner × category", service(stats_delays.delays, group_by=("partner", "category")),
             "/api/v1/stats/delays?group_by=partner,category"),
            ("backlog by age (snapshot)", service(stats_delays.backlog), "/api/v1/stats/backlog"),
            ("overdue against deadlines", service(stats_delays.deadlines), "/api/v1/stats/overdue"),
            ("hotspots (DBSCAN 50 m, 3 reports)", service(stats_places.hotspots), "/api/v1/stats/hotspots"),
        ]
        print(f"Machine: {common.machine()}")
        print(f"Database: {versions[0].split(' on ')[0]}, PostGIS {versions[1]}")
        print(f"Data: {total:,} reports generated in {generation:.0f} s "
              f"({result.seconds:.0f} s for the rows and events, then VACUUM ANALYZE); "
              f"{in_period:,} in the default period {period.start} → {period.end}")
        print(f"Median of {args.runs} runs after a warm-up; service = the Python function on its own session, "
              f"HTTP = `gusp serve` (one process) answering a bearer-token client on loopback.\n")
        print("| query | service median ms | service min ms | HTTP median ms |")
        print("|---|---:|---:|---:|")
        for label, call, path in cases:
            direct = timed(args.runs, call) if call else None
            over_http = timed(args.runs, http(path)) if path else None
            cells = [f"{direct[0]:.0f}" if direct else "—", f"{direct[1]:.0f}" if direct else "—",
                     f"{over_http[0]:.0f}" if over_http else "—"]
            print(f"| {label} | {' | '.join(cells)} |", flush=True)
        client.close()
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        db.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
