"""Perimeters of the quartiers, for a session: loading a GeoJSON file, rebuilding service areas,
serving them back. The loading itself is gusp.geo.loading's, on the session's own connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp.geo import loading, reading

if TYPE_CHECKING:
    from gusp import models

ANCT_LICENCE, ANCT_SOURCE = loading.ANCT_LICENCE, loading.ANCT_SOURCE
WGS84, LAMBERT_93 = reading.WGS84, reading.LAMBERT_93
LoadResult = loading.LoadResult


def load(*, session: Session, path: Path, dry_run: bool = False) -> LoadResult:
    """Create or update quartiers by code from a GeoJSON file; all of it or, if refused, nothing.
    With `dry_run`, the same checks and counts, then nothing is kept."""
    parsed = reading.read(path)  # before the lock: a refused file never waits for it
    session.flush()
    result = loading.load(session.connection().connection.driver_connection, parsed, dry_run=dry_run)
    # The load bypassed the ORM: loaded Quartier objects would show stale values.
    for obj in list(session.identity_map.values()):
        if getattr(type(obj), "__tablename__", None) == "quartiers":
            session.expire(obj)
    return result


def refresh_service_areas(*, session: Session) -> int:
    """Rebuild each commune's service area, the convex hull of its perimeters; returns how many."""
    session.flush()
    return loading.refresh_service_areas(session.connection().connection.driver_connection)


def feature_collection(*, session: Session) -> str:
    """Every quartier as GeoJSON, built by PostgreSQL so it scales to the national file."""
    return session.execute(
        text(
            """
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', COALESCE(json_agg(json_build_object(
                    'type', 'Feature',
                    'id', id,
                    'properties', json_build_object(
                        'id', id, 'code', code, 'nom', nom, 'commune', commune, 'insee', insee, 'type', type,
                        'population', population, 'source', source, 'licence', licence,
                        -- a point inside the perimeter: where a report goes when the map cannot be shown
                        'point', CASE WHEN geom IS NULL THEN NULL ELSE json_build_array(
                            round(ST_X(ST_PointOnSurface(geom))::numeric, 6),
                            round(ST_Y(ST_PointOnSurface(geom))::numeric, 6)) END),
                    'geometry', ST_AsGeoJSON(geom, 6)::json  -- 6 decimals: about 0.1 m
                ) ORDER BY nom, code), '[]'::json)
            )::text
            FROM quartiers
            """
        )
    ).scalar_one()


def get_by_code(*, session: Session, code: str) -> models.Quartier | None:
    from gusp import models  # not at import: `gusp perimeters load` starts without the ORM models

    return session.scalars(select(models.Quartier).where(models.Quartier.code == code)).one_or_none()
