"""FixMyStreet's `servicerequestupdates` extension: the public history of every request.

An update is a status change or a public comment, never the creation, an assignment, an internal
note or who made it. Its status is mySociety's extended status of the request at that moment;
a resolution carries the partner's "after" photo, if any, as `media_url`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gusp import states
from gusp.config import Settings
from gusp.models import Category, Report, ReportEvent, ReportPhoto
from gusp.open311 import query, service_requests, statuses
from gusp.public import visibility
from gusp.public import views as public_views

_PUBLIC_UPDATE = or_(
    ReportEvent.kind == states.EventKind.STATUS_CHANGED,
    and_(ReportEvent.kind == states.EventKind.COMMENTED, ReportEvent.note_public, ReportEvent.note.is_not(None)),
)


def list_updates(
    *, session: Session, settings: Settings, window: query.Window, page: query.Page, base: str
) -> list[dict[str, object]]:
    """Oldest first, so that a client replaying them ends on the current status."""
    rows = session.execute(
        select(ReportEvent, Report.reference)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(_PUBLIC_UPDATE, ReportEvent.at >= window.start, ReportEvent.at <= window.end)
        .order_by(ReportEvent.at, ReportEvent.id)
        .offset(page.offset)
        .limit(page.size)
    ).all()
    report_ids = sorted({event.report_id for event, _ in rows})
    history = _status_history(session, report_ids)
    after_photos = _after_photos(session, report_ids)
    tz = ZoneInfo(settings.timezone)
    updates = []
    for event, reference in rows:
        status, reason = _status_at(history.get(event.report_id, []), event)
        photo = after_photos.get((event.report_id, event.at)) if event.kind == states.EventKind.STATUS_CHANGED else None
        updates.append({
            "update_id": str(event.id),
            "service_request_id": reference,
            "status": statuses.extended(status, reason),
            "updated_datetime": service_requests.w3c(event.at, tz),
            "description": public_views.note(event) or "",
            "media_url": f"{base}/media/{photo}" if photo else "",
        })
    return updates


def _status_history(session: Session, report_ids: list[int]) -> dict[int, list[ReportEvent]]:
    history: dict[int, list[ReportEvent]] = {}
    if not report_ids:
        return history
    events = session.scalars(
        select(ReportEvent)
        .where(ReportEvent.report_id.in_(report_ids), ReportEvent.kind == states.EventKind.STATUS_CHANGED)
        .order_by(ReportEvent.at, ReportEvent.id)
    )
    for event in events:
        history.setdefault(event.report_id, []).append(event)
    return history


def _status_at(changes: list[ReportEvent], event: ReportEvent) -> tuple[str, str | None]:
    """The status (and rejection reason) right after `event`: the last change up to it."""
    status, reason = states.ReportStatus.NOUVEAU.value, None
    for change in changes:
        if (change.at, change.id) > (event.at, event.id):
            break
        status, reason = change.data["new"], change.data.get("reason")
    return status, reason


def _after_photos(session: Session, report_ids: list[int]) -> dict[tuple[int, object], str]:
    """The public "after" photos, by report and time: a resolution stores them at its own instant."""
    if not report_ids:
        return {}
    rows = session.execute(
        select(ReportPhoto.report_id, ReportPhoto.created_at, ReportPhoto.display_key)
        .join(Report, Report.id == ReportPhoto.report_id)
        .join(Category, Category.code == Report.category_code)
        .where(ReportPhoto.report_id.in_(report_ids), ReportPhoto.kind == "apres", visibility.row_is_public())
        .order_by(ReportPhoto.position)
    ).all()
    found: dict[tuple[int, object], str] = {}
    for report_id, at, key in rows:
        found.setdefault((report_id, at), key)
    return found
