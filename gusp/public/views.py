"""From rows to what anyone may read: the public report, its timeline, nearby reports.

Every public serializer is here or calls here: free text through `redact.redact_text`, photos
through `visibility`, events through `public_event`. Staff views (gusp.api.views) keep the original.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import schemas, states
from gusp.config import Settings
from gusp.models import Report, ReportEvent, ReportPhoto
from gusp.public import visibility
from gusp.public.redact import redact_text

# The events a reporter may see; every other kind (assignment, priority, category…) is internal.
PUBLIC_KINDS = frozenset({states.EventKind.CREATED, states.EventKind.STATUS_CHANGED, states.EventKind.COMMENTED,
                          states.EventKind.MERGED})
PENDING_DESCRIPTION = ""


def media_url(key: str, *, settings: Settings) -> str:
    """The public URL of a stored rendition: answers only while the photo may be public."""
    return f"{settings.public_url.rstrip('/')}/media/{key}"


def photo(p: ReportPhoto, *, settings: Settings) -> schemas.PhotoPublic:
    return schemas.PhotoPublic(
        url=media_url(p.display_key, settings=settings),
        thumbnail_url=media_url(p.thumbnail_key, settings=settings),
        width=p.width,
        height=p.height,
        thumbnail_width=p.thumbnail_width,
        thumbnail_height=p.thumbnail_height,
    )


def photos(report: Report, *, settings: Settings, kind: str = "signalement") -> list[schemas.PhotoPublic]:
    return [photo(p, settings=settings) for p in visibility.public_photos(report, kind)]


def first_thumbnail(report: Report, *, settings: Settings) -> str | None:
    shown = visibility.public_photos(report, "signalement")
    return media_url(shown[0].thumbnail_key, settings=settings) if shown else None


def description(report: Report) -> str:
    """The description as the public reads it: redacted, and empty until published."""
    return redact_text(report.description) or "" if report.published else PENDING_DESCRIPTION


def note(event: ReportEvent) -> str | None:
    """An event's note as the public reads it: only if flagged public, always redacted."""
    return redact_text(event.note) if event.note_public and event.note else None


def public_event(event: ReportEvent) -> schemas.PublicEvent | None:
    """What the reporter may read of an event: never who did it, never an internal note."""
    if event.kind not in PUBLIC_KINDS:
        return None
    text = note(event)
    status = None
    if event.kind == states.EventKind.CREATED:
        status = states.ReportStatus.NOUVEAU
    elif event.kind == states.EventKind.STATUS_CHANGED:
        status = states.ReportStatus(event.data["new"])
    elif event.kind == states.EventKind.COMMENTED and not text:
        return None
    return schemas.PublicEvent(
        at=event.at, kind=event.kind, status=status,
        status_label=states.STATUS_LABELS[status] if status else None, note=text,
    )


def events(session: Session, report: Report) -> list[ReportEvent]:
    return list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                .order_by(ReportEvent.at, ReportEvent.id)))


def timeline(session: Session, report: Report, *, settings: Settings) -> list[schemas.PublicEvent]:
    tz = ZoneInfo(settings.timezone)
    shown = [e for e in map(public_event, events(session, report)) if e is not None]
    for entry in shown:
        entry.at = entry.at.astimezone(tz)
    return shown


def master_reference(session: Session, report: Report) -> str | None:
    if report.master_report_id is None:
        return None
    return session.scalar(select(Report.reference).where(Report.id == report.master_report_id))


def quartier_ref(quartier) -> schemas.QuartierRef | None:
    return schemas.QuartierRef(code=quartier.code, nom=quartier.nom) if quartier else None


def location(report: Report) -> schemas.LocationPublic | None:
    """Coordinates, unless the category publishes the place only as its quartier."""
    if not visibility.location_is_public(report):
        return None
    point = to_shape(report.location)
    return location_at(report, lat=point.y, lon=point.x)


def location_at(report: Report, *, lat: float, lon: float) -> schemas.LocationPublic | None:
    """`location` for a report whose coordinates are in hand (the intake's): no geometry to parse."""
    if not visibility.location_is_public(report):
        return None
    return schemas.LocationPublic(lat=lat, lon=lon, accuracy_m=report.accuracy_m)


def attribution(report: Report) -> schemas.AttributionPublic:
    exact = visibility.location_is_public(report)
    return schemas.AttributionPublic(
        kind=states.Attribution(report.attribution),
        quartier=quartier_ref(report.quartier),
        nearest_quartier=quartier_ref(report.nearest_quartier),
        # the distance to the nearest perimeter says where the point is: not for a quartier-only place
        distance_m=None if report.nearest_distance_m is None or not exact else round(report.nearest_distance_m, 1),
    )


def category(report: Report) -> schemas.CategoryPublic:
    return schemas.CategoryPublic.model_validate(report.category, from_attributes=True)


def to_public(session: Session, report: Report, *, settings: Settings) -> schemas.ReportPublic:
    status = states.ReportStatus(report.status)
    tz = ZoneInfo(settings.timezone)
    return schemas.ReportPublic(
        reference=report.reference,
        status=status,
        status_label=states.STATUS_LABELS[status],
        category=category(report),
        description=description(report),
        location=location(report),
        published=report.published,
        attribution=attribution(report),
        photos=photos(report, settings=settings),
        after_photos=photos(report, settings=settings, kind="apres"),
        similar_count=report.similar_count,
        duplicate_of=master_reference(session, report),
        timeline=timeline(session, report, settings=settings),
        created_at=report.created_at.astimezone(tz),
        follow_url=f"{settings.public_url.rstrip('/')}/suivi/{report.reference}",
        # Who and by when, as the resident may know it: the partner in charge (assigned, not merely
        # proposed by routing) and the deadline, no staff note.
        handled_by=report.partner.name if report.partner and report.assigned_at else None,
        expected_by=report.due_at.astimezone(tz) if report.due_at and status in states.OPEN else None,
    )


def nearby(found: list[tuple[Report, float]], *, settings: Settings) -> list[schemas.NearbyReport]:
    """Nearby reports, without those whose place is public only as a quartier: a distance from a
    point the caller chooses would locate them."""
    return [to_nearby(r, d, settings=settings) for r, d in found if visibility.location_is_public(r)]


def to_nearby(report: Report, distance_m: float, *, settings: Settings) -> schemas.NearbyReport:
    status = states.ReportStatus(report.status)
    return schemas.NearbyReport(
        reference=report.reference,
        status=status,
        status_label=states.STATUS_LABELS[status],
        description=description(report),
        distance_m=round(distance_m, 1),
        created_at=report.created_at.astimezone(ZoneInfo(settings.timezone)),
        thumbnail_url=first_thumbnail(report, settings=settings),
    )
