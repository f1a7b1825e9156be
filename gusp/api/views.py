"""From rows to response shapes: the public view, the staff detail, the triage list line."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import access, schemas, schemas_triage, states, triage
from gusp.config import Settings
from gusp.models import Report, ReportEvent, ReporterContact, ReportPhoto, User

_PUBLIC_KINDS = {states.EventKind.CREATED, states.EventKind.STATUS_CHANGED, states.EventKind.MERGED}


def media_url(key: str, *, settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/media/{key}"


def _photo(p: ReportPhoto, settings: Settings) -> schemas.PhotoPublic:
    return schemas.PhotoPublic(
        url=media_url(p.display_key, settings=settings),
        thumbnail_url=media_url(p.thumbnail_key, settings=settings),
        width=p.width,
        height=p.height,
        thumbnail_width=p.thumbnail_width,
        thumbnail_height=p.thumbnail_height,
    )


def to_public_photos(report: Report, *, settings: Settings) -> list[schemas.PhotoPublic]:
    return [_photo(p, settings) for p in report.photos if p.kind == "signalement"]


def _first_thumbnail(report: Report, settings: Settings) -> str | None:
    first = next((p for p in report.photos if p.kind == "signalement"), None)
    return media_url(first.thumbnail_key, settings=settings) if first else None


def _partner_ref(report: Report) -> schemas_triage.PartnerRef | None:
    return schemas_triage.PartnerRef(id=report.partner.id, name=report.partner.name) if report.partner else None


def _ref(quartier) -> schemas.QuartierRef | None:
    return schemas.QuartierRef(code=quartier.code, nom=quartier.nom) if quartier else None


def _events(session: Session, report: Report) -> list[ReportEvent]:
    return list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                .order_by(ReportEvent.at, ReportEvent.id)))


def _public_event(event: ReportEvent) -> schemas.PublicEvent | None:
    """What the reporter may read of an event: never who did it, never an internal note."""
    note = event.note if event.note_public else None
    if event.kind == states.EventKind.CREATED:
        status = states.ReportStatus.NOUVEAU
    elif event.kind == states.EventKind.STATUS_CHANGED:
        status = states.ReportStatus(event.data["new"])
    elif event.kind == states.EventKind.COMMENTED and note:
        status = None
    elif event.kind == states.EventKind.MERGED:
        status = None
    else:
        return None
    return schemas.PublicEvent(
        at=event.at, kind=event.kind, status=status,
        status_label=states.STATUS_LABELS[status] if status else None, note=note,
    )


def _master_reference(session: Session, report: Report) -> str | None:
    if report.master_report_id is None:
        return None
    return session.scalar(select(Report.reference).where(Report.id == report.master_report_id))


def to_public(session: Session, report: Report, *, settings: Settings) -> schemas.ReportPublic:
    point = to_shape(report.location)
    status = states.ReportStatus(report.status)
    tz = ZoneInfo(settings.timezone)
    timeline = [e for e in map(_public_event, _events(session, report)) if e is not None]
    for entry in timeline:
        entry.at = entry.at.astimezone(tz)
    return schemas.ReportPublic(
        reference=report.reference,
        status=status,
        status_label=states.STATUS_LABELS[status],
        category=schemas.CategoryPublic.model_validate(report.category, from_attributes=True),
        description=report.description,
        location=schemas.LocationPublic(lat=point.y, lon=point.x, accuracy_m=report.accuracy_m),
        attribution=schemas.AttributionPublic(
            kind=states.Attribution(report.attribution),
            quartier=_ref(report.quartier),
            nearest_quartier=_ref(report.nearest_quartier),
            distance_m=None if report.nearest_distance_m is None else round(report.nearest_distance_m, 1),
        ),
        photos=to_public_photos(report, settings=settings),
        after_photos=[_photo(p, settings) for p in report.photos if p.kind == "apres"],
        similar_count=report.similar_count,
        duplicate_of=_master_reference(session, report),
        timeline=timeline,
        created_at=report.created_at.astimezone(tz),
        follow_url=f"{settings.public_url.rstrip('/')}/suivi/{report.reference}",
    )


def to_staff(session: Session, report: Report, *, user: User, settings: Settings, now: datetime
             ) -> schemas_triage.ReportStaff:
    public = to_public(session, report, settings=settings)
    contact = session.get(ReporterContact, report.id) if access.sees_contact(user) else None
    tz = ZoneInfo(settings.timezone)
    return schemas_triage.ReportStaff(
        **public.model_dump(),
        source=states.Source(report.source),
        priority=states.Priority(report.priority),
        partner=_partner_ref(report),
        due_at=report.due_at and report.due_at.astimezone(tz),
        overdue=triage.is_overdue(report, now=now),
        acknowledged_at=report.acknowledged_at,
        assigned_at=report.assigned_at,
        resolved_at=report.resolved_at,
        closed_at=report.closed_at,
        rejection_reason=report.rejection_reason,
        master_reference=public.duplicate_of,
        contact=schemas_triage.ContactStaff.model_validate(contact, from_attributes=True) if contact else None,
        staff_timeline=[
            schemas_triage.TimelineEntry(at=e.at.astimezone(tz), kind=e.kind, actor=e.actor, data=e.data,
                                         note=e.note, note_public=e.note_public)
            for e in _events(session, report)
        ],
    )


def to_summary(report: Report, *, settings: Settings, now: datetime) -> schemas_triage.ReportSummary:
    point = to_shape(report.location)
    status = states.ReportStatus(report.status)
    return schemas_triage.ReportSummary(
        reference=report.reference,
        status=status,
        status_label=states.STATUS_LABELS[status],
        priority=states.Priority(report.priority),
        category=schemas.CategoryPublic.model_validate(report.category, from_attributes=True),
        quartier=_ref(report.quartier),
        partner=_partner_ref(report),
        description=report.description,
        lat=point.y,
        lon=point.x,
        created_at=report.created_at,
        due_at=report.due_at,
        overdue=triage.is_overdue(report, now=now),
        similar_count=report.similar_count,
        thumbnail_url=_first_thumbnail(report, settings),
    )


def to_nearby(report: Report, distance_m: float, *, settings: Settings) -> schemas.NearbyReport:
    status = states.ReportStatus(report.status)
    return schemas.NearbyReport(
        reference=report.reference,
        status=status,
        status_label=states.STATUS_LABELS[status],
        description=report.description,
        distance_m=round(distance_m, 1),
        created_at=report.created_at.astimezone(ZoneInfo(settings.timezone)),
        thumbnail_url=_first_thumbnail(report, settings),
    )
