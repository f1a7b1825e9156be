"""Reading a perimeter file at C speed: msgspec splits the document, GEOS reads and checks the outlines.

The file is decoded once by msgspec; each feature's geometry stays raw JSON bytes (a slice of the
file, no Python floats) until GEOS reads them all in one vectorised call and checks their validity
in one pass. An invalid outline (a ring crossing itself…) is repaired with `make_valid`, loaded,
and listed; any other fault refuses the file, naming the first faulty feature in file order.

Two property layouts are read: ours (code, nom, commune, insee, type, population, source, licence)
and the ANCT national export (fid, code_qp, lib_qp, insee_reg, lib_reg, insee_dep, lib_dep,
insee_com, lib_com, siren_epci), told apart per feature by `code_qp`.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import shapely

from gusp import errors, states
from gusp.geo import features

WGS84, LAMBERT_93 = 4326, 2154
# What a coordinate may be in each accepted CRS: WGS84's own range; for Lambert-93, EPSG's
# projected bounds of metropolitan France with a margin (a WGS84 file mislabelled as 2154 fails).
COORDINATE_LIMITS = {WGS84: (-180.0, -90.0, 180.0, 90.0), LAMBERT_93: (-400e3, 5.9e6, 1.4e6, 7.3e6)}
MAX_LENGTHS = {"code": 64, "nom": 200, "commune": 200}
INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_POLYGONAL = (3, 6)  # GEOS type ids of Polygon and MultiPolygon


class _Collection(msgspec.Struct):
    type: Any = None
    crs: Any = None
    name: Any = None
    source: Any = None
    licence: Any = None
    features: msgspec.Raw = msgspec.Raw()


class _Feature(msgspec.Struct):
    type: Any = None
    properties: Any = None
    geometry: msgspec.Raw = msgspec.Raw()


class _Geometry(msgspec.Struct):
    type: str
    coordinates: msgspec.Raw


_GEOMETRY = msgspec.json.Decoder(_Geometry)
_RINGS = msgspec.json.Decoder(list[msgspec.Raw])
_POLYGONS = msgspec.json.Decoder(list[list[msgspec.Raw]])
_NUMBERS = msgspec.json.Decoder(list[float])


@dataclass
class Repair:
    code: str
    why: str  # in French, e.g. "auto-intersection en 5.405 43.505"


@dataclass
class PerimeterFile:
    members: dict[str, Any]
    srid: int
    rows: list[dict[str, Any]]  # quartier rows, "wkb" None for a null geometry
    repaired: list[Repair] = field(default_factory=list)


def read(path: Path) -> PerimeterFile:
    """Every feature checked and its outline as 2D MultiPolygon WKB; refuses the file on the first fault."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark, left by some tools
        data = data[3:]
    try:
        collection = msgspec.json.decode(data, type=_Collection)
        raw_features = _features(collection)
        items = [_feature(index, raw) for index, raw in enumerate(raw_features)]
    except msgspec.DecodeError as exc:
        if isinstance(exc, msgspec.ValidationError):
            raise _not_a_collection("le document n'est pas un objet JSON") from exc
        raise errors.Unprocessable(
            "fichier_perimetres_invalide",
            f"Le fichier de périmètres n'est pas un JSON valide ({exc}).",
            reason="json_invalide",
        ) from exc
    members = {name: getattr(collection, name) for name in ("type", "crs", "name", "source", "licence")}
    present = [item is not None and _has_geometry(item) for item in items]
    geometries = _read_outlines(items, present)
    srid = check_collection(members)
    # GEOS releases the GIL: the outlines are written (WKB, hulls) by a second thread while this one
    # checks them and reads the properties; the few replaced below are written again.
    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(_written, geometries.copy(), srid)
        fine = _fine(geometries, srid)
        result = PerimeterFile(members=members, srid=srid, rows=[])
        seen: dict[str, int] = {}
        replaced = []
        for index, item in enumerate(items):
            row = read_properties(index, item)
            label = features.label(row["code"], row["nom"])
            if row["code"] in seen:
                raise refuse(index, label, "code_en_double", f"code déjà pris par features[{seen[row['code']]}]")
            seen[row["code"]] = index
            if present[index] and not fine[index]:  # item is not None: read_properties refuses it otherwise
                geometries[index] = _checked(index, label, row["code"], item, geometries[index], srid, result)
                replaced.append(index)
            result.rows.append(row)
        wkbs, hulls = written.result()
    if replaced:
        wkbs[replaced], hulls[replaced] = _written(geometries[replaced], srid)
    for row, there, wkb, hull in zip(result.rows, present, wkbs, hulls, strict=True):
        row["wkb"], row["hull"] = (wkb, hull) if there else (None, None)
    return result


