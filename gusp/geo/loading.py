"""Loading a perimeter file into `quartiers`, on a psycopg connection: no SQLAlchemy, so that
`gusp perimeters load` starts without importing it (gusp.geo.perimeters is the session-facing API).

The file is read and checked by gusp.geo.reading (msgspec and GEOS, C speed) before the lock, then
applied in a savepoint of the connection's transaction: a refused file changes nothing, even if the
caller goes on with its transaction. Each outline is written once: the quartiers the table does not
hold yet are copied straight into it (one binary COPY); only those it holds go through a temporary
table and one upsert, which tells what changed. Outlines that cross themselves are repaired, loaded
and listed. A dry run does all of it and rolls the savepoint back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors

import gusp
from gusp.geo import features, reading

ANCT_LICENCE = "Licence Ouverte / Open Licence v2.0 (Etalab)"
ANCT_SOURCE = "ANCT, Quartiers prioritaires de la politique de la ville"
WGS84, LAMBERT_93 = reading.WGS84, reading.LAMBERT_93
STAGING = "gusp_perimeters_staging"
_LOCK = "gusp.geo.perimeters.load"
_COLUMNS = ("idx", "code", "nom", "commune", "insee", "type", "population", "source", "licence", "anct", "wkb",
            "hull")
_TYPES = ("int4", "text", "text", "text", "text", "text", "int4", "text", "text", "bool", "bytea", "bytea")
# A new quartier's row as COPY writes it into `quartiers`: the outline as WKB, read by PostGIS's
# binary input (SRID 4326 from the column), no second parse, no staging.
_NEW_COLUMNS = ("code", "nom", "commune", "insee", "type", "population", "source", "licence", "geom")
_NEW_TYPES = ("text", "text", "text", "text", "text", "int4", "text", "text", "bytea")
# JIT off: a fresh table's statistics make the planner see thousands of rows, compiling would cost
# more than the statements it speeds up. LZ4 for the outlines when the server has it: pglz tries,
# and fails, to compress every outline (coordinates hardly compress), about half the COPY's time.
_SETTINGS = """
SELECT set_config('jit', 'off', true),
       (SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))
"""


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


def load_file(*, url: str, path: Path, dry_run: bool = False) -> LoadResult:
    """For the command line: on a connection of its own, in one transaction committed at the end."""
    parsed = reading.read(path)  # before connecting: a refused file costs no connection
    with psycopg.connect(gusp.libpq_url(url)) as conn:  # commits on leaving the block, rolls back on an error
        return load(conn, parsed, dry_run=dry_run)


def load(conn: psycopg.Connection, parsed: reading.PerimeterFile, *, dry_run: bool = False) -> LoadResult:
    """Create or update quartiers by code from a file read; all of it or, if refused, nothing.
    With `dry_run`, the same checks and counts, then nothing is kept."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [_LOCK])
    conn.execute(_SETTINGS)
    conn.execute("SAVEPOINT gusp_perimeters_load")
    try:
        stored, created = _copy_new(conn, parsed)
        conn.execute(_STAGING_DDL)
        _copy_staging(conn, parsed.rows, copied=set(created))
        result = _apply(conn, parsed=parsed, stored=stored, created=created)
        if parsed.srid == WGS84:
            others = result.not_in_file + [row["code"] for row in parsed.rows if row["wkb"] is None]
            result.service_areas = _refresh_from_file(conn, others=others)
        else:
            result.service_areas = refresh_service_areas(conn)
        conn.execute(f"DROP TABLE {STAGING}")
    except BaseException:
        conn.execute("ROLLBACK TO SAVEPOINT gusp_perimeters_load; RELEASE SAVEPOINT gusp_perimeters_load")
        raise
    result.repaired, result.dry_run = parsed.repaired, dry_run
    if dry_run:
        conn.execute("ROLLBACK TO SAVEPOINT gusp_perimeters_load")
    conn.execute("RELEASE SAVEPOINT gusp_perimeters_load")
    return result


def _stored(conn: psycopg.Connection) -> dict[str, bool]:
    """Every stored quartier's code, and whether it has a perimeter."""
    return dict(conn.execute("SELECT code, geom IS NOT NULL FROM quartiers").fetchall())


