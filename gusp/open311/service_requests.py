"""The read side of service requests: `GET requests`, `GET requests/{id}`, `GET tokens/{token}`.

Only what the public view of a report shows goes out: no contact detail, no actor, no internal
note, never a client's own free text about the place (text and photos go through gusp.public) (`address` stays empty: the place is `lat`
and `long`, and an `address_string` may name people). The partner is
named as `agency_responsible` once a coordinator has handed the report over, not while routing
has only proposed it; `status_notes` is the latest public note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.config import Settings
from gusp.models import Category, Report, ReportEvent
from gusp.open311 import query, statuses
from gusp.public import redact, visibility
from gusp.public import views as public_views


@dataclass(frozen=True)
class RequestFilter:
    ids: Sequence[str] = ()  # overrides every other filter, as the spec says
    service_codes: Sequence[str] = ()
    statuses: Sequence[str] = ()  # open / closed
    window: query.Window | None = None


def w3c(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def media_base(settings: Settings) -> str:
    """Absolute URLs with GUSP_PUBLIC_URL, else relative ones: never the `Host` a caller sent."""
    return settings.public_url.rstrip("/")


def parse_filter(
    *,
    session: Session,
    ids: Sequence[str],
    service_codes: Sequence[str],
    status: Sequence[str],
    start_date: str | None,
    end_date: str | None,
    now: datetime,
    tz: ZoneInfo,
) -> RequestFilter:
    """Check the arguments of `GET requests`; `service_request_id` overrides all the others."""
    wanted = query.comma_list(ids)
    if wanted:
        if len(wanted) > query.IDS_MAX:
            raise errors.BadRequest(
                "trop_d_identifiants", f"Au plus {query.IDS_MAX} service_request_id à la fois.",
                field="service_request_id",
            )
        return RequestFilter(ids=[i.upper() for i in wanted])
    codes = query.comma_list(service_codes)
    if codes:
        known = set(session.scalars(select(Category.code).where(Category.code.in_(codes))))
        if unknown := [c for c in codes if c not in known]:
            raise errors.BadRequest(
                "service_code_inconnu", f"Code de service inconnu : {', '.join(unknown)}.", field="service_code"
            )
    wanted_statuses = [s.lower() for s in query.comma_list(status)]
    if bad := [s for s in wanted_statuses if s not in statuses.BASIC]:
        raise errors.BadRequest(
            "statut_inconnu", f"Statut inconnu : {', '.join(bad)} ; valeurs possibles : open, closed.", field="status"
        )
    return RequestFilter(
        service_codes=codes,
        statuses=wanted_statuses,
        window=query.window(start_date=start_date, end_date=end_date, now=now, tz=tz),
    )


def list_requests(
    *, session: Session, settings: Settings, where: RequestFilter, page: query.Page, extended: bool, base: str
) -> list[dict[str, object]]:
    """Newest first, one page of them."""
    stmt: Select = select(Report)
    if where.ids:
        stmt = stmt.where(Report.reference.in_(where.ids))
    else:
        if where.window is not None:
            stmt = stmt.where(Report.created_at >= where.window.start, Report.created_at <= where.window.end)
        if where.service_codes:
            stmt = stmt.where(Report.category_code.in_(where.service_codes))
        if where.statuses:
            wanted = set().union(*(statuses.gusp_statuses(s) for s in where.statuses))
            stmt = stmt.where(Report.status.in_(sorted(s.value for s in wanted)))
    stmt = stmt.order_by(Report.created_at.desc(), Report.id.desc()).offset(page.offset).limit(page.size)
    reports = list(session.scalars(stmt).unique())
    return render_all(session=session, settings=settings, reports=reports, extended=extended, base=base)


def get_request(*, session: Session, settings: Settings, reference: str, extended: bool, base: str
                ) -> list[dict[str, object]]:
    report = session.scalars(select(Report).where(Report.reference == reference.strip().upper())).first()
    if report is None:
        raise errors.NotFound(
            "service_request_introuvable", f"Aucune demande ne porte l'identifiant « {reference} ».",
            field="service_request_id",
        )
    return render_all(session=session, settings=settings, reports=[report], extended=extended, base=base)


def from_token(*, session: Session, token: str) -> list[dict[str, object]]:
    reference = session.scalar(select(Report.reference).where(Report.open311_token == token.strip().lower()))
    if reference is None:
        raise errors.NotFound("jeton_introuvable", f"Aucune demande ne correspond au jeton « {token} ».",
                              field="token")
    return [{"service_request_id": reference, "token": token.strip().lower()}]


def render_all(*, session: Session, settings: Settings, reports: Sequence[Report], extended: bool, base: str
               ) -> list[dict[str, object]]:
    notes = _latest_public_notes(session, [r.id for r in reports])
    return [_render(r, notes.get(r.id), settings=settings, extended=extended, base=base) for r in reports]


def _latest_public_notes(session: Session, report_ids: list[int]) -> dict[int, str]:
    if not report_ids:
        return {}
    rows = session.execute(
        select(ReportEvent.report_id, ReportEvent.note)
        .where(ReportEvent.report_id.in_(report_ids), ReportEvent.note_public, ReportEvent.note.is_not(None),
               ReportEvent.note != "")
        .order_by(ReportEvent.report_id, ReportEvent.at.desc(), ReportEvent.id.desc())
        .distinct(ReportEvent.report_id)
    ).all()
    return {report_id: redact.redact_text(note) for report_id, note in rows}


def _render(report: Report, note: str | None, *, settings: Settings, extended: bool, base: str) -> dict[str, object]:
    """Through the public view layer: redacted text, public photos only, no coordinates for a
    category whose place is public only as its quartier (`lat` and `long` are then empty)."""
    tz = ZoneInfo(settings.timezone)
    place = public_views.location(report)
    status = states.ReportStatus(report.status)
    shown = visibility.public_photos(report, "signalement")
    first = shown[0] if shown else None
    handed_over = report.partner is not None and report.assigned_at is not None
    return {
        "service_request_id": report.reference,
        "status": statuses.extended(report.status, report.rejection_reason) if extended
        else statuses.basic(report.status),
        "status_notes": note,
        "service_name": report.category.label,
        "service_code": report.category_code,
        "description": public_views.description(report) or None,
        "agency_responsible": report.partner.name if handed_over else None,
        "service_notice": None,
        "requested_datetime": w3c(report.created_at, tz),
        "updated_datetime": w3c(report.updated_at, tz),
        "expected_datetime": w3c(report.due_at, tz) if status in states.OPEN else None,
        "address": None,  # GUSP does not geocode; a client's address_string is free text kept for staff
        "address_id": None,
        "zipcode": None,
        "lat": round(place.lat, 7) if place else None,
        "long": round(place.lon, 7) if place else None,
        "media_url": f"{base}/media/{first.display_key}" if first else None,
    }
