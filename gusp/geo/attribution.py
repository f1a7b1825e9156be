"""Which quartier a point belongs to, and whether it is near enough to be reported at all.

Both run on every report, in PostGIS, each in one indexed query. Distances are geodesic
(geography, on the WGS84 spheroid), never degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import errors, states


@dataclass(frozen=True)
class Attribution:
    kind: states.Attribution
    quartier_id: int | None
    nearest_quartier_id: int | None  # only for hors_perimetre
    nearest_distance_m: float | None  # geodesic metres (WGS84 spheroid), only for hors_perimetre


def box(point: str, metres: str) -> str:
    """SQL for a lon/lat box around `point` holding every point within `metres` geodesic metres.

    A degree of latitude is at least 110,574 m and a degree of longitude at least 111,319 m ×
    cos(latitude) on the WGS84 spheroid, so a point that far away cannot lie outside; 1 % is
    added for rounding. The box feeds the GiST index (`&&`) before an exact geodesic test.
    French territories lie far from the poles and the antimeridian, where this would not hold.
    """
    dlat = f"({metres} / 110574.0 * 1.01 + 1e-9)"
    dlon = f"({metres} / (111319.0 * cos(radians(LEAST(abs(ST_Y({point})) + {dlat}, 89.0)))) * 1.01 + 1e-9)"
    return f"ST_Expand({point}, {dlon}, {dlat})"


_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"

# On the boundary counts as inside (ST_Intersects). Official perimeters do not overlap; when a
# locally drawn one does (a quartier de veille drawn over part of a QPV), the smallest — the most
# specific — wins, then the lowest id, so the same point always gets the same quartier.
_INSIDE = text(
    f"""
    SELECT id FROM quartiers
    WHERE ST_Intersects(geom, {_POINT})
    ORDER BY ST_Area(geom::geography), id
    LIMIT 1
    """
)

# The index's KNN (`<->`) ranks by distance in degrees, which a degree of longitude being shorter
# than one of latitude distorts: its first answer need not be the geodesically nearest. Its
# geodesic distance is an upper bound of the true minimum, so every quartier whose box meets the
# box of that radius is a candidate, and the exact minimum is taken over them: exact, and cheap.
# The point is written inline, not joined from a CTE, or the planner cannot use the index for `<->`.
_NEAREST = text(
    f"""
    WITH bound AS MATERIALIZED (
        SELECT ST_Distance(q.geom::geography, {_POINT}::geography) AS d
        FROM quartiers q
        WHERE q.geom IS NOT NULL
        ORDER BY q.geom <-> {_POINT}
        LIMIT 1
    )
    SELECT q.id, ST_Distance(q.geom::geography, {_POINT}::geography) AS distance_m
    FROM bound, quartiers q
    WHERE q.geom && {box(_POINT, "bound.d")}
    ORDER BY distance_m, q.id
    LIMIT 1
    """
)


def in_service_area_sql(point: str, margin: str) -> str:
    """SQL true when `point` lies within `margin` geodesic metres of a service area, or when there is none.

    Without any service area (no perimeter loaded yet) there is nothing to compare with: accepted.
    A point inside an area (nearly every report) is settled by a planar point-in-polygon test; only
    one outside pays the geodesic distance (several milliseconds on the spheroid)."""
    return f"""(NOT EXISTS (SELECT 1 FROM service_areas) OR EXISTS (
        SELECT 1 FROM service_areas s
        WHERE s.geom && {box(point, f"CAST({margin} AS float8)")}
          AND CASE WHEN ST_Intersects(s.geom, {point}) THEN true
                   ELSE ST_DWithin(s.geom::geography, {point}::geography, {margin}) END
    ))"""


_IN_SERVICE_AREA = text(f"SELECT {in_service_area_sql(_POINT, ':margin')}")


def attribute(*, session: Session, lat: float, lon: float) -> Attribution:
    """The quartier whose perimeter covers the point, else the nearest one and how far it is."""
    params = _coordinates(lat=lat, lon=lon)
    quartier_id = session.execute(_INSIDE, params).scalar()
    if quartier_id is not None:
        return Attribution(states.Attribution.PERIMETRE, quartier_id, None, None)
    nearest = session.execute(_NEAREST, params).first()
    if nearest is None:  # no perimeter has a geometry
        return Attribution(states.Attribution.HORS_PERIMETRE, None, None, None)
    return Attribution(states.Attribution.HORS_PERIMETRE, None, nearest.id, float(nearest.distance_m))


def in_service_area(*, session: Session, lat: float, lon: float, margin_m: float) -> bool:
    """True when the point lies within `margin_m` geodesic metres of one commune's service area."""
    params = _coordinates(lat=lat, lon=lon) | {"margin": float(margin_m)}
    return bool(session.execute(_IN_SERVICE_AREA, params).scalar_one())


def _coordinates(*, lat: float, lon: float) -> dict[str, float]:
    """PostGIS would fail on these deep inside a query; refuse them with a clear message instead."""
    lat, lon = float(lat), float(lon)
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise errors.Unprocessable(
            "coordonnees_invalides", "La latitude doit être comprise entre -90 et 90.", field="lat"
        )
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise errors.Unprocessable(
            "coordonnees_invalides", "La longitude doit être comprise entre -180 et 180.", field="lon"
        )
    return {"lat": lat, "lon": lon}
