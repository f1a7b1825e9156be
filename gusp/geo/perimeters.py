"""Perimeters of the quartiers: loading a GeoJSON file, rebuilding service areas, serving them back.

A file is read and checked by gusp.geo.reading (msgspec and GEOS, C speed), then copied in one
COPY to a temporary table; only once the whole file is valid is it applied to `quartiers`, by one
upsert, in a savepoint of the caller's transaction: a refused file changes nothing, even if the
caller goes on with its transaction. Outlines that cross themselves are repaired, loaded and listed.
A dry run does all of it and rolls the savepoint back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp import db
from gusp.geo import features, reading

if TYPE_CHECKING:
    from gusp import models

ANCT_LICENCE = "Licence Ouverte / Open Licence v2.0 (Etalab)"
ANCT_SOURCE = "ANCT, Quartiers prioritaires de la politique de la ville"
WGS84, LAMBERT_93 = reading.WGS84, reading.LAMBERT_93
_STAGING = "gusp_perimeters_staging"
_LOCK = "gusp.geo.perimeters.load"
_COLUMNS = ("idx", "code", "nom", "commune", "insee", "type", "population", "source", "licence", "anct", "wkb",
            "hull")
_TYPES = ("int4", "text", "text", "text", "text", "text", "int4", "text", "text", "bool", "bytea", "bytea")


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Quartiers left without a perimeter: the file gave none and none was stored.
    without_geometry: list[str] = field(default_factory=list)
    # The file gave no perimeter but one was stored (drawn locally): kept, never erased.
    kept_geometry: list[str] = field(default_factory=list)
    # Stored quartiers the file does not mention: kept (reports point to them).
    not_in_file: list[str] = field(default_factory=list)
    srid: int = WGS84
    service_areas: int = 0
    created_codes: list[str] = field(default_factory=list)
    updated_codes: list[str] = field(default_factory=list)
    # Outlines that crossed themselves (or were otherwise invalid): repaired with make_valid and loaded.
    repaired: list[reading.Repair] = field(default_factory=list)
    dry_run: bool = False


def load(*, session: Session, path: Path, dry_run: bool = False) -> LoadResult:
    """Create or update quartiers by code from a GeoJSON file; all of it or, if refused, nothing.
    With `dry_run`, the same checks and counts, then nothing is kept."""
    parsed = reading.read(path)  # before the lock: a refused file never waits for it
    db.advisory_xact_lock(session, _LOCK)
    # A fresh table's statistics make the planner see thousands of rows: JIT compiling would cost
    # more than the statements it speeds up.
    session.execute(text("SET LOCAL jit = off"))
    savepoint = session.begin_nested()
    try:
        session.execute(text(_STAGING_DDL))
        _copy_staging(session, parsed.rows)
        result = _apply(session=session, srid=parsed.srid, members=parsed.members)
        result.service_areas = refresh_service_areas(session=session, staged_hulls=True)
        session.execute(text(f"DROP TABLE {_STAGING}"))
    except BaseException:
        savepoint.rollback()
        raise
    result.repaired, result.dry_run = parsed.repaired, dry_run
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    # The upsert bypassed the ORM: loaded Quartier objects would show stale values.
    for obj in list(session.identity_map.values()):
        if getattr(type(obj), "__tablename__", None) == "quartiers":
            session.expire(obj)
    return result


def _copy_staging(session: Session, rows: list[dict[str, Any]]) -> None:
    """Every row in one binary COPY, on the session's own connection and transaction."""
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {_STAGING} ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(_TYPES))
        for row in rows:
            copy.write_row([row[column] for column in _COLUMNS])


def refresh_service_areas(*, session: Session, staged_hulls: bool = False) -> int:
    """Rebuild each commune's service area, the convex hull of its perimeters; returns how many.

    The hull of the perimeters' hulls is the same polygon: each quartier's hull comes from the file
    being loaded when it gave one (`staged_hulls`, computed by GEOS while reading), else from PostGIS."""
    session.execute(text("DELETE FROM service_areas"))  # not TRUNCATE: readers keep going
    hull = "COALESCE(ST_GeomFromWKB(s.hull, 4326), ST_ConvexHull(q.geom))" if staged_hulls else "ST_ConvexHull(q.geom)"
    staged = f"LEFT JOIN {_STAGING} s ON s.code = q.code" if staged_hulls else ""
    return session.execute(
        text(
            f"""
            INSERT INTO service_areas (insee, commune, geom)
            SELECT insee, commune, hull FROM (
                SELECT q.insee, min(q.commune) AS commune, ST_ConvexHull(ST_Collect({hull})) AS hull
                FROM quartiers q {staged}
                WHERE q.geom IS NOT NULL AND q.insee IS NOT NULL
                GROUP BY q.insee
            ) hulls
            WHERE GeometryType(hull) = 'POLYGON'
            """
        )
    ).rowcount


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


