"""The media sweep: delete stored files that no row names once they are older than a grace period.

Requests write photo files *before* the rows that name them and never delete any: a request that
fails, or whose COMMIT answer is lost, leaves at worst a file no row names. The sweep (`gusp media
sweep`, and the worker once a day) removes those, and the files of rows deleted since (retention).

Which rows name a file: every column of type `db.MediaKey` in the models' metadata, found here
by type, so that a new rendition column is swept correctly as soon as it is declared with it
(tests/storage/test_sweep.py refuses a `*_key` column of another type).

A request may reuse an old unreferenced file at any moment (same photo sent again). It holds a
shared advisory lock on each key it writes until its transaction ends (`hold`); the sweep takes
the exclusive lock without waiting, checks that no row names the key, deletes the file and only
then releases it; a key in use is left for the next run. The grace period adds a margin for
writers outside a transaction (a restore under way) and leaves time to look into an incident.
A backup holds `_BACKUP_LOCK` shared while it reads, so that no sweep runs under it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Select, select, text, union
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker as SessionMaker

from gusp import db, storage

BATCH = 500
_KEY_LOCK = "hashtextextended('gusp-media:' || k, 0)"
_BACKUP_LOCK = "hashtextextended('gusp-media-sweep', 0)"


@dataclass(frozen=True)
class SweepResult:
    examined: int = 0  # files in the store
    recent: int = 0  # unreferenced or not, younger than the grace period: not looked at
    in_use: int = 0  # being written by a request right now: left for the next run
    deleted: int = 0
    deleted_bytes: int = 0
    incomplete: int = 0  # pieces of interrupted writes removed
    busy: bool = False  # another sweep or a backup was running: nothing done


def key_columns() -> list[Column]:
    """Every column that names a stored file, across all tables."""
    import gusp.models  # noqa: F401 — every table registered in the metadata

    return [c for t in db.Base.metadata.sorted_tables for c in t.columns if isinstance(c.type, db.MediaKey)]


def referenced(session: Session, keys: Iterable[str]) -> set[str]:
    """The keys among `keys` that some row names."""
    keys = list(keys)
    if not keys:
        return set()
    queries: list[Select] = [select(c.label("k")).where(c.in_(keys)) for c in key_columns()]
    return set(session.scalars(union(*queries)))


def all_referenced(session: Session) -> set[str]:
    """Every key some row names (backups copy these)."""
    queries: list[Select] = [select(c.label("k")).where(c.is_not(None)) for c in key_columns()]
    return set(session.scalars(union(*queries)))


def delete_unreferenced(session: Session, store: storage.PhotoStorage, keys: Iterable[str]) -> int:
    """Delete at once the files of `keys` that no row names any more (retention deleted the rows);
    a key a request is writing right now, or that another row names, is left (the sweep sees it later)."""
    keys = sorted(set(keys))
    if not keys:
        return 0
    locked = set(session.scalars(
        text(f"SELECT k FROM unnest(CAST(:keys AS text[])) k WHERE pg_try_advisory_xact_lock({_KEY_LOCK})"),
        {"keys": keys}))
    gone = sorted(locked - referenced(session, locked))
    for key in gone:
        store.delete(key)
    return len(gone)


def hold(session: Session, keys: Iterable[str]) -> None:
    """Keep the sweep away from keys until this transaction ends: call it before writing their files."""
    keys = sorted(set(keys))
    if keys:
        session.execute(text(f"SELECT pg_advisory_xact_lock_shared({_KEY_LOCK}) FROM unnest(CAST(:keys AS text[])) k"),
                        {"keys": keys})


def hold_off_sweeps(session: Session) -> None:
    """For a backup: no sweep starts until this transaction ends (one running is waited for)."""
    session.execute(text(f"SELECT pg_advisory_xact_lock_shared({_BACKUP_LOCK})"))


def sweep(
    *,
    sessionmaker: SessionMaker[Session],
    store: storage.PhotoStorage,
    grace: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> SweepResult:
    """Delete the files older than `grace` that no row names; `dry_run` counts them and deletes nothing."""
    cutoff = (now or datetime.now(UTC)) - grace
    counts = dict.fromkeys(("examined", "recent", "in_use", "deleted", "deleted_bytes", "incomplete"), 0)
    with sessionmaker() as guard, db.transaction(guard):
        if not guard.scalar(text(f"SELECT pg_try_advisory_xact_lock({_BACKUP_LOCK})")):
            return SweepResult(busy=True)
        for batch in _batches(_old_files(store.list(), cutoff, counts)):
            with sessionmaker() as session, db.transaction(session):
                _sweep_batch(session, store, batch, counts, dry_run=dry_run)
        if not dry_run:
            counts["incomplete"] = store.discard_incomplete(cutoff)
    return SweepResult(**counts)


def _old_files(files: Iterator[storage.StoredObject], cutoff: datetime,
               counts: dict[str, int]) -> Iterator[storage.StoredObject]:
    for stored in files:
        counts["examined"] += 1
        if stored.modified >= cutoff:
            counts["recent"] += 1
        else:
            yield stored


def _batches(files: Iterator[storage.StoredObject]) -> Iterator[dict[str, storage.StoredObject]]:
    while batch := list(itertools.islice(files, BATCH)):
        yield {stored.key: stored for stored in batch}


def _sweep_batch(session: Session, store: storage.PhotoStorage, batch: dict[str, storage.StoredObject],
                 counts: dict[str, int], *, dry_run: bool) -> None:
    """Lock what no request is writing, then delete what no row names, before the locks go."""
    locked = set(session.scalars(
        text(f"SELECT k FROM unnest(CAST(:keys AS text[])) k WHERE pg_try_advisory_xact_lock({_KEY_LOCK})"),
        {"keys": sorted(batch)}))
    counts["in_use"] += len(batch) - len(locked)
    for key in sorted(locked - referenced(session, locked)):
        if not dry_run:
            store.delete(key)
        counts["deleted"] += 1
        counts["deleted_bytes"] += batch[key].size
