"""Perimeters of the quartiers: loading a GeoJSON file, rebuilding service areas, serving them back.

A file is streamed (ijson, never held whole), each feature validated with Shapely and staged in a
temporary table; only once the whole file is valid is it applied to `quartiers`, by one upsert,
in a savepoint of the caller's transaction: a refused file changes nothing, even if the caller
goes on with its transaction.

Two formats are read: ours (code, nom, commune, insee, type, population, source, licence) and
the ANCT national export "QP2024_France_Hexagonale_Outre_Mer_WGS84" (fid, code_qp, lib_qp,
insee_reg, lib_reg, insee_dep, lib_dep, insee_com, lib_com, siren_epci), told apart per feature
by `code_qp`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp import db, errors, models, states
from gusp.geo import features

ANCT_LICENCE = "Licence Ouverte / Open Licence v2.0 (Etalab)"
ANCT_SOURCE = "ANCT, Quartiers prioritaires de la politique de la ville"
WGS84, LAMBERT_93 = 4326, 2154
# What a coordinate may be in each accepted CRS: WGS84's own range; for Lambert-93, EPSG's
# projected bounds of metropolitan France with a margin (a WGS84 file mislabelled as 2154 fails).
COORDINATE_LIMITS = {WGS84: (-180.0, -90.0, 180.0, 90.0), LAMBERT_93: (-400e3, 5.9e6, 1.4e6, 7.3e6)}
MAX_LENGTHS = {"code": 64, "nom": 200, "commune": 200}
INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
TOP_MEMBERS = frozenset({"type", "crs", "name", "source", "licence"})
BATCH = 200
_STAGING = "gusp_perimeters_staging"
_LOCK = "gusp.geo.perimeters.load"


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


@dataclass
class _Collection:
    """The FeatureCollection's own members, gathered while its features stream past."""

    members: dict[str, Any] = field(default_factory=dict)
    features_kind: str | None = None


def load(*, session: Session, path: Path) -> LoadResult:
    """Create or update quartiers by code from a GeoJSON file; all of it or, if refused, nothing."""
    db.advisory_xact_lock(session, _LOCK)
    with session.begin_nested():
        session.execute(text(_STAGING_DDL))
        collection, bounds = _stage(session=session, path=path)
        srid = _check_collection(collection)
        _check_limits(bounds, srid)
        result = _apply(session=session, srid=srid, members=collection.members)
        session.execute(text(f"DROP TABLE {_STAGING}"))
        result.service_areas = refresh_service_areas(session=session)
    # The upsert bypassed the ORM: loaded Quartier objects would show stale values.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models.Quartier):
            session.expire(obj)
    return result


def refresh_service_areas(*, session: Session) -> int:
    """Rebuild each commune's service area, the convex hull of its perimeters; returns how many."""
    session.execute(text("DELETE FROM service_areas"))  # not TRUNCATE: readers keep going
    return session.execute(
        text(
            """
            INSERT INTO service_areas (insee, commune, geom)
            SELECT insee, min(commune), ST_ConvexHull(ST_Collect(geom))
            FROM quartiers
            WHERE geom IS NOT NULL AND insee IS NOT NULL
            GROUP BY insee
            HAVING GeometryType(ST_ConvexHull(ST_Collect(geom))) = 'POLYGON'
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
                        'population', population, 'source', source, 'licence', licence),
                    'geometry', ST_AsGeoJSON(geom, 6)::json  -- 6 decimals: about 0.1 m
                ) ORDER BY nom, code), '[]'::json)
            )::text
            FROM quartiers
            """
        )
    ).scalar_one()


def get_by_code(*, session: Session, code: str) -> models.Quartier | None:
    return session.scalars(select(models.Quartier).where(models.Quartier.code == code)).one_or_none()


_STAGING_DDL = f"""
CREATE TEMP TABLE {_STAGING} (
    idx integer PRIMARY KEY, code text NOT NULL UNIQUE, nom text NOT NULL, commune text,
    insee text, type text NOT NULL, population integer, source text, licence text,
    anct boolean NOT NULL, wkb bytea
) ON COMMIT DROP
"""

