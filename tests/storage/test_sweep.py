"""The media sweep, against both stores: what no row names goes after the grace period, nothing else."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import String, text
from sqlalchemy.orm import Session, sessionmaker

from gusp import db, intake, storage
from gusp.storage import sweep
from tests import builders

GRACE = timedelta(hours=24)
LATER = datetime.now(UTC) + GRACE + timedelta(hours=1)  # every file written by the test is then past the grace
NOT_MEDIA = {"reports.idempotency_key", "open311_update_receipts.idempotency_key",
             "partner_open311.api_key"}  # `*_key` columns that name no stored file


@pytest.fixture
def sessions(session: Session) -> sessionmaker[Session]:
    """Sweep sessions on the test's connection: their commits are savepoints, rolled back at the end."""
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


def test_every_key_column_is_a_media_key_so_the_sweep_sees_it():
    """A new rendition column declared as String would have its files swept: declare it db.MediaKey."""
    import gusp.models  # noqa: F401

    key_like = {f"{t.name}.{c.name}" for t in db.Base.metadata.sorted_tables for c in t.columns
                if c.name.endswith("_key") and isinstance(c.type, String | db.MediaKey)}
    swept = {f"{c.table.name}.{c.name}" for c in sweep.key_columns()}

    assert key_like - NOT_MEDIA == swept
    assert {"report_photos.display_key", "report_photos.thumbnail_key", "diagnostic_photos.display_key",
            "diagnostic_photos.thumbnail_key"} <= swept


def test_unreferenced_files_go_after_the_grace_period_referenced_ones_stay(session, sessions, store_settings):
    store = storage.from_settings(store_settings)
    report = builders.make_report(session, store_settings, photos=[builders.jpeg(500, 400)])
    kept = {report.photos[0].display_key, report.photos[0].thumbnail_key}
    orphan = builders.jpeg(300, 200, (0, 0, 255))
    orphans = {photo.display.key for photo in intake.process_uploads([io.BytesIO(orphan)], settings=store_settings)}
    for key in orphans:
        store.put(key, b"written by a request whose commit failed")
    session.commit()

    too_soon = sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE)
    assert (too_soon.examined, too_soon.recent, too_soon.deleted) == (3, 3, 0)

    trial = sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER, dry_run=True)
    assert (trial.deleted, {o.key for o in store.list()}) == (1, kept | orphans)

    result = sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER)
    assert (result.examined, result.recent, result.in_use, result.deleted) == (3, 0, 0, 1)
    assert result.deleted_bytes == len(b"written by a request whose commit failed")
    assert {o.key for o in store.list()} == kept


def test_files_of_deleted_rows_are_swept(session, sessions, store_settings):
    store = storage.from_settings(store_settings)
    report = builders.make_report(session, store_settings, photos=[builders.jpeg(500, 400)])
    session.execute(text("DELETE FROM report_photos WHERE report_id = :r"), {"r": report.id})  # e.g. retention
    session.commit()

    assert sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER).deleted == 2
    assert list(store.list()) == []


def test_a_file_a_request_is_writing_is_left_for_the_next_run(committed_settings):
    store = storage.from_settings(committed_settings)
    key = "ab" * 32 + ".jpg"
    store.put(key, b"an old orphan, sent again right now")
    engine = db.make_engine(committed_settings.database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        with sessions() as writer:
            sweep.hold(writer, [key])  # a request reusing the file, not committed yet

            busy = sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER)
            assert (busy.in_use, busy.deleted, store.exists(key)) == (1, 0, True)
            writer.rollback()

        assert sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER).deleted == 1
        assert not store.exists(key)
    finally:
        engine.dispose()


def test_no_sweep_runs_under_a_backup(committed_settings):
    store = storage.from_settings(committed_settings)
    store.put("cd" * 32 + ".jpg", b"orphan")
    engine = db.make_engine(committed_settings.database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        with sessions() as backup:
            sweep.hold_off_sweeps(backup)
            assert sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER).busy
            backup.rollback()
        assert sweep.sweep(sessionmaker=sessions, store=store, grace=GRACE, now=LATER).deleted == 1
    finally:
        engine.dispose()
