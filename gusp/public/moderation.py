"""Coordinators' moderation of what becomes public: hide or show one photo, publish a new report.

Each action is an internal event on the staff timeline (never on the public one). Hiding changes
no stored file: the photo's public URL answers 404 from then on (gusp.api.media).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.models import Report, ReportEvent, ReportPhoto, User


def _event(session: Session, report: Report, kind: states.EventKind, actor: User | None, data: dict) -> ReportEvent:
    now = session.scalar(text("SELECT clock_timestamp()"))
    event = ReportEvent(report_id=report.id, kind=kind, at=now, actor=actor.full_name if actor else None,
                        actor_user_id=actor.id if actor else None, data=data, note=None, note_public=False)
    session.add(event)
    report.updated_at = now
    return event


def set_photo_hidden(*, session: Session, report: Report, photo_id: int, hidden: bool, actor: User | None
                     ) -> ReportPhoto:
    """Hide a photo from every public surface, or show it again; a no-op writes no event."""
    photo = next((p for p in report.photos if p.id == photo_id), None)
    if photo is None:
        raise errors.NotFound("photo_introuvable", f"Ce signalement n'a pas de photo n° {photo_id}.")
    if photo.hidden != hidden:
        photo.hidden = hidden
        kind = states.EventKind.PHOTO_HIDDEN if hidden else states.EventKind.PHOTO_SHOWN
        _event(session, report, kind, actor, {"photo_id": photo.id, "photo_kind": photo.kind,
                                              "position": photo.position})
        session.flush()
    return photo


def publish(*, session: Session, report: Report, actor: User | None) -> Report:
    """Prior moderation: make the description and photos of a report public (once)."""
    if not report.published:
        report.published = True
        _event(session, report, states.EventKind.PUBLISHED, actor, {})
        session.flush()
    return report
