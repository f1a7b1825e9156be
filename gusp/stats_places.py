"""Recurring hotspots: places where reports of one category keep coming back.

Found with PostGIS `ST_ClusterDBSCAN` over the reports created in the period, category by
category, in Lambert-93 (EPSG:2154, metres) so that the radius means metres everywhere in
mainland France: a point with at least `min_points` reports of its category within `eps_m`
(itself included) starts or extends a cluster. Reports outside every perimeter take part too
(their quartier is then "hors périmètre"). Same scope and rules as `gusp.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, select
from sqlalchemy.orm import Session

from gusp import errors, stats
from gusp.models import Report, User

LAMBERT_93 = 2154
MAX_EPS_M = 500.0


@dataclass(frozen=True)
class Hotspot:
    category_code: str
    category_label: str
    count: int
    lat: float  # centroid, WGS84
    lon: float
    radius_m: float  # farthest report from the centroid
    quartier_code: str | None  # the quartier most of its reports are in
    quartier_name: str
    first_at: date  # local dates of its first and last report
    last_at: date


@dataclass(frozen=True)
class Hotspots:
    meta: stats.Meta
    eps_m: float
    min_points: int
    count: int  # clusters found (the list may be cut at `limit`)
    data: list[Hotspot]
    comparison: Hotspots | None = None


def hotspots(
    *, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, now: datetime,
    eps_m: float = 50.0, min_points: int = 3, limit: int = 100,
) -> Hotspots:
    """Clusters of same-category reports, largest first: centroid, size, category, quartier.

    The radius is the farthest report from the centroid, measured in Lambert-93.
    """
    if not 0 < eps_m <= MAX_EPS_M:
        raise errors.Unprocessable("rayon_invalide", f"Le rayon doit être entre 0 et {MAX_EPS_M:.0f} m.", field="eps_m")
    if min_points < 2:
        raise errors.Unprocessable("minimum_invalide", "Il faut au moins 2 signalements par point chaud.",
                                   field="min_points")
    stats.tune(session)
    # The period's points first (an index-only scan by date), then clustered category by category:
    # left to itself the planner walks the category index over the whole table to skip a sort.
    points = stats.visible(user, select(
        Report.category_code,
        Report.quartier_id,
        func.ST_Transform(Report.location, LAMBERT_93).label("xy"),
        Report.created_at,
    ).where(*stats.conditions(session=session, scope=scope, tz=tz))).cte("points").prefix_with("MATERIALIZED")
    clustered = select(
        points,
        func.ST_ClusterDBSCAN(points.c.xy, eps_m, min_points).over(partition_by=points.c.category_code).label("cid"),
    ).subquery()
    collected = func.ST_Collect(clustered.c.xy)
    centroid = func.ST_Transform(func.ST_Centroid(collected), 4326)
    grouped = (
        select(
            clustered.c.category_code,
            func.count().label("n"),
            func.ST_Y(centroid).label("lat"),
            func.ST_X(centroid).label("lon"),
            func.ST_MaxDistance(func.ST_Centroid(collected), collected).label("radius"),
            func.mode().within_group(clustered.c.quartier_id).label("quartier_id"),
            cast(func.timezone(tz.key, func.min(clustered.c.created_at)), Date).label("first_at"),
            cast(func.timezone(tz.key, func.max(clustered.c.created_at)), Date).label("last_at"),
            func.count().over().label("clusters"),
        )
        .where(clustered.c.cid.is_not(None))
        .group_by(clustered.c.category_code, clustered.c.cid)
        .order_by(func.count().desc(), clustered.c.category_code, "lat", "lon")
        .limit(limit)
    )
    labels = stats.Labels.load(session)
    rows = session.execute(grouped).mappings().all()
    data = [
        Hotspot(
            category_code=row["category_code"],
            category_label=labels.categories.get(row["category_code"], row["category_code"]),
            count=row["n"], lat=round(row["lat"], 6), lon=round(row["lon"], 6), radius_m=round(row["radius"], 1),
            quartier_code=labels.quartier(row["quartier_id"])[0], quartier_name=labels.quartier(row["quartier_id"])[1],
            first_at=row["first_at"], last_at=row["last_at"],
        )
        for row in rows
    ]
    return Hotspots(
        meta=stats.meta(scope=scope, user=user, tz=tz, now=now,
                        basis=f"Signalements créés pendant la période ; regroupement DBSCAN par catégorie, "
                              f"{min_points} signalements au moins à {eps_m:g} m (Lambert-93)."),
        eps_m=eps_m, min_points=min_points, count=rows[0]["clusters"] if rows else 0, data=data,
    )
