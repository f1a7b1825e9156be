"""Engine, sessions, the declarative Base, and the per-request transaction.

Services flush; the transaction is committed once, at the service boundary (the request or the
CLI command). Nothing outside the database is undone on failure: photo files are written before
the rows that name them and left to the media sweep (gusp.storage.sweep) when no row does, so a
commit whose outcome is unknown costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy.exc
from sqlalchemy import Connection, DateTime, Engine, MetaData, String, TypeDecorator, create_engine, event, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from gusp import errors

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MediaKey(TypeDecorator[str]):
    """A column naming a stored file ("<sha256>.jpg"): the media sweep keeps every file such a column names."""

    impl = String(80)
    cache_ok = True


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def make_engine(url: str, **kwargs: object) -> Engine:
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_FLUSHED = "gusp.flushed"


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: object) -> None:
    session.info[_FLUSHED] = True


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit on success, roll back on failure; a commit whose answer was lost is `enregistrement_incertain`.

    When the connection breaks during COMMIT, PostgreSQL may have applied it or not: the client
    is told so (503, retry with the same Idempotency-Key), never that nothing was saved.
    """
    with _flushed(session):
        yield session
    _commit(session)


@contextmanager
def transaction_if_written(session: Session) -> Iterator[Session]:
    """As `transaction`, but a block that wrote nothing commits nothing: its reads stay in the open
    transaction, which the caller goes on with (a signed-in GET: no COMMIT, no second connection checkout)."""
    session.info.pop(_FLUSHED, None)
    with _flushed(session):
        yield session
    if session.info.pop(_FLUSHED, False):
        _commit(session)


@contextmanager
def _flushed(session: Session) -> Iterator[Session]:
    """The block, then a flush; a failure in either rolls back and is raised."""
    try:
        yield session
        session.flush()
    except BaseException:
        session.rollback()
        raise


def _commit(session: Session) -> None:
    try:
        session.commit()
    except sqlalchemy.exc.DBAPIError as error:
        session.rollback()
        if error.connection_invalidated:
            raise commit_uncertain() from error
        raise


def commit_uncertain() -> errors.ServiceUnavailable:
    """The answer when the connection broke during COMMIT: PostgreSQL may have applied it or not."""
    return errors.ServiceUnavailable(
        "enregistrement_incertain",
        "La connexion à la base de données a été coupée au moment d'enregistrer : l'enregistrement a "
        "peut-être abouti. Renvoyez la même demande avec la même clé Idempotency-Key (elle ne sera pas "
        "enregistrée deux fois), ou vérifiez avant de recommencer.",
        retry_after=5,
    )


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


def database_exists(url: str) -> bool:
    with _server(url) as conn:
        return bool(conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": make_url(url).database}))


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
