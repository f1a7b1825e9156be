"""A 12-month meeting pack at scale: every quartier together, and the whole commune.

Creates a scratch database, migrates it, loads the perimeters, generates N reports with
`gusp.demo_bulk` (VACUUM ANALYZE after, as `gusp demo --size` does), then times
`meeting_pack.generate` (figures, tables, maps, lists, PDF) over the last twelve months, each run
in a transaction rolled back (no pack recorded), with the time of each part from a profile of the
last run. Prints the machine and a Markdown table, then drops the database.
Run: .venv/bin/python bench/bench_pack.py [--size 1000000] [--runs 3]
"""

from __future__ import annotations

import common  # bench/common.py, beside this script

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from gusp import db, stats, storage
from gusp.config import Settings
from gusp.models import Quartier, User
from gusp.pdf import meeting_pack

PARTS = ("key_figures", "months", "categories", "quartiers", "delays", "deadlines", "backlog", "hotspots",
         "_maps", "_open_by_partner", "_before_after", "render")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    base = Settings()
    url = common.scratch_url(base.database_url)
    settings = base.model_copy(update={"database_url": url})
    try:
        generation = common.seed_demo(settings, args.size)
        with db.command_session(url) as session:
            user = User(email="bench@gusp.example", full_name="Banc d'essai", role="coordinateur",
                        password_hash="!", active=True)
            session.add(user)
            session.flush()
            user_id = user.id
            codes = list(session.scalars(select(Quartier.code).where(Quartier.geom.is_not(None))))
            versions = session.execute(text("SELECT version(), postgis_lib_version()")).one()

        engine = db.make_engine(url)
        maker = db.make_sessionmaker(engine)
        tz = ZoneInfo(settings.timezone)
        store = storage.from_settings(settings)
        with maker() as session:
            total = session.scalar(text("SELECT count(*) FROM reports"))
            today = session.scalar(text("SELECT now()")).astimezone(tz).date()
        period = stats.Period(start=today - timedelta(days=365) + timedelta(days=1), end=today)
        with maker() as session:
            start_at, end_at = period.bounds(tz)
            in_period = session.scalar(text("SELECT count(*) FROM reports WHERE created_at >= :a AND created_at < :b"),
                                       {"a": start_at, "b": end_at})

        def pack(quartier_codes: list[str]) -> tuple[float, int, int]:
            with maker() as session:
                who = session.get(User, user_id)
                began = time.perf_counter()
                made = meeting_pack.generate(session=session, settings=settings, storage=store, user=who,
                                             quartier_codes=quartier_codes, start=period.start, end=period.end)
                seconds = time.perf_counter() - began
                session.rollback()
            import io

            import pypdf
            pages = len(pypdf.PdfReader(io.BytesIO(made.pdf)).pages)
            return seconds, len(made.pdf), pages

        print(f"Machine: {common.machine()}")
        print(f"Database: {versions[0].split(' on ')[0]}, PostGIS {versions[1]}")
        print(f"Data: {total:,} reports generated in {generation:.0f} s; {in_period:,} in the 12 months "
              f"{period.start} → {period.end}. Median of {args.runs} runs after a warm-up.\n")
        print("| pack | median s | min s | PDF | pages |")
        print("|---|---:|---:|---:|---:|")
        for label, chosen in ((f"all {len(codes)} quartiers", codes), ("whole commune (`ville`)", ["ville"])):
            pack(chosen)  # warm-up
            laps = [pack(chosen) for _ in range(args.runs)]
            seconds = [lap[0] for lap in laps]
            print(f"| {label} | {statistics.median(seconds):.1f} | {min(seconds):.1f} | "
                  f"{laps[-1][1] / 1024:.0f} KiB | {laps[-1][2]} |", flush=True)

        profile = cProfile.Profile()
        profile.enable()
        pack(codes)
        profile.disable()
        print("\nWhere the time goes (all quartiers, one profiled run, cumulative s):\n")
        print("| part | s |")
        print("|---|---:|")
        entries = pstats.Stats(profile).stats  # type: ignore[attr-defined]
        for part in PARTS:
            times = [v[3] for (file, _, name), v in entries.items()
                     if name == part and ("gusp" in file)]
            if times:
                print(f"| {part} | {max(times):.2f} |")
        engine.dispose()
    finally:
        db.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