_INSERT_STAGING = f"""
INSERT INTO {_STAGING} (idx, code, nom, commune, insee, type, population, source, licence, anct, wkb)
VALUES (:idx, :code, :nom, :commune, :insee, :type, :population, :source, :licence, :anct, :wkb)
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
    result.created = sum(1 for _, created in changed if created)
    result.updated = len(changed) - result.created
    total = session.execute(text(f"SELECT count(*) FROM {_STAGING}")).scalar_one()
    result.unchanged = total - len(changed)
    return result


# --- reading and checking the file -------------------------------------------------------------


def _stage(*, session: Session, path: Path) -> tuple[_Collection, list[tuple[int, str, tuple]]]:
    """Validate each feature as it streams by and stage it; returns the collection's members
    and each perimeter's bounds, checked once the CRS is known (it may come after the features)."""
    collection = _Collection()
    bounds: list[tuple[int, str, tuple]] = []
    seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        if stream.read(3) != b"\xef\xbb\xbf":  # a UTF-8 byte order mark, left by some tools
            stream.seek(0)
        try:
            for index, raw in enumerate(ijson.items(_events(stream, collection), "features.item")):
                row = _read_feature(index, raw)
                label = features.label(row["code"], row["nom"])
                if row["code"] in seen:
                    raise _refuse(index, label, "code_en_double", f"code déjà pris par features[{seen[row['code']]}]")
                seen[row["code"]] = index
                row["wkb"], box = _read_geometry(index, label, raw.get("geometry"))
                if box is not None:
                    bounds.append((index, label, box))
                batch.append(row)
                if len(batch) >= BATCH:
                    session.execute(text(_INSERT_STAGING), batch)
                    batch = []
        except ijson.JSONError as exc:
            raise errors.Unprocessable(
                "fichier_perimetres_invalide",
                f"Le fichier de périmètres n'est pas un JSON valide ({exc}).",
                reason="json_invalide",
            ) from exc
    if batch:
        session.execute(text(_INSERT_STAGING), batch)
    return collection, bounds


def _events(stream: BinaryIO, collection: _Collection) -> Iterator[tuple[str, str, Any]]:
    """Pass the parser's events through, keeping the collection's own small members aside."""
    builders: dict[str, ijson.ObjectBuilder] = {}
    current: str | None = None
    for event in ijson.parse(stream, use_float=True):
        if event[0][:9] != "features.":  # cheap test first: nearly every event is inside a feature
            prefix, kind, value = event
            if prefix == "features":
                collection.features_kind = collection.features_kind or kind
            elif prefix == "":
                if kind not in ("start_map", "map_key", "end_map"):
                    raise _not_a_collection("le document n'est pas un objet JSON")
                current = value if kind == "map_key" and value in TOP_MEMBERS else None
                if current is not None:
                    builders[current] = ijson.ObjectBuilder()
            elif current is not None:
                builders[current].event(kind, value)
        yield event
    collection.members = {key: builder.value for key, builder in builders.items()}


def _check_collection(collection: _Collection) -> int:
    """The document must be a FeatureCollection; returns the SRID its `crs` member declares."""
    if collection.members.get("type") != "FeatureCollection":
        raise _not_a_collection("son membre « type » n'est pas « FeatureCollection »")
    if collection.features_kind != "start_array":
        raise _not_a_collection("il n'a pas de tableau « features »")
    crs = collection.members.get("crs")
    if crs is None:
        return WGS84  # RFC 7946: GeoJSON is WGS84 longitude, latitude
    props = crs.get("properties") if isinstance(crs, dict) else None
    name = str(props.get("name") or props.get("code") or "") if isinstance(props, dict) else ""
    # Legacy (2008) forms: "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:2154", "urn:ogc:def:crs:EPSG::2154",
    # "urn:ogc:def:crs:EPSG:6.6:4326", ".../def/crs/EPSG/0/2154", or {"type": "EPSG", "code": 2154}.
    # An EPSG:4326 label is read in GeoJSON's longitude, latitude order, as GDAL does.
    if name.upper().endswith("CRS84"):
        return WGS84
    match = re.search(r"(?:^|EPSG[:/](?:[\d.]*[:/])?)(\d+)$", name, re.IGNORECASE)
    if match and int(match.group(1)) in COORDINATE_LIMITS:
        return int(match.group(1))
    raise errors.Unprocessable(
        "fichier_perimetres_invalide",
        f"Système de coordonnées non pris en charge : « {name or crs} » "
        "(acceptés : WGS84 — EPSG:4326 ou CRS84 — et Lambert-93 — EPSG:2154).",
        reason="crs_non_pris_en_charge",
    )