def _copy_new(conn: psycopg.Connection, parsed: reading.PerimeterFile) -> tuple[dict[str, bool], list[str]]:
    """Copy the quartiers the table does not hold straight into it; returns what was stored before, and
    the codes copied. A quartier created meanwhile by someone else (no table lock: readers, intake and
    autovacuum go on) undoes the copy, and every row then goes through the upsert."""
    stored = _stored(conn)
    new = [row for row in parsed.rows if row["code"] not in stored]
    if parsed.srid != WGS84 or not new:  # Lambert-93 outlines are transformed by PostGIS, in the upsert
        return stored, []
    defaults = _defaults(parsed.members)
    conn.execute("SAVEPOINT gusp_perimeters_copy")
    try:
        with conn.cursor().copy(f"COPY quartiers ({', '.join(_NEW_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(_NEW_TYPES))
            for row in new:
                source, licence = _source_licence(row, defaults)
                copy.write_row([row["code"], row["nom"], row["commune"], row["insee"], row["type"],
                                row["population"], source, licence, row["wkb"]])
    except psycopg.errors.UniqueViolation:
        conn.execute("ROLLBACK TO SAVEPOINT gusp_perimeters_copy; RELEASE SAVEPOINT gusp_perimeters_copy")
        return _stored(conn), []
    conn.execute("RELEASE SAVEPOINT gusp_perimeters_copy")
    return stored, [row["code"] for row in new]


def _defaults(members: dict[str, Any]) -> dict[str, str | None]:
    """Source and licence for the features that name none: the collection's, else the ANCT's for its file."""
    name = features.text(members.get("name"))
    return {
        "source": features.text(members.get("source")),
        "licence": features.text(members.get("licence")),
        "anct_source": f"{ANCT_SOURCE} ({name})" if name else ANCT_SOURCE,
        "anct_licence": ANCT_LICENCE,
    }


def _source_licence(row: dict[str, Any], defaults: dict[str, str | None]) -> tuple[str | None, str | None]:
    """As the upsert's COALESCE(feature's, collection's, ANCT's if an ANCT feature)."""
    anct = row["anct"]
    return (row["source"] or defaults["source"] or (defaults["anct_source"] if anct else None),
            row["licence"] or defaults["licence"] or (defaults["anct_licence"] if anct else None))


def _copy_staging(conn: psycopg.Connection, rows: list[dict[str, Any]], *, copied: set[str]) -> None:
    """Every row in one binary COPY; the outlines of those already copied into `quartiers` are left
    out (their hulls stay, for the service areas)."""
    with conn.cursor().copy(f"COPY {STAGING} ({', '.join(_COLUMNS)}, copied) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([*_TYPES, "bool"])
        wkb = _COLUMNS.index("wkb")
        for row in rows:
            values = [row[column] for column in _COLUMNS]
            if row["code"] in copied:
                values[wkb] = None
            values.append(row["code"] in copied)
            copy.write_row(values)


def refresh_service_areas(conn: psycopg.Connection) -> int:
    """Rebuild each commune's service area, the convex hull of its perimeters; returns how many."""
    return _service_areas(conn, """
        SELECT insee, commune, ST_ConvexHull(geom) AS hull FROM quartiers
        WHERE geom IS NOT NULL AND insee IS NOT NULL
    """, {})


def _refresh_from_file(conn: psycopg.Connection, *, others: list[str]) -> int:
    """The same, from the hulls GEOS computed while reading the file (WGS84): the hull of the
    perimeters' hulls is the same polygon, and the new outlines are not read back. Only the stored
    quartiers whose outline the file did not give (`others`) are read, by code."""
    return _service_areas(conn, f"""
        SELECT insee, commune, ST_GeomFromWKB(hull, 4326) AS hull FROM {STAGING}
        WHERE hull IS NOT NULL AND insee IS NOT NULL
        UNION ALL
        SELECT insee, commune, ST_ConvexHull(geom) FROM quartiers
        WHERE code = ANY(%(others)s::text[]) AND geom IS NOT NULL AND insee IS NOT NULL
    """, {"others": others})


def _service_areas(conn: psycopg.Connection, hulls: str, params: dict[str, Any]) -> int:
    conn.execute("DELETE FROM service_areas")  # not TRUNCATE: readers keep going
    return conn.execute(
        f"""
        INSERT INTO service_areas (insee, commune, geom)
        SELECT insee, commune, hull FROM (
            SELECT insee, min(commune) AS commune, ST_ConvexHull(ST_Collect(hull)) AS hull
            FROM ({hulls}) parts
            GROUP BY insee
        ) areas
        WHERE GeometryType(hull) = 'POLYGON'
        """,
        params,
    ).rowcount


_STAGING_DDL = f"""
CREATE TEMP TABLE {STAGING} (
    idx integer PRIMARY KEY, code text NOT NULL UNIQUE, nom text NOT NULL, commune text,
    insee text, type text NOT NULL, population integer, source text, licence text,
    anct boolean NOT NULL, wkb bytea, hull bytea, copied boolean NOT NULL
) ON COMMIT DROP;
-- copied once, read once: compressing the outlines would cost more than it saves
ALTER TABLE {STAGING} ALTER COLUMN wkb SET STORAGE EXTERNAL, ALTER COLUMN hull SET STORAGE EXTERNAL
"""

# A null geometry in the file never erases a stored one (a perimeter drawn locally for a
# quartier de veille survives reloading the official file). `updated_at` only moves, and a row
# is only returned, when something really changed; `xmax = 0` tells an insert from an update.
_UPSERT = f"""
INSERT INTO quartiers AS q (code, nom, commune, insee, type, population, source, licence, geom)
SELECT s.code, s.nom, s.commune, s.insee, s.type, s.population,
       COALESCE(s.source, %(source)s, CASE WHEN s.anct THEN %(anct_source)s END),
       COALESCE(s.licence, %(licence)s, CASE WHEN s.anct THEN %(anct_licence)s END),
       ST_Transform(ST_GeomFromWKB(s.wkb, %(srid)s), 4326)
FROM {STAGING} s
WHERE NOT s.copied
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


def _apply(conn: psycopg.Connection, *, parsed: reading.PerimeterFile, stored: dict[str, bool],
           created: list[str]) -> LoadResult:
    """Upsert the rows not copied yet; the counts and lists of the report."""
    result = LoadResult(srid=parsed.srid)
    without = [row["code"] for row in parsed.rows if row["wkb"] is None]
    result.without_geometry = sorted(code for code in without if not stored.get(code))
    result.kept_geometry = sorted(code for code in without if stored.get(code))
    result.not_in_file = sorted(set(stored) - {row["code"] for row in parsed.rows})
    changed = []
    if len(created) < len(parsed.rows):
        params = {"srid": parsed.srid, **_defaults(parsed.members)}
        changed = conn.execute(_UPSERT, params).fetchall()
    result.created_codes = sorted([*created, *(code for code, new in changed if new)])
    result.updated_codes = sorted(code for code, new in changed if not new)
    result.created, result.updated = len(result.created_codes), len(result.updated_codes)
    result.unchanged = len(parsed.rows) - result.created - result.updated
    return result
