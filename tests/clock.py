"""Running the time-sensitive tests at the instants where Paris time and UTC disagree.

`pytest -m clock --clock=INSTANT` (or `GUSP_TEST_CLOCK=INSTANT`) moves the whole run to that
instant, ticking from there: Python's clock through time-machine, and PostgreSQL's through the
test databases — `now()` and `clock_timestamp()` are shadowed by functions of a `gusp_clock`
schema that add the same offset (PostgreSQL looks a name up in `search_path` before `pg_catalog`
when `pg_catalog` is put last), and the columns' `DEFAULT now()` are pointed at them. Both clocks
then agree, as in production.

INSTANT is an ISO date-time with its offset, or one of the names of `PRESETS`, each the next such
instant from today (always in the future: rows stamped by a real clock stay in the past).
`scripts/test.sh` runs the tests marked `clock` once at each preset.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_destination: datetime | None = None
_traveller = None


def _next(build: Callable[[int], datetime]) -> datetime:
    now = datetime.now(UTC)
    for year in (now.year, now.year + 1):
        instant = build(year)
        if instant > now:
            return instant
    raise AssertionError("unreachable")


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def _tonight() -> datetime:
    now = datetime.now(UTC)
    instant = datetime.combine(now.date(), time(23, 30), UTC)
    return instant if instant > now else instant + timedelta(days=1)


# Paris is UTC+1 in winter, UTC+2 in summer: at 23:30 UTC it is already tomorrow there. The clocks
# change at 01:00 UTC on the last Sunday of March and of October: the runs start 30 s before.
PRESETS: dict[str, Callable[[], datetime]] = {
    "late": _tonight,
    "new-year": lambda: _next(lambda y: datetime(y, 12, 31, 23, 30, tzinfo=UTC)),
    "dst-spring": lambda: _next(lambda y: datetime.combine(_last_sunday(y, 3), time(0, 59, 30), UTC)),
    "dst-autumn": lambda: _next(lambda y: datetime.combine(_last_sunday(y, 10), time(0, 59, 30), UTC)),
}


def destination(value: str) -> datetime:
    if value in PRESETS:
        return PRESETS[value]()
    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise pytest.UsageError(f"--clock={value}: give the offset (…Z or …+01:00), or one of {', '.join(PRESETS)}")
    return instant


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock", default=os.environ.get("GUSP_TEST_CLOCK") or None,
        help=f"run at this instant (ISO with offset, or {', '.join(PRESETS)}); with -m clock",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Travel before collection: module-level constants (a test file's `T0 = datetime.now()…`) see it too."""
    global _destination, _traveller
    value = config.getoption("--clock")
    _destination = destination(value) if value else None
    if _destination is not None:
        import time_machine

        _traveller = time_machine.travel(_destination, tick=True)
        _traveller.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _traveller is not None:
        _traveller.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `real_clock` (file modification times…) cannot travel: skipped in a travelling run."""
    if _destination is None:
        return
    skip = pytest.mark.skip(reason="depends on a clock that cannot travel (file system times)")
    for item in items:
        if item.get_closest_marker("real_clock"):
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str | None:
    return f"clock: travelling to {_destination.isoformat()}" if _destination else None


def clear_of_a_window_edge(seconds: int, margin: float) -> None:
    """Wait out the last `margin` seconds of a fixed window (gusp.throttle counts per hour, per day).

    A test that counts over several transactions on a committed database sees `now()` move: were a
    window to end between two of its requests, their counts would fall in two windows. The
    dst-* runs start 30 s before 01:00 UTC, the very moment the tests of `tests/api/` run; a rolled
    back session's `now()` stays at its transaction's start and needs none of this.
    """
    left = seconds - _time.time() % seconds  # the travelled clock, which the database's follows
    if left < margin:
        _time.sleep(left + 0.5)


def shift_database(url: str) -> None:
    """Give a test database the travelled clock: call it after migrating, before connecting for good."""
    if _destination is None:
        return
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            real = conn.scalar(text("SELECT pg_catalog.clock_timestamp()"))
            offset = (datetime.now(UTC) - real).total_seconds()
            shift = f"make_interval(secs => {offset!r})"
            conn.execute(text("CREATE SCHEMA IF NOT EXISTS gusp_clock"))
            for name, volatility in (("now", "STABLE"), ("transaction_timestamp", "STABLE"),
                                     ("statement_timestamp", "STABLE"), ("clock_timestamp", "VOLATILE")):
                conn.execute(text(
                    f"CREATE OR REPLACE FUNCTION gusp_clock.{name}() RETURNS timestamptz LANGUAGE sql {volatility} "
                    f"AS $$ SELECT pg_catalog.{name}() + {shift} $$"
                ))
            defaults = conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_default IN ('now()', 'CURRENT_TIMESTAMP')"
            )).all()
            for table, column in defaults:
                conn.execute(text(f'ALTER TABLE public."{table}" ALTER COLUMN "{column}" SET DEFAULT gusp_clock.now()'))
            database = make_url(url).database
            conn.execute(text(f'ALTER DATABASE "{database}" SET search_path = "$user", public, gusp_clock, pg_catalog'))
    finally:
        engine.dispose()