def _features(collection: _Collection) -> list[msgspec.Raw]:
    raw = collection.features  # the value's own bytes, a view of the file's: never copied
    if collection.type != "FeatureCollection":
        raise _not_a_collection("son membre « type » n'est pas « FeatureCollection »")
    if memoryview(raw)[:1] != b"[":
        raise _not_a_collection("il n'a pas de tableau « features »")
    return msgspec.json.decode(raw, type=list[msgspec.Raw])


def _feature(index: int, raw: msgspec.Raw) -> _Feature | None:
    try:
        return msgspec.json.decode(raw, type=_Feature)
    except msgspec.ValidationError:
        return None  # not an object: refused in file order by read_properties


def _read_outlines(items: list[_Feature | None], present: list[bool]) -> np.ndarray:
    """Every non-null geometry read at once; None where there is none or it could not be read (the
    shared checks say why later)."""
    texts = [item.geometry for item, there in zip(items, present, strict=True) if there]
    read = _ragged(texts)
    if read is None:  # something unusual (3D, a short ring, another type…): GEOS's own reader
        read = list(shapely.from_geojson([bytes(t) for t in texts], on_invalid="ignore")) if texts else []
    outlines = np.full(len(items), None, dtype=object)
    outlines[np.flatnonzero(present)] = read
    return outlines


def _fine(geometries: np.ndarray, srid: int) -> np.ndarray:
    """Which outlines pass every check, tested for all at once by GEOS: a non-empty (Multi)Polygon with
    finite coordinates within the CRS's limits, valid. The others are checked one by one, in order."""
    xmin, ymin, xmax, ymax = COORDINATE_LIMITS[srid]
    bounds = shapely.bounds(geometries)  # NaN for None or empty: the comparisons below are then False
    with np.errstate(invalid="ignore"):
        fine = ((bounds[:, 0] >= xmin) & (bounds[:, 1] >= ymin) & (bounds[:, 2] <= xmax) & (bounds[:, 3] <= ymax)
                & np.isin(shapely.get_type_id(geometries), _POLYGONAL))
    fine[fine] = shapely.is_valid(geometries[fine])
    return fine


def _ragged(texts: list[msgspec.Raw]) -> list[shapely.Geometry] | None:
    """(Multi)Polygons built by GEOS from one flat array of coordinates: the numbers are parsed by
    msgspec in one call, never as nested Python lists. None if any geometry is not a plain 2D one."""
    rings: list[bytes] = []
    ring_points: list[int] = []
    polygon_ends, geometry_ends = [0], [0]
    try:
        for text in texts:
            geometry = _GEOMETRY.decode(text)
            if geometry.type == "Polygon":
                polygons = [_RINGS.decode(geometry.coordinates)]
            elif geometry.type == "MultiPolygon":
                polygons = _POLYGONS.decode(geometry.coordinates)
            else:
                return None
            for polygon in polygons:
                for ring in polygon:
                    ring = bytes(ring)
                    rings.append(ring)
                    ring_points.append(ring.count(b"[") - 1)
                polygon_ends.append(len(ring_points))
            geometry_ends.append(len(polygon_ends) - 1)
        numbers = _NUMBERS.decode(b"[" + b",".join(rings).translate(None, b"[]") + b"]")
        if len(numbers) != 2 * sum(ring_points) or min(ring_points, default=4) < 4:
            return None
        offsets = (np.concatenate([[0], np.cumsum(ring_points)]), np.array(polygon_ends), np.array(geometry_ends))
        return list(shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON, np.array(numbers, dtype=np.float64).reshape(-1, 2), offsets
        ))
    except (msgspec.DecodeError, shapely.errors.ShapelyError, ValueError):
        return None


def _has_geometry(item: _Feature) -> bool:
    raw = memoryview(item.geometry)
    return len(raw) > 0 and raw != b"null"


def _checked(index: int, label: str, code: str, item: _Feature, geom: shapely.Geometry | None, srid: int,
             result: PerimeterFile) -> shapely.Geometry:
    """An outline that failed a check: refused with the reason, in French, or repaired and listed."""
    if geom is None or shapely.get_type_id(geom) not in _POLYGONAL or geom.is_empty or not all(
        math.isfinite(v) for v in geom.bounds
    ):
        # GEOS found fault with it: the shared checks say which, in French.
        geom = features.polygon(msgspec.json.decode(bytes(item.geometry)), refuse=_refuser(index, label))
    check_limits(index, label, geom.bounds, srid)
    if not shapely.is_valid(geom):
        why = features.validity_fr(shapely.is_valid_reason(geom))
        fixed = features.repaired(geom)
        if fixed is None:
            raise refuse(index, label, "geometrie_invalide", f"géométrie invalide, irréparable : {why}")
        result.repaired.append(Repair(code=code, why=why))
        geom = fixed
    return geom


