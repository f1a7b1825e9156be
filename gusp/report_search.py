"""The triage list: filters, sorting and keyset pagination over what a user may see."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from gusp import access, bounds, errors, states
from gusp.models import Quartier, Report, User

INFINITY = datetime(9999, 12, 31, tzinfo=ZoneInfo("UTC"))
SORTS = ("-created_at", "created_at", "due_at")


@dataclass(frozen=True)
class Filters:
    status: tuple[states.ReportStatus, ...] = ()
    quartier: tuple[str, ...] = ()  # quartier codes
    category: tuple[str, ...] = ()
    partner: tuple[int, ...] = ()
    priority: tuple[states.Priority, ...] = ()
    overdue: bool | None = None
    created_from: date | None = None
    created_to: date | None = None  # inclusive
    q: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    hors_perimetre: bool | None = None


def search(
    *,
    session: Session,
    user: User,
    filters: Filters,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
    now: datetime,
    tz: ZoneInfo,
    due: ColumnElement | None = None,
) -> tuple[list[Report], str | None]:
    """One page of reports, and the cursor of the next page (None at the end); `due` is the deadline
    that makes a report overdue (`deadlines.due_expression`; default: the partner's)."""
    if sort not in SORTS:
        raise errors.Unprocessable("tri_invalide", f"Tri inconnu ; tris possibles : {', '.join(SORTS)}.", field="sort")
    query = access.visible_reports(user, select(Report))
    query = query.where(*conditions(filters, now=now, tz=tz, due=due))
    key = _sort_key(sort)
    descending = sort.startswith("-")
    if cursor:
        last_key, last_id = _decode(cursor, sort)
        bound = tuple_(key, Report.id)
        query = query.where(bound < tuple_(literal(last_key), literal(last_id)) if descending
                            else bound > tuple_(literal(last_key), literal(last_id)))
    order = (key.desc(), Report.id.desc()) if descending else (key.asc(), Report.id.asc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)).unique())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode(rows[-1], sort)
    return rows, next_cursor


def conditions(f: Filters, *, now: datetime, tz: ZoneInfo, due: ColumnElement | None = None) -> list:
    """The WHERE clauses of the filters (the map tiles use them too); `due`: see `search`."""
    due = Report.due_at if due is None else due
    where = []
    if f.status:
        where.append(Report.status.in_([s.value for s in f.status]))
    if f.quartier:
        where.append(Report.quartier_id.in_(select(Quartier.id).where(Quartier.code.in_(f.quartier))))
    if f.category:
        where.append(Report.category_code.in_(f.category))
    if f.partner:
        where.append(Report.partner_id.in_(f.partner))
    if f.priority:
        where.append(Report.priority.in_([p.value for p in f.priority]))
    if f.overdue is not None:
        late = and_(Report.status.in_([s.value for s in states.OPEN]), due.is_not(None),
                    due < now)  # never NULL: "not late" holds the reports without a deadline
        where.append(late if f.overdue else ~late)
    if f.created_from:
        where.append(Report.created_at >= datetime.combine(f.created_from, time.min, tz))
    if f.created_to:
        where.append(Report.created_at < datetime.combine(f.created_to + timedelta(days=1), time.min, tz))
    if f.q:
        text_query = func.websearch_to_tsquery("french", f.q)
        where.append(or_(func.to_tsvector("french", Report.description).op("@@")(text_query),
                         Report.reference == f.q.strip().upper()))
    if f.bbox:
        min_lon, min_lat, max_lon, max_lat = f.bbox
        if not (min_lon < max_lon and min_lat < max_lat):
            raise errors.Unprocessable("bbox_invalide", "La zone doit être « lon min, lat min, lon max, lat max ».",
                                       field="bbox")
        where.append(Report.location.op("&&")(func.ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, 4326)))
    if f.hors_perimetre is not None:
        where.append((Report.attribution == states.Attribution.HORS_PERIMETRE.value) == f.hors_perimetre)
    return where


def _sort_key(sort: str):
    if sort == "due_at":
        return func.coalesce(Report.due_at, literal(INFINITY))
    return Report.created_at


def _sort_value(report: Report, sort: str) -> datetime:
    if sort == "due_at":
        return report.due_at or INFINITY
    return report.created_at


def _encode(report: Report, sort: str) -> str:
    raw = json.dumps([sort, _sort_value(report, sort).isoformat(), report.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, report_id = json.loads(base64.urlsafe_b64decode(padded))
        if cursor_sort != sort:
            raise ValueError(sort)
        when, report_id = datetime.fromisoformat(value), int(report_id)
        if when.tzinfo is None or not 0 < report_id <= bounds.INT4_MAX:
            raise ValueError(cursor)
        return when, report_id
    except (ValueError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError):
        raise errors.BadRequest(
            "curseur_invalide", "Ce curseur de pagination est invalide ou vient d'un autre tri.", field="cursor"
        ) from None
