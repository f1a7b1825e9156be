"""Bring a database to the current schema: create it if needed, run Alembic, seed categories.

Alembic migrations are the only way the schema is made, in production and in tests.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from gusp import categories, db
from gusp.config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(*, settings: Settings) -> None:
    """Create the database if missing, migrate to head, then seed the categories file."""
    db.ensure_database(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "head")
    with db.command_session(settings.database_url) as session:
        categories.seed(session=session, path=settings.categories_file)
