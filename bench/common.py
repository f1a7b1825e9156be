"""What every benchmark prints and needs: the machine it ran on, a scratch database of its own."""

from __future__ import annotations

import os
import platform
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine() -> str:
    """CPU model, cores, memory and Python: the line recorded beside the figures."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu_model()}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def scratch_url(database_url: str) -> str:
    """The URL of a new database on the same server, for one benchmark run (dropped after)."""
    url = make_url(database_url).set(database=f"gusp_bench_{uuid.uuid4().hex[:8]}")
    return url.render_as_string(hide_password=False)


def seed_demo(settings, size: int) -> float:
    """Migrate `settings.database_url`, load the perimeters, generate `size` reports as `gusp demo --size`
    does (VACUUM ANALYZE after); the seconds the reports took."""
    import time

    from gusp import db, demo_bulk, migrate
    from gusp.geo import perimeters

    migrate.upgrade(settings=settings)
    with db.command_session(settings.database_url) as session:
        perimeters.load(session=session, path=settings.perimeters_file)
    start = time.perf_counter()
    with db.command_session(settings.database_url) as session:
        demo_bulk.generate(session=session, settings=settings, size=size)
    demo_bulk.vacuum_analyze(settings=settings)
    return time.perf_counter() - start


def free_port() -> int:
    """A TCP port free on the loopback interface, for a server the benchmark starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
