"""Alembic environment: the URL comes from the caller's config, else from GUSP_ settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from gusp import models  # noqa: F401  (registers the tables on Base.metadata)
from gusp.config import Settings
from gusp.db import Base, make_engine

IGNORED_TABLES = {"spatial_ref_sys"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name in IGNORED_TABLES:
        return False
    return True


def run_migrations_online() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
