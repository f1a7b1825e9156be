"""GUSP: field reports of the living environment for the Politique de la Ville."""

import re

# Settings.database_url's default, here so that a command that builds no Settings (a perimeter load,
# which starts without pydantic) reads the same one (gusp.cli.database_url).
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gusp"


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as libpq reads it (postgresql://…), for what connects
    with psycopg alone: the perimeter load, the intake's fast lane, the benchmarks' other servers."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)
