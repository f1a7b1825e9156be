"""pg_dump and pg_restore of the GUSP database, with client tools as recent as the server."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from gusp import errors

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_SCHEMA = "public"


def server_major(connection: Connection) -> int:
    return int(connection.scalar(text("SHOW server_version_num"))) // 10000


def tool(name: str, *, at_least: int) -> tuple[Path, str]:
    """The client tool of the oldest PostgreSQL version >= at_least found here, and its version line.

    pg_dump must not be older than the server, pg_restore not older than the pg_dump that wrote the
    file. Debian installs one set per version under /usr/lib/postgresql/<v>/bin, beside the server.
    """
    candidates = [*glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), *glob.glob(f"/usr/pgsql-*/bin/{name}")]
    if found := shutil.which(name):
        candidates.append(found)
    usable = []
    for candidate in candidates:
        line = _version_line(candidate)
        match = _VERSION.search(line)
        if match and int(match.group(1)) >= at_least:
            usable.append((int(match.group(1)), int(match.group(2) or 0), candidate, line))
    if not usable:
        raise errors.GuspError(
            "outil_postgresql_introuvable",
            f"{name} {at_least} (ou plus récent) est introuvable : installez le paquet postgresql-client-{at_least}.",
        )
    _, _, path, line = min(usable)
    return Path(path), line


def environment(url: str) -> dict[str, str]:
    """libpq's variables for the database of a SQLAlchemy URL: no password on a command line."""
    parsed = make_url(url)
    env = dict(os.environ)
    for variable, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                            ("PGPASSWORD", parsed.password), ("PGDATABASE", parsed.database)):
        if value is not None:
            env[variable] = str(value)
    for option, value in parsed.query.items():  # sslmode=require, sslrootcert=…, as libpq names them
        if isinstance(value, str) and re.fullmatch(r"[a-z_]+", option):
            env[f"PG{option.upper()}"] = value
    return env


def dump(url: str, *, target: Path, snapshot: str, at_least: int) -> str:
    """Dump the database as it is in an exported snapshot; returns the pg_dump version line."""
    pg_dump, line = tool("pg_dump", at_least=at_least)
    _run([str(pg_dump), "--format=custom", f"--snapshot={snapshot}", f"--file={target}"], url, "pg_dump")
    return line


def restore(url: str, *, source: Path, at_least: int) -> None:
    """Restore a dump into the (empty) database of url, all or nothing."""
    pg_restore, _ = tool("pg_restore", at_least=at_least)
    _run([str(pg_restore), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
          f"--dbname={make_url(url).database}", str(source)], url, "pg_restore")


def table_counts(connection: Connection) -> dict[str, int]:
    """Rows of every table of the application's schema."""
    names = connection.scalars(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s AND table_type = 'BASE TABLE' "
        "ORDER BY table_name"), {"s": _SCHEMA}).all()
    return {name: connection.scalar(text(f'SELECT count(*) FROM {_SCHEMA}."{name}"')) for name in names}


def is_empty(connection: Connection) -> bool:
    """No table of ours (PostGIS's own spatial_ref_sys does not count)."""
    return not connection.scalar(text(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = :s AND table_name <> 'spatial_ref_sys'"),
        {"s": _SCHEMA})


def dump_major(line: str) -> int:
    match = _VERSION.search(line)
    return int(match.group(1)) if match else 0


def _version_line(path: str) -> str:
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return ""


def _run(command: list[str], url: str, what: str) -> None:
    done = subprocess.run(command, env=environment(url), capture_output=True, text=True)
    if done.returncode != 0:
        raise errors.GuspError("sauvegarde_echec", f"{what} a échoué ({done.returncode}) : {done.stderr.strip()[-2000:]}")