def _check_limits(bounds: list[tuple[int, str, tuple]], srid: int) -> None:
    xmin, ymin, xmax, ymax = COORDINATE_LIMITS[srid]
    for index, label, (x0, y0, x1, y1) in bounds:
        if x0 < xmin or y0 < ymin or x1 > xmax or y1 > ymax:
            crs = "WGS84 (longitude, latitude)" if srid == WGS84 else "Lambert-93 (EPSG:2154)"
            raise _refuse(
                index, label, "coordonnees_hors_limites",
                f"coordonnées hors des limites du système {crs} (étendue {x0:g} {y0:g}, {x1:g} {y1:g}) ; "
                "le membre « crs » du fichier est-il le bon ?",
            )


def _read_feature(index: int, raw: Any) -> dict[str, Any]:
    """Map a feature's properties, ours or ANCT's, onto a quartier row (geometry apart)."""
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        raise _refuse(index, features.label(None, None), "entite_invalide", "ce n'est pas une entité (« Feature ») GeoJSON")
    props = raw.get("properties")
    props = {str(k).lower(): v for k, v in props.items()} if isinstance(props, dict) else {}
    anct = "code_qp" in props and "code" not in props
    code = features.text(props.get("code_qp" if anct else "code"))
    nom = features.text(props.get("lib_qp" if anct else "nom"))
    label = features.label(code, nom)
    if code is None:
        raise _refuse(index, label, "code_manquant", "« code » manquant ou vide")
    if nom is None:
        raise _refuse(index, label, "nom_manquant", "« nom » manquant ou vide")
    kind = states.QuartierType.QPV.value if anct else (features.text(props.get("type")) or states.QuartierType.QPV.value)
    if kind not in {t.value for t in states.QuartierType}:
        raise _refuse(index, label, "type_inconnu", f"type « {kind} » inconnu (attendu : QPV ou quartier_de_veille)")
    # A QPV spanning communes lists them all ("13055, 13070" in the ANCT file): the first
    # insee and commune are kept, the one the ANCT names the quartier after.
    commune = _first(props.get("lib_com" if anct else "commune"))
    insee = _first(props.get("insee_com" if anct else "insee"))
    if insee is not None and insee.isdigit() and len(insee) < 5:
        insee = insee.zfill(5)  # a commune code read as a number lost its leading zero
    if insee is not None and not INSEE.match(insee):
        raise _refuse(index, label, "insee_invalide", f"code INSEE « {insee} » invalide")
    for key, value in (("code", code), ("nom", nom), ("commune", commune)):
        if value is not None and len(value) > MAX_LENGTHS[key]:
            raise _refuse(index, label, "valeur_trop_longue", f"« {key} » dépasse {MAX_LENGTHS[key]} caractères")
    population = props.get("population")
    if isinstance(population, float) and population.is_integer():
        population = int(population)
    if population is not None and (
        isinstance(population, bool) or not isinstance(population, int) or not 0 <= population < 2**31
    ):
        raise _refuse(index, label, "population_invalide", f"population « {population} » : entier positif attendu")
    return {
        "idx": index, "code": code, "nom": nom, "commune": commune, "insee": insee, "type": kind,
        "population": population, "source": features.text(props.get("source")),
        "licence": features.text(props.get("licence")), "anct": anct,
    }


def _read_geometry(index: int, label: str, raw: Any) -> tuple[bytes | None, tuple | None]:
    """A valid (Multi)Polygon as 2D MultiPolygon WKB, with its bounds; None for a null geometry."""
    if raw is None:
        return None, None  # accepted: the quartier exists, nothing is attributed to it by location
    return features.polygon_wkb(raw, refuse=lambda reason, why, **details: _refuse(index, label, reason, why, **details))


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    value = features.text(value)
    return features.text(value.split(",")[0]) if value else None


def _refuse(index: int, label: str, reason: str, why: str, **details: object) -> errors.Unprocessable:
    message = f"Périmètre features[{index}] ({label}) refusé : {why}. Aucun périmètre du fichier n'a été chargé."
    return errors.Unprocessable("perimetre_invalide", message, feature=index, reason=reason, **details)


def _not_a_collection(why: str) -> errors.Unprocessable:
    return errors.Unprocessable(
        "fichier_perimetres_invalide",
        f"Le fichier de périmètres n'est pas une FeatureCollection GeoJSON : {why}.",
        reason="pas_une_featurecollection",
    )
