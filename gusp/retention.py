"""Personal data is kept no longer than promised: a reporter's contact details go once the
report they follow has been resolved or closed for `contact_retention_months` (the consent text
on the reporting page says so). The reporter of a merged duplicate follows its master.

Photos go once their report has been closed (or resolved) for `photo_retention_months`: rows,
files and an event; unblurred originals, if kept, after `original_retention_days`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker as SessionMaker

from gusp import db, states
from gusp.config import Settings
from gusp.models import ReportEvent, ReportPhoto
from gusp.storage import PhotoStorage, sweep

_PURGE = text(
    """
    DELETE FROM reporter_contacts c
    USING reports r
    LEFT JOIN reports m ON m.id = r.master_report_id
    WHERE c.report_id = r.id
      AND CASE
            WHEN COALESCE(m.status, r.status) IN ('clos', 'rejete')
                THEN COALESCE(m.closed_at, r.closed_at) < now() - make_interval(months => :months)
            WHEN COALESCE(m.status, r.status) = 'resolu'
                THEN COALESCE(m.resolved_at, r.resolved_at) < now() - make_interval(months => :months)
            ELSE false
          END
    """
)


def purge_contacts(*, session: Session, settings: Settings) -> int:
    """Delete the contact details whose retention period is over; returns how many."""
    result = session.execute(_PURGE, {"months": settings.contact_retention_months})
    session.flush()
    return result.rowcount or 0


@dataclass(frozen=True)
class PhotoPurge:
    reports: int = 0
    photos: int = 0
    originals: int = 0  # unblurred originals forgotten (if originals are kept)
    files: int = 0  # files deleted; a file another row still names stays


# Closed (clos, rejeté) or resolved for longer than the retention period, by the milestone of its status.
_EXPIRED_PHOTOS = text(
    """
    SELECT p.id, p.report_id FROM report_photos p JOIN reports r ON r.id = p.report_id
    WHERE CASE
            WHEN r.status IN ('clos', 'rejete') THEN r.closed_at < now() - make_interval(months => :months)
            WHEN r.status = 'resolu' THEN r.resolved_at < now() - make_interval(months => :months)
            ELSE false
          END
    ORDER BY p.report_id, p.id
    FOR UPDATE OF p SKIP LOCKED
    """
)


def purge_photos(*, sessionmaker: SessionMaker[Session], storage: PhotoStorage, settings: Settings) -> PhotoPurge:
    """Retention of photos (worker's daily step, `gusp photos purge`, `gusp daily`): rows and events
    in one transaction, then, once it is committed, the files no row names any more."""
    with sessionmaker() as session, db.transaction(session):
        reports, photos, keys = _photo_rows(session=session, settings=settings)
        originals, original_keys = _original_rows(session=session, settings=settings)
    with sessionmaker() as session, db.transaction(session):
        files = sweep.delete_unreferenced(session, storage, keys | original_keys)
    return PhotoPurge(reports=reports, photos=photos, originals=originals, files=files)


def _key_names() -> list[str]:
    """The columns of report_photos naming stored files (renditions, and an original if one is kept)."""
    return [c.name for c in ReportPhoto.__table__.columns if isinstance(c.type, db.MediaKey)]


def _photo_rows(*, session: Session, settings: Settings) -> tuple[int, int, set[str]]:
    """Delete the expired photo rows, one `photos_purged` event per report; (reports, photos, keys)."""
    rows = session.execute(_EXPIRED_PHOTOS, {"months": settings.photo_retention_months}).all()
    if not rows:
        return 0, 0, set()
    ids = [photo_id for photo_id, _ in rows]
    table = ReportPhoto.__table__
    named = session.execute(select(*(table.c[n] for n in _key_names())).where(table.c.id.in_(ids))).all()
    by_report: dict[int, int] = {}
    for _, report_id in rows:
        by_report[report_id] = by_report.get(report_id, 0) + 1
    session.execute(delete(ReportPhoto).where(ReportPhoto.id.in_(ids)))
    now = session.scalar(text("SELECT clock_timestamp()"))
    session.add_all(
        ReportEvent(report_id=report_id, kind=states.EventKind.PHOTOS_PURGED, at=now, data={
            "photos": count, "retention_months": settings.photo_retention_months}, note=None, note_public=False)
        for report_id, count in by_report.items()
    )
    session.flush()
    return len(by_report), len(ids), {k for row in named for k in row if k}


def _original_rows(*, session: Session, settings: Settings) -> tuple[int, set[str]]:
    """Forget unblurred originals older than `original_retention_days`, if originals are kept at all.

    The hook for an `original_key` column on report_photos (face blurring may keep the original for
    staff); without such a column there is nothing to purge."""
    table = ReportPhoto.__table__
    if "original_key" not in table.c:
        return 0, set()
    column = table.c["original_key"]
    old = session.execute(
        select(table.c.id, column)
        .where(column.is_not(None),
               table.c.created_at < text("now() - make_interval(days => :days)").bindparams(
                   days=settings.original_retention_days))
        .with_for_update(skip_locked=True)
    ).all()
    if old:
        session.execute(update(table).where(table.c.id.in_([i for i, _ in old])).values({column: None}))
        session.flush()
    return len(old), {k for _, k in old}
