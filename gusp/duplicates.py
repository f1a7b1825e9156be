"""Likely duplicates: open reports of the same category, close by in space and time; and the
link from a duplicate to its master (the status change of a merge belongs to `triage`).

Distances are geodesic metres on the WGS84 spheroid (geography), within each category's
`duplicate_radius_m`. The search reads the partial expression GiST index
`ix_reports_open_location_geog`, so the query says `location::geography` and the index's
predicate (open, not merged) exactly as the index does.
"""

from __future__ import annotations

import math
from datetime import datetime

from geoalchemy2.shape import to_shape
from sqlalchemy import Float, column, select, text
from sqlalchemy.orm import Session

from gusp import categories, errors, states
from gusp.config import Settings
from gusp.models import Report

# A master is never a duplicate itself (attach_duplicate keeps it so), so chains are one link
# long; the bound only guards against rows written by other means.
_MAX_CHAIN = 100
_OPEN = ", ".join(f"'{s.value}'" for s in sorted(states.OPEN))
_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"

# Candidates: open, not merged, same category, created in [reference - window, reference + after].
# `:exclude_id` is 0 for a report not yet sent (identities start at 1). The point is written
# inline so that the planner turns ST_DWithin into an index condition (public for EXPLAIN checks).
SEARCH_SQL = f"""
    SELECT r.*, ST_Distance(r.location::geography, {_POINT}) AS distance_m
    FROM reports r
    WHERE r.category_code = :category
      AND r.status IN ({_OPEN})
      AND r.master_report_id IS NULL
      AND r.id <> :exclude_id
      AND r.created_at >= CAST(:reference AS timestamptz) - make_interval(days => :window_days)
      AND r.created_at <= CAST(:reference AS timestamptz) + make_interval(days => :after_days)
      AND ST_DWithin(r.location::geography, {_POINT}, :radius)
    ORDER BY distance_m, r.id
    LIMIT :limit
    """
_SEARCH = text(SEARCH_SQL)


def likely_duplicates(
    *, session: Session, settings: Settings, report: Report, limit: int = 10
) -> list[tuple[Report, float]]:
    """Open reports this one may repeat, or that repeat it: same category, within the category's
    radius, created in the window before or after it; nearest first, with the distance in metres.
    Both ways: the older report lists the newer one too (its `created_at` says which is which)."""
    session.flush()
    point = to_shape(report.location)
    return _search(
        session=session,
        category_code=report.category_code,
        radius_m=report.category.duplicate_radius_m,
        lon=point.x,
        lat=point.y,
        reference=report.created_at,
        window_days=settings.duplicate_window_days,
        after_days=settings.duplicate_window_days,
        exclude_id=report.id,
        limit=limit,
    )


def likely_duplicates_at(
    *,
    session: Session,
    settings: Settings,
    category_code: str,
    lat: float,
    lon: float,
    now: datetime | None = None,
    limit: int = 10,
) -> list[tuple[Report, float]]:
    """What a resident is about to report may already be known: the same search around a point,
    before anything is sent (`now` defaults to the database's clock)."""
    category = categories.get_active(session=session, code=category_code)
    problems: list[errors.GuspError] = []
    if category is None:
        problems.append(errors.Unprocessable(
            "categorie_inconnue", "Cette catégorie n'existe pas : choisissez-en une dans la liste.", field="category"
        ))
    if not (isinstance(lat, (int, float)) and math.isfinite(lat) and -90 <= lat <= 90):
        problems.append(errors.Unprocessable("latitude_invalide", "Latitude invalide.", field="lat"))
    if not (isinstance(lon, (int, float)) and math.isfinite(lon) and -180 <= lon <= 180):
        problems.append(errors.Unprocessable("longitude_invalide", "Longitude invalide.", field="lon"))
    if problems:
        raise errors.InvalidFields(problems)
    return _search(
        session=session,
        category_code=category_code,
        radius_m=category.duplicate_radius_m,
        lon=float(lon),
        lat=float(lat),
        reference=now or session.scalar(text("SELECT now()")),
        window_days=settings.duplicate_window_days,
        after_days=0,
        exclude_id=0,
        limit=limit,
    )


def _search(
    *,
    session: Session,
    category_code: str,
    radius_m: float,
    lon: float,
    lat: float,
    reference: datetime,
    window_days: int,
    after_days: int,
    exclude_id: int,
    limit: int,
) -> list[tuple[Report, float]]:
    rows = session.execute(
        select(Report, column("distance_m", Float)).from_statement(_SEARCH),
        {
            "category": category_code, "radius": float(radius_m), "lon": lon, "lat": lat,
            "reference": reference, "window_days": window_days, "after_days": after_days, "exclude_id": exclude_id, "limit": limit,
        },
    ).all()
    return [(report, float(distance)) for report, distance in rows]


def merged_into(*, session: Session, report: Report) -> list[str]:
    """References of the duplicates merged into this report (its master side of the link)."""
    return list(session.scalars(
        select(Report.reference).where(Report.master_report_id == report.id).order_by(Report.created_at, Report.id)
    ))


def attach_duplicate(*, session: Session, duplicate: Report, master: Report) -> None:
    """Point `duplicate` to its master and count it there; statuses and events are triage's.

    A master that is itself a duplicate is followed to its own master, and the duplicate's own
    duplicates move with it, so every chain stays one link long. Both rows are locked, in id
    order, so concurrent merges neither lose a count nor build a cycle.
    """
    session.flush()  # the caller's pending changes would be lost when the rows are reloaded
    root = _root(session=session, report=master)
    if root.id == duplicate.id:
        why = ("un signalement ne peut pas être fusionné avec lui-même" if master.id == duplicate.id
               else f"{master.reference} est déjà un doublon de {duplicate.reference}")
        raise _impossible(why)
    _lock(session, duplicate, root)
    if duplicate.master_report_id is not None:
        current = session.get(Report, duplicate.master_report_id)
        raise _impossible(
            f"{duplicate.reference} est déjà rattaché à {current.reference if current else 'un autre signalement'}"
        )
    if root.master_report_id is not None:  # changed between reading and locking: start again
        return attach_duplicate(session=session, duplicate=duplicate, master=root)
    followers = list(session.scalars(select(Report).where(Report.master_report_id == duplicate.id)))
    for follower in followers:
        follower.master_report_id = root.id
    duplicate.master_report_id = root.id
    root.similar_count += 1 + len(followers)
    duplicate.similar_count = 0
    session.flush()
    return None


def _root(*, session: Session, report: Report) -> Report:
    seen = {report.id}
    while report.master_report_id is not None:
        report = session.get(Report, report.master_report_id)
        if report is None or report.id in seen or len(seen) > _MAX_CHAIN:
            raise _impossible("la chaîne des signalements maîtres forme une boucle")
        seen.add(report.id)
    return report


def _lock(session: Session, *reports: Report) -> None:
    """Lock the rows in id order, then reload them: values read before the lock may be stale."""
    ids = sorted(r.id for r in reports)
    session.execute(select(Report.id).where(Report.id.in_(ids)).order_by(Report.id).with_for_update()).all()
    for report in reports:
        session.refresh(report)


def _impossible(why: str) -> errors.Conflict:
    return errors.Conflict("fusion_impossible", f"Fusion impossible : {why}.")
