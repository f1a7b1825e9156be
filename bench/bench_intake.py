"""Reports without photo per second, 8 clients at once: GUSP beside a minimal FastAPI + psycopg intake.

Both servers are one uvicorn process on the same scratch database (perimeters loaded); their runs
alternate (GUSP, minimal, GUSP, minimal…) so that a machine that slows down weighs on both.

The clients are 8 residents, as in production behind nginx (deploy/): each sends its own address in
`X-Forwarded-For`, and both servers believe that header from 127.0.0.1 only (`gusp serve
--forwarded-allow-ips 127.0.0.1`, as deploy/systemd runs it; uvicorn's `--proxy-headers
--forwarded-allow-ips 127.0.0.1` for the yardstick), so GUSP's per-address limit counts each resident
apart. They report from about 2,000 places drawn once (fixed seeds): half inside the quartiers, half within
400 m around them (out of every perimeter: the nearest quartier and its distance are computed).
`--same-point` sends every report from one point in Encagnane instead (the figures before
2026-12-04 evening): then every report is a likely duplicate of all the previous ones, and
`--same-address` leaves out X-Forwarded-For (one address for all: the 8 clients queue on its counter).
After each warm-up the database is analysed, as autovacuum does in production within a minute
(it is off on the bench machine): else GUSP's duplicate search keeps plans made for an empty table
and reads every report of the category at each intake. Besides the rates, the CPU per report of
the server process, its PostgreSQL backends and the client threads is printed, from /proc (less
sensitive to a shared machine's load than the rates).
Run: .venv/bin/python bench/bench_intake.py [--seconds 15] [--clients 8] [--rounds 2]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from gusp import db, libpq_url, migrate
from gusp.config import Settings

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"category": "proprete", "description": "Banc d'essai", "accuracy_m": "8"}
# 1,000 places inside the quartiers and 1,000 within 400 m around them, alternating, the same at every run.
PLACES_SQL = """
    WITH town AS (SELECT ST_Union(geom) AS inside FROM quartiers WHERE geom IS NOT NULL),
    drawn AS (
        SELECT 0 AS outside, d.path[1] AS n, d.geom AS p FROM town, ST_Dump(ST_GeneratePoints(inside, 1000, 11)) d
        UNION ALL
        SELECT 1, d.path[1], d.geom FROM town, ST_Dump(ST_GeneratePoints(
            ST_Difference(ST_Buffer(inside::geography, 400)::geometry, inside), 1000, 12)) d
    )
    SELECT ST_Y(p), ST_X(p) FROM drawn ORDER BY n, outside
