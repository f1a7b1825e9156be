"""Load a synthetic national perimeter file (ANCT QP2024 format) beside ogr2ogr, twice, then time attribution.

    bash bench/setup.sh                      # ogr2ogr (Debian's gdal-bin), for the side-by-side line
    .venv/bin/python bench/bench_perimeters.py [--features 1600] [--points 1000] [--rounds 3]

Side by side: the whole `gusp perimeters load FILE` command (start-up included, every quartier
created: the table is emptied and vacuumed before each run, untimed) against `ogr2ogr -f PostgreSQL` of the
same file into a table of its own, run in turn, median of the rounds and the ratio pair by pair.

The file is generated like the ANCT export: about 1,600 MultiPolygons over metropolitan France,
clustered by commune, hundreds of vertices each, full-precision coordinates, some holes and
several parts, some QPV spanning two communes. Each load runs in a fresh (spawned) process so
its peak RSS is its own; a scratch database is created, migrated and dropped.
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import json
import math
import multiprocessing
import random
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from gusp import db, migrate
from gusp.config import Settings

FRANCE = (-1.6, 43.3, 7.2, 50.6)  # lon/lat box of the communes' centres, roughly the mainland


def star(lon: float, lat: float, radius_m: float, vertices: int, rng: random.Random) -> list[list[float]]:
    """A closed star-shaped ring (so always simple) of `vertices` points around lon, lat."""
    lobes, phase = rng.randint(3, 9), rng.uniform(0, math.tau)
    ring = []
    for k in range(vertices):
        angle = math.tau * k / vertices
        r = radius_m * (0.8 + 0.15 * math.sin(lobes * angle + phase) + rng.uniform(-0.04, 0.04))
        dlon = r * math.cos(angle) / (111_320 * math.cos(math.radians(lat)))
        ring.append([lon + dlon, lat + r * math.sin(angle) / 110_574])
    return ring + [ring[0]]


def feature(index: int, commune: tuple[str, str, float, float], other: tuple[str, str], rng: random.Random) -> dict:
    insee, name, clon, clat = commune
    vertices = int(min(3000, max(40, rng.lognormvariate(math.log(380), 0.6))))
    parts, polygons = (1 if rng.random() < 0.8 else rng.randint(2, 4)), []
    lon, lat = clon + rng.gauss(0, 0.02), clat + rng.gauss(0, 0.015)
    for part in range(parts):
        radius = rng.uniform(200, 700)
        plon = lon + part * 2.5 * 700 / (111_320 * math.cos(math.radians(lat)))  # parts never touch
        shell = star(plon, lat, radius, max(12, vertices // parts), rng)
        hole = [list(reversed(star(plon, lat, radius * 0.2, 16, rng)))] if rng.random() < 0.1 else []
        polygons.append([shell, *hole])
    two = rng.random() < 0.03  # a QPV spanning two communes: "13055, 13071" in the ANCT file
    return {
        "type": "Feature",
        "properties": {
            "fid": index + 1, "code_qp": f"QN{insee[:3]}{index:04d}M", "lib_qp": f"Quartier {index + 1}",
            "insee_reg": "93", "lib_reg": "Région", "insee_dep": insee[:2], "lib_dep": "Département",
            "insee_com": f"{insee}, {other[0]}" if two else insee,
            "lib_com": f"{name}, {other[1]}" if two else name, "siren_epci": "200054807",
        },
        "geometry": {"type": "MultiPolygon", "coordinates": polygons},
    }


def generate(path: Path, count: int, seed: int = 2024) -> None:
    """Write the file feature by feature, as the ANCT's ogr2ogr export is laid out."""
    rng = random.Random(seed)
    communes = [
        (f"{rng.randint(1, 95):02d}{rng.randint(1, 999):03d}", f"Commune {i}", rng.uniform(FRANCE[0], FRANCE[2]),
         rng.uniform(FRANCE[1], FRANCE[3]))
        for i in range(900)
    ]
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type": "FeatureCollection", "name": "QP2024_France_Hexagonale_Outre_Mer_WGS84",\n')
        out.write('"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},\n"features": [\n')
        for i in range(count):
            commune, other = rng.choice(communes), rng.choice(communes)
            out.write(json.dumps(feature(i, commune, other[:2], rng)) + (",\n" if i < count - 1 else "\n"))
        out.write("]}\n")


