"""Staff response shapes: the detail and the triage list line. Public shapes live in gusp.public.views."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from gusp import access, duplicates, localtime, schemas, schemas_triage, states, triage
from gusp.config import Settings
from gusp.models import Report, ReporterContact, ReportPhoto, User
from gusp.public import views as public_views
from gusp.public import visibility


def staff_media_url(key: str, *, settings: Settings) -> str:
    """Signed-in users only; unlike /media, it serves hidden photos too (and originals, if kept)."""
    return f"{settings.public_url.rstrip('/')}/api/v1/gestion/media/{key}"


def staff_photo(report: Report, p: ReportPhoto, *, settings: Settings, user: User | None = None
                ) -> schemas_triage.PhotoStaff:
    """`user`: when given, the unblurred original's address if this user may see it."""
    original = (f"{settings.public_url.rstrip('/')}/api/v1/gestion/reports/{report.reference}/photos/{p.id}/original"
                if user is not None and p.original_key and access.sees_originals(user) else None)
    return schemas_triage.PhotoStaff(
        kind=p.kind,
        original_url=original,
        blur_regions=[schemas_triage.BlurRegion(x=r["x"], y=r["y"], w=r["w"], h=r["h"], source=r["source"])
                      for r in p.blur_regions],
        id=p.id,
        url=staff_media_url(p.display_key, settings=settings),
        thumbnail_url=staff_media_url(p.thumbnail_key, settings=settings),
        width=p.width,
        height=p.height,
        thumbnail_width=p.thumbnail_width,
        thumbnail_height=p.thumbnail_height,
        hidden=p.hidden,
        public=visibility.photo_is_public(report, p),
        public_url=public_views.media_url(p.display_key, settings=settings)
        if visibility.photo_is_public(report, p) else None,
    )


def staff_photos(report: Report, *, settings: Settings, kind: str | None = "signalement", user: User | None = None
                 ) -> list[schemas_triage.PhotoStaff]:
    """The photos of one kind (None: every photo, before and after)."""
    return [staff_photo(report, p, settings=settings, user=user) for p in report.photos if kind in (None, p.kind)]


def _first_thumbnail(report: Report, settings: Settings) -> str | None:
    first = next((p for p in report.photos if p.kind == "signalement"), None)
    return staff_media_url(first.thumbnail_key, settings=settings) if first else None


def _partner_ref(report: Report) -> schemas_triage.PartnerRef | None:
    return schemas_triage.PartnerRef(id=report.partner.id, name=report.partner.name) if report.partner else None


def to_staff(session: Session, report: Report, *, user: User, settings: Settings, now: datetime
             ) -> schemas_triage.ReportStaff:
    """The original text, the exact place, every photo (hidden ones flagged), the public timeline beside the staff one."""
    public = public_views.to_public(session, report, settings=settings)
    point = to_shape(report.location)
    contact = session.get(ReporterContact, report.id) if access.sees_contact(user) else None
    tz = ZoneInfo(settings.timezone)
    fields = public.model_dump(exclude={"description", "location", "photos", "after_photos", "attribution"})
    return schemas_triage.ReportStaff(
        **fields,
        description=report.description,
        location=schemas.LocationPublic(lat=point.y, lon=point.x, accuracy_m=report.accuracy_m),
        attribution=schemas.AttributionPublic(
            kind=states.Attribution(report.attribution),
            quartier=public_views.quartier_ref(report.quartier),
            nearest_quartier=public_views.quartier_ref(report.nearest_quartier),
            distance_m=None if report.nearest_distance_m is None else round(report.nearest_distance_m, 1),
        ),
        photos=staff_photos(report, settings=settings, user=user),
        after_photos=staff_photos(report, settings=settings, kind="apres", user=user),
        public_description=public.description,
        location_public=public.location is not None,
        source=states.Source(report.source),
        priority=states.Priority(report.priority),
        partner=_partner_ref(report),
        due_at=report.due_at and report.due_at.astimezone(tz),
        overdue=triage.is_overdue(report, now=now, settings=settings),
        acknowledged_at=report.acknowledged_at,
        assigned_at=report.assigned_at,
        resolved_at=report.resolved_at,
        closed_at=report.closed_at,
        rejection_reason=report.rejection_reason,
        master_reference=public.duplicate_of,
        duplicate_references=duplicates.merged_into(session=session, report=report),
        contact=schemas_triage.ContactStaff.model_validate(contact, from_attributes=True) if contact else None,
        staff_timeline=[
            schemas_triage.TimelineEntry(at=e.at.astimezone(tz), kind=e.kind, actor=e.actor,
                                         data=localtime.in_data(e.data or {}),
                                         note=e.note, note_public=e.note_public)
            for e in public_views.events(session, report)
        ],
        staff_photos=staff_photos(report, settings=settings, kind=None, user=user),
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
        quartier=public_views.quartier_ref(report.quartier),
        partner=_partner_ref(report),
        description=report.description,
        lat=point.y,
        lon=point.x,
        created_at=report.created_at,
        due_at=report.due_at,
        overdue=triage.is_overdue(report, now=now, settings=settings),
        similar_count=report.similar_count,
        thumbnail_url=_first_thumbnail(report, settings),
    )