def _written(geometries: np.ndarray, srid: int) -> tuple[np.ndarray, np.ndarray]:
    """Each outline as 2D MultiPolygon WKB (one column type in PostGIS) and, in WGS84, its convex
    hull's (service areas are hulls of hulls); None where there is no outline. GEOS, for all at once."""
    polygons = np.flatnonzero(shapely.get_type_id(geometries) == 3)
    if len(polygons):
        geometries[polygons] = shapely.multipolygons(geometries[polygons][:, None])
    wkbs = shapely.to_wkb(geometries, output_dimension=2)
    if srid != WGS84:
        return wkbs, np.full(len(geometries), None, dtype=object)
    return wkbs, shapely.to_wkb(shapely.convex_hull(geometries), output_dimension=2)


def check_collection(members: dict[str, Any]) -> int:
    """The SRID the `crs` member declares (WGS84 without one, as RFC 7946 says)."""
    crs = members.get("crs")
    if crs is None:
        return WGS84
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


def check_limits(index: int, label: str, box: tuple[float, ...], srid: int) -> None:
    xmin, ymin, xmax, ymax = COORDINATE_LIMITS[srid]
    x0, y0, x1, y1 = box
    if x0 < xmin or y0 < ymin or x1 > xmax or y1 > ymax:
        crs = "WGS84 (longitude, latitude)" if srid == WGS84 else "Lambert-93 (EPSG:2154)"
        raise refuse(
            index, label, "coordonnees_hors_limites",
            f"coordonnées hors des limites du système {crs} (étendue {x0:g} {y0:g}, {x1:g} {y1:g}) ; "
            "le membre « crs » du fichier est-il le bon ?",
        )


def read_properties(index: int, item: _Feature | None) -> dict[str, Any]:
    """Map a feature's properties, ours or ANCT's, onto a quartier row (geometry apart)."""
    if item is None or item.type != "Feature":
        raise refuse(index, features.label(None, None), "entite_invalide", "ce n'est pas une entité (« Feature ») GeoJSON")
    props = item.properties
    props = {str(k).lower(): v for k, v in props.items()} if isinstance(props, dict) else {}
    anct = "code_qp" in props and "code" not in props
    code = features.text(props.get("code_qp" if anct else "code"))
    nom = features.text(props.get("lib_qp" if anct else "nom"))
    label = features.label(code, nom)
    if code is None:
        raise refuse(index, label, "code_manquant", "« code » manquant ou vide")
    if nom is None:
        raise refuse(index, label, "nom_manquant", "« nom » manquant ou vide")
    kind = states.QuartierType.QPV.value if anct else (features.text(props.get("type")) or states.QuartierType.QPV.value)
    if kind not in {t.value for t in states.QuartierType}:
        raise refuse(index, label, "type_inconnu", f"type « {kind} » inconnu (attendu : QPV ou quartier_de_veille)")
    # A QPV spanning communes lists them all ("13055, 13070" in the ANCT file): the first
    # insee and commune are kept, the one the ANCT names the quartier after.
    commune = _first(props.get("lib_com" if anct else "commune"))
    insee = _first(props.get("insee_com" if anct else "insee"))
    if insee is not None and insee.isdigit() and len(insee) < 5:
        insee = insee.zfill(5)  # a commune code read as a number lost its leading zero
    if insee is not None and not INSEE.match(insee):
        raise refuse(index, label, "insee_invalide", f"code INSEE « {insee} » invalide")
    for key, value in (("code", code), ("nom", nom), ("commune", commune)):
        if value is not None and len(value) > MAX_LENGTHS[key]:
            raise refuse(index, label, "valeur_trop_longue", f"« {key} » dépasse {MAX_LENGTHS[key]} caractères")
    population = props.get("population")
    if isinstance(population, float) and population.is_integer():
        population = int(population)
    if population is not None and (
        isinstance(population, bool) or not isinstance(population, int) or not 0 <= population < 2**31
    ):
        raise refuse(index, label, "population_invalide", f"population « {population} » : entier positif attendu")
    return {
        "idx": index, "code": code, "nom": nom, "commune": commune, "insee": insee, "type": kind,
        "population": population, "source": features.text(props.get("source")),
        "licence": features.text(props.get("licence")), "anct": anct,
    }


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    value = features.text(value)
    return features.text(value.split(",")[0]) if value else None


def _refuser(index: int, label: str) -> features.Refuse:
    return lambda reason, why, **details: refuse(index, label, reason, why, **details)


def refuse(index: int, label: str, reason: str, why: str, **details: object) -> errors.Unprocessable:
    message = f"Périmètre features[{index}] ({label}) refusé : {why}. Aucun périmètre du fichier n'a été chargé."
    return errors.Unprocessable("perimetre_invalide", message, feature=index, reason=reason, **details)


def _not_a_collection(why: str) -> errors.Unprocessable:
    return errors.Unprocessable(
        "fichier_perimetres_invalide",
        f"Le fichier de périmètres n'est pas une FeatureCollection GeoJSON : {why}.",
        reason="pas_une_featurecollection",
    )