"""


def load(url: str, *, seconds: float, clients: int, places: list[dict[str, str]], distinct: bool) -> list[float]:
    """Each client posts reports one after the other, from the places in turn (each its own offset)."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(number: int) -> None:
        headers = {"X-Forwarded-For": f"198.51.100.{number + 1}"} if distinct else {}
        turn = itertools.cycle(places[number * len(places) // clients:] + places[:number * len(places) // clients])
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = client.post("/api/v1/reports", data={**FIELDS, **next(turn)})
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 if it is gone), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends(engine) -> dict[int, float]:
    """The PostgreSQL backends serving the scratch database (but this one), with their CPU so far."""
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND pid <> pg_backend_pid()")).scalars().all()
    return {pid: cpu_seconds(pid) for pid in pids}


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def started(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(command, env=env, cwd=Path(__file__).parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError(f"{command} did not start")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--same-point", action="store_true", help="every report from one point in Encagnane")
    parser.add_argument("--same-address", action="store_true", help="no X-Forwarded-For: one client address")
    args = parser.parse_args()

    base = Settings()
    url = common.scratch_url(base.database_url)
    media = tempfile.mkdtemp(prefix="gusp-bench-media-")
    migrate.upgrade(settings=base.model_copy(update={"database_url": url, "media_dir": Path(media)}))
    env = {**os.environ, "GUSP_DATABASE_URL": url, "GUSP_MEDIA_DIR": media, "GUSP_INTAKE_PER_IP_PER_HOUR": "100000000",
           "GUSP_ENV": "development"}
    gusp = [sys.executable, "-m", "gusp.cli"]
    subprocess.run([*gusp, "perimeters", "load", str(ROOT / "data/qpv_perimetres.geojson")], env=env, check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        if args.same_point:
            points = conn.execute(text("SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p"
                                       " FROM quartiers WHERE nom = 'Encagnane') s")).all()
        else:
            points = conn.execute(text(PLACES_SQL)).all()
    places = [{"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"} for lat, lon in points]
    distinct = not args.same_address
    conninfo = libpq_url(url)
    servers = {
        "GUSP `POST /api/v1/reports`": (gusp + ["serve", "--port", str(gusp_port := common.free_port()),
                                                 "--forwarded-allow-ips", "127.0.0.1"], gusp_port),
        "minimal FastAPI + psycopg (2 statements)": (
            [sys.executable, "-m", "uvicorn", "minimal_intake:app", "--port", str(minimal_port := common.free_port()),
             "--log-level", "warning", "--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"],
            minimal_port),
    }
    results: dict[str, list[float]] = {name: [] for name in servers}
    done: dict[str, int] = {name: 0 for name in servers}
    # CPU seconds spent during the measured runs (not the warm-ups): the server process, its database
    # backends, this process's client threads. Less sensitive to a shared machine's load than the rates.
    cpu: dict[str, list[float]] = {name: [0.0, 0.0, 0.0] for name in servers}
    try:
        print(f"Machine: {common.machine()}")
        print(f"Each server: one uvicorn process; {args.clients} client threads, {args.rounds} alternating runs "
              f"of {args.seconds:.0f} s each; {len(places)} place(s); "
              f"{'one client address' if not distinct else 'one address per client (X-Forwarded-For)'}\n")
        for _ in range(args.rounds):
            for name, (command, port) in servers.items():
                server = started(command, {**env, "BENCH_DATABASE_URL": conninfo}, port)
                try:
                    load(f"http://127.0.0.1:{port}", seconds=2, clients=args.clients, places=places,  # warm-up
                         distinct=distinct)
                    with engine.connect() as conn:  # what autovacuum does in production (it is off here)
                        conn.execute(text("ANALYZE"))
                        conn.commit()
                    before = (cpu_seconds(server.pid), backends(engine), client_cpu())
                    latencies = load(f"http://127.0.0.1:{port}", seconds=args.seconds, clients=args.clients,
                                     places=places, distinct=distinct)
                    after = (cpu_seconds(server.pid), backends(engine), client_cpu())
                    cpu[name][0] += after[0] - before[0]
                    cpu[name][1] += sum(spent - before[1].get(pid, 0.0) for pid, spent in after[1].items())
                    cpu[name][2] += after[2] - before[2]
                finally:
                    server.terminate()
                    server.wait(timeout=10)
                results[name] += latencies
                done[name] += len(latencies)
                print(f"- {name}: {len(latencies) / args.seconds:.0f} reports/s, load average "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
        print("| server | reports | reports/s | p50 ms | p95 ms |")
        print("|---|---:|---:|---:|---:|")
        rates = {}
        for name, latencies in results.items():
            rates[name] = done[name] / (args.seconds * args.rounds)
            p95 = statistics.quantiles(latencies, n=20)[18]
            print(f"| {name} | {done[name]} | {rates[name]:.0f} | {statistics.median(latencies) * 1000:.0f} | "
                  f"{p95 * 1000:.0f} |")
        print("\nCPU per report (ms) during the measured runs:\n")
        print("| server | server process | PostgreSQL backends | client threads | total |")
        print("|---|---:|---:|---:|---:|")
        for name, spent in cpu.items():
            per = [seconds * 1000 / max(done[name], 1) for seconds in spent]
            print(f"| {name} | {per[0]:.2f} | {per[1]:.2f} | {per[2]:.2f} | {sum(per):.2f} |")
        gusp_rate, minimal_rate = rates.values()
        print(f"\nGUSP / minimal: {gusp_rate / minimal_rate:.2f}×")
    finally:
        engine.dispose()
        db.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