def _load_worker(url: str, path: str, queue: multiprocessing.Queue) -> None:
    from gusp.geo import perimeters  # imported here so the baseline includes it

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    engine = db.make_engine(url)
    started = time.perf_counter()
    with db.make_sessionmaker(engine)() as session, db.transaction(session):
        result = perimeters.load(session=session, path=Path(path))
    elapsed = time.perf_counter() - started
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"seconds": elapsed, "baseline_mb": baseline / 1024, "peak_mb": peak / 1024, "result": result})


def _json_load_worker(path: str, queue: multiprocessing.Queue) -> None:
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path, encoding="utf-8") as stream:
        json.load(stream)
    queue.put({"baseline_mb": baseline / 1024, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def spawned(target, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    outcome = queue.get()
    process.join()
    return outcome


def timed_calls(calls: list, label: str) -> None:
    durations = []
    for call in calls:
        started = time.perf_counter()
        call()
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    p95 = durations[int(len(durations) * 0.95) - 1]
    print(f"  {label:<44} {len(durations)} calls: mean {statistics.mean(durations):.2f} ms, "
          f"median {statistics.median(durations):.2f} ms, p95 {p95:.2f} ms, max {durations[-1]:.2f} ms")


def bench_queries(url: str, points: int) -> None:
    from gusp.geo import attribution, perimeters

    rng = random.Random(7)
    engine = db.make_engine(url)
    with db.make_sessionmaker(engine)() as session:
        inside = session.execute(
            text(
                "SELECT ST_Y(p), ST_X(p) FROM"
                " (SELECT ST_PointOnSurface(geom) AS p FROM quartiers ORDER BY random() LIMIT :n) s"
            ),
            {"n": points},
        ).all()
        anywhere = [(rng.uniform(FRANCE[1], FRANCE[3]), rng.uniform(FRANCE[0], FRANCE[2])) for _ in range(points)]
        print("Per call, national file loaded:")
        timed_calls([lambda p=p: attribution.attribute(session=session, lat=p[0], lon=p[1]) for p in inside],
                    "attribute(), point inside a perimeter")
        timed_calls([lambda p=p: attribution.attribute(session=session, lat=p[0], lon=p[1]) for p in anywhere],
                    "attribute(), random point (hors périmètre)")
        timed_calls([lambda p=p: attribution.in_service_area(session=session, lat=p[0], lon=p[1], margin_m=5000)
                     for p in anywhere], "in_service_area(), random point")
        kinds = [attribution.attribute(session=session, lat=p[0], lon=p[1]).kind for p in anywhere]
        hors = kinds.count("hors_perimetre")
        print(f"  ({hors} of the {len(anywhere)} random points are hors périmètre)")
        started = time.perf_counter()
        served = perimeters.feature_collection(session=session)
        print(f"  feature_collection(): {time.perf_counter() - started:.2f} s, {len(served) / 1e6:.1f} MB of GeoJSON")
        versions = session.execute(text("SELECT version(), postgis_lib_version()")).one()
    engine.dispose()
    print(f"PostgreSQL: {versions[0].split(',')[0]}; PostGIS {versions[1]}")


def empty(engine) -> None:
    """Empty the tables as a production server would leave them: deleted, then vacuumed (the test
    server runs without autovacuum; without it each round would scan the dead rows of the previous
    ones, while ogr2ogr's `-overwrite` starts from a new table). TRUNCATE is refused: report_events
    is append-only."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM service_areas"))
        conn.execute(text("DELETE FROM quartiers"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM service_areas, quartiers"))


def backend_cpu(url: str, name: str, done: threading.Event, seen: dict[int, float]) -> None:
    """CPU (user + sys) of the PostgreSQL backends of the connections named `name`, read from /proc
    every 10 ms until `done` (the server runs on this machine): the server's share of a command."""
    tick = os.sysconf("SC_CLK_TCK")
    engine = db.make_engine(url)
    with engine.connect() as conn:
        while not done.is_set():
            for pid in conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                                    {"n": name}).scalars():
                seen.setdefault(pid, 0.0)
            conn.rollback()
            for pid in seen:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # ended: its last reading stays
                seen[pid] = (int(fields[11]) + int(fields[12])) / tick
            time.sleep(0.01)
    engine.dispose()


def side_by_side(url: str, path: Path, rounds: int) -> None:
    """`gusp perimeters load` and `ogr2ogr -f PostgreSQL`, whole commands, in turn."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        print("ogr2ogr absent: run `bash bench/setup.sh` for the side-by-side line")
        return
    u = make_url(url)
    pg = f"PG:dbname={u.database} host={u.host or 'localhost'} port={u.port or 5432} user={u.username or 'postgres'}"
    env = {**os.environ, "GUSP_DATABASE_URL": url}
    if u.password:
        env["PGPASSWORD"] = u.password
    engine = db.make_engine(url)
    times: dict[str, list[float]] = {"gusp": [], "ogr2ogr": []}
    cpu: dict[str, list[float]] = {"gusp": [], "ogr2ogr": []}  # the command's own, user + sys
    server: dict[str, list[float]] = {"gusp": [], "ogr2ogr": []}  # its PostgreSQL backend's
    for _ in range(rounds):
        empty(engine)
        for name, command in (
            ("gusp", [sys.executable, "-m", "gusp.cli", "perimeters", "load", str(path)]),
            ("ogr2ogr", [ogr2ogr, "-f", "PostgreSQL", pg, str(path), "-nln", "bench_ogr2ogr_qpv", "-overwrite",
                         "-lco", "GEOMETRY_NAME=geom"]),
        ):
            done, seen = threading.Event(), {}
            sampler = threading.Thread(target=backend_cpu, args=(url, f"bench-{name}", done, seen))
            sampler.start()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, env={**env, "PGAPPNAME": f"bench-{name}"}, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            done.set()
            sampler.join()
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            server[name].append(sum(seen.values()))
    empty(engine)  # the loads below start from an empty table too
    engine.dispose()
    ratios = sorted(g / o for g, o in zip(times["gusp"], times["ogr2ogr"], strict=True))
    both = {name: [c + v for c, v in zip(cpu[name], server[name], strict=True)] for name in cpu}
    print(f"Side by side, whole commands, {rounds} rounds in turn (median, min–max), load average "
          f"{os.getloadavg()[0]:.1f}:")
    for name, label in (("gusp", "`gusp perimeters load` (creates 1,600)"), ("ogr2ogr", "`ogr2ogr -f PostgreSQL`")):
        values = sorted(times[name])
        print(f"  {label:<42} {statistics.median(values):.2f} s ({values[0]:.2f}–{values[-1]:.2f}), "
              f"CPU {statistics.median(cpu[name]):.2f} s + server {statistics.median(server[name]):.2f} s")
    print(f"  ratio GUSP / ogr2ogr, pair by pair: median {statistics.median(ratios):.2f} "
          f"({ratios[0]:.2f}–{ratios[-1]:.2f}); CPU of the commands "
          f"{statistics.median(cpu['gusp']) / statistics.median(cpu['ogr2ogr']):.2f}, with their servers' "
          f"{statistics.median(both['gusp']) / statistics.median(both['ogr2ogr']):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=1600)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = Settings()
    url = common.scratch_url(base.database_url)
    print(f"Machine: {common.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
        started = time.perf_counter()
        generate(path, args.features)
        size = path.stat().st_size / 1e6
        print(f"Generated {args.features} features, {size:.1f} MB, in {time.perf_counter() - started:.1f} s")
        reference = spawned(_json_load_worker, str(path))
        print(f"For reference, json.load of the file: peak RSS {reference['peak_mb']:.0f} MB "
              f"(baseline {reference['baseline_mb']:.0f} MB)")
        try:
            migrate.upgrade(settings=Settings(database_url=url))
            side_by_side(url, path, args.rounds)
            for label in ("first load (creates)", "second load (same file: idempotent)"):
                run = spawned(_load_worker, url, str(path))
                r = run["result"]
                print(f"{label}: {run['seconds']:.2f} s, peak RSS {run['peak_mb']:.0f} MB "
                      f"(baseline after imports {run['baseline_mb']:.0f} MB); created {r.created}, "
                      f"updated {r.updated}, unchanged {r.unchanged}, service areas {r.service_areas}")
            bench_queries(url, args.points)
        finally:
            db.drop_database(url)


if __name__ == "__main__":
    main()