_STAGING_DDL = f"""
CREATE TEMP TABLE {_STAGING} (
    idx integer PRIMARY KEY, code text NOT NULL UNIQUE, nom text NOT NULL, commune text,
    insee text, type text NOT NULL, population integer, source text, licence text,
    anct boolean NOT NULL, wkb bytea, hull bytea
) ON COMMIT DROP;
-- copied once, read once: compressing the outlines would cost more than it saves
ALTER TABLE {_STAGING} ALTER COLUMN wkb SET STORAGE EXTERNAL, ALTER COLUMN hull SET STORAGE EXTERNAL
"""

# A null geometry in the file never erases a stored one (a perimeter drawn locally for a
# quartier de veille survives reloading the official file). `updated_at` only moves, and a row
# is only returned, when something really changed; `xmax = 0` tells an insert from an update.
_UPSERT = f"""
INSERT INTO quartiers AS q (code, nom, commune, insee, type, population, source, licence, geom)
SELECT s.code, s.nom, s.commune, s.insee, s.type, s.population,
       COALESCE(s.source, :source, CASE WHEN s.anct THEN :anct_source END),
       COALESCE(s.licence, :licence, CASE WHEN s.anct THEN :anct_licence END),
       ST_Transform(ST_GeomFromWKB(s.wkb, :srid), 4326)
FROM {_STAGING} s
ORDER BY s.idx
ON CONFLICT (code) DO UPDATE SET
    nom = EXCLUDED.nom, commune = EXCLUDED.commune, insee = EXCLUDED.insee, type = EXCLUDED.type,
    population = EXCLUDED.population, source = EXCLUDED.source, licence = EXCLUDED.licence,
    geom = COALESCE(EXCLUDED.geom, q.geom), updated_at = now()
WHERE (q.nom, q.commune, q.insee, q.type, q.population, q.source, q.licence)
      IS DISTINCT FROM
      (EXCLUDED.nom, EXCLUDED.commune, EXCLUDED.insee, EXCLUDED.type, EXCLUDED.population,
       EXCLUDED.source, EXCLUDED.licence)
   OR (EXCLUDED.geom IS NOT NULL AND EXCLUDED.geom IS DISTINCT FROM q.geom)
RETURNING q.code, (q.xmax = 0) AS created
"""


def _apply(*, session: Session, srid: int, members: dict[str, Any]) -> LoadResult:
    result = LoadResult(srid=srid)
    rows = session.execute(
        text(
            f"""
            SELECT s.code, q.geom IS NOT NULL AS stored
            FROM {_STAGING} s LEFT JOIN quartiers q USING (code)
            WHERE s.wkb IS NULL ORDER BY s.code
            """
        )
    ).all()
    result.without_geometry = [code for code, stored in rows if not stored]
    result.kept_geometry = [code for code, stored in rows if stored]
    result.not_in_file = list(
        session.execute(
            text(f"SELECT code FROM quartiers WHERE code NOT IN (SELECT code FROM {_STAGING}) ORDER BY code")
        ).scalars()
    )
    name = features.text(members.get("name"))
    params = {
        "srid": srid,
        "source": features.text(members.get("source")),
        "licence": features.text(members.get("licence")),
        "anct_source": f"{ANCT_SOURCE} ({name})" if name else ANCT_SOURCE,
        "anct_licence": ANCT_LICENCE,
    }
    changed = session.execute(text(_UPSERT), params).all()
    result.created_codes = sorted(code for code, created in changed if created)
    result.updated_codes = sorted(code for code, created in changed if not created)
    result.created, result.updated = len(result.created_codes), len(result.updated_codes)
    total = session.execute(text(f"SELECT count(*) FROM {_STAGING}")).scalar_one()
    result.unchanged = total - len(changed)
    return result
