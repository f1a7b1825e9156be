"""Engine, sessions, the declarative Base, and the per-request transaction.

Services flush; the transaction is committed once, at the service boundary (the request or the
CLI command). Work that lives outside the database — files written by intake — registers an
undo step with `on_rollback`, run before the rollback while row and advisory locks are held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ROLLBACK_HOOKS = "gusp.rollback_hooks"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def make_engine(url: str, **kwargs: object) -> Engine:
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Register an undo step for work outside the database, run if the transaction fails."""
    session.info.setdefault(_ROLLBACK_HOOKS, []).append(undo)


def _run_rollback_hooks(session: Session) -> None:
    hooks = session.info.pop(_ROLLBACK_HOOKS, [])
    for undo in reversed(hooks):
        undo()


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit on success; on any failure undo outside work first, then roll back."""
    try:
        yield session
        session.commit()
    except BaseException:
        try:
            _run_rollback_hooks(session)
        finally:
            session.rollback()
        raise
    session.info.pop(_ROLLBACK_HOOKS, None)


@contextmanager
def command_session(url: str) -> Iterator[Session]:
    """For a command line: a session on an engine of its own, in one transaction committed at the end."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session, transaction(session):
            yield session
    finally:
        engine.dispose()


def advisory_xact_lock(session: Session, key: str) -> None:
    """Serialise work on one key (an idempotency key, a photo hash) until the transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": key})


@contextmanager
def _server(url: str) -> Iterator[Connection]:
    """An autocommit connection to the server's `postgres` database, to create or drop another."""
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def ensure_database(url: str) -> bool:
    """Create the database named in `url` if it does not exist; True when created."""
    name = make_url(url).database
    with _server(url) as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            return False
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        return True


def drop_database(url: str) -> None:
    with _server(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
