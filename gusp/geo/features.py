"""Checks shared by every GeoJSON file GUSP reads (perimeters, management zones)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, shape

# GEOS explains invalidity in English; the start of its usual reasons, in French.
VALIDITY_FR = {
    "Ring Self-intersection": "un anneau se recoupe",
    "Self-intersection": "auto-intersection",
    "Too few points": "trop peu de points",
    "Hole lies outside shell": "trou hors du contour",
    "Nested shells": "contours imbriqués",
    "Interior is disconnected": "intérieur non connexe",
}

# Builds the error for one refused feature: (reason code, French why, details) -> exception.
Refuse = Callable[..., Exception]


def polygon_wkb(raw: Any, *, refuse: Refuse) -> tuple[bytes, tuple[float, float, float, float]]:
    """A valid Polygon or MultiPolygon as 2D MultiPolygon WKB, with its bounds; else `refuse(...)` is raised."""
    geom = polygon(raw, refuse=refuse)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)  # e.g. "Self-intersection[5.41 43.53]"
        raise refuse("geometrie_invalide", f"géométrie invalide : {validity_fr(reason)}", validity=reason)
    return multipolygon_wkb(geom), geom.bounds


def polygon(raw: Any, *, refuse: Refuse) -> shapely.Geometry:
    """A non-empty Polygon or MultiPolygon with finite coordinates, valid or not; else `refuse(...)` is raised."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise refuse("type_geometrie", f"géométrie « {kind} » (Polygon ou MultiPolygon attendu)")
    try:
        geom = shape(raw)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise refuse("coordonnees_mal_formees", f"coordonnées mal formées ({exc})") from exc
    if geom.is_empty:
        raise refuse("geometrie_vide", "géométrie vide")
    if not all(math.isfinite(v) for v in geom.bounds):
        raise refuse("coordonnees_mal_formees", "coordonnées non numériques")
    return geom


def validity_fr(reason: str) -> str:
    """GEOS's reason, e.g. "Self-intersection[5.41 43.53]", in French: "auto-intersection en 5.41 43.53"."""
    for english, french in VALIDITY_FR.items():
        if reason.startswith(english):
            return french + " en " + reason[len(english):].strip("[]")
    return reason


def repaired(geom: shapely.Geometry) -> shapely.Geometry | None:
    """An invalid outline made valid (GEOS make_valid, "structure": a self-crossing ring becomes the
    area it encloses), keeping only its polygons; None when nothing of an area is left."""
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    polygons = [q for p in parts for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    return MultiPolygon(polygons) if polygons else None


def multipolygon_wkb(geom: shapely.Geometry) -> bytes:
    """2D MultiPolygon WKB of a Polygon or MultiPolygon: one column type in PostGIS."""
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    return shapely.to_wkb(geom, output_dimension=2)


def text(value: Any) -> str | None:
    """A property as stripped text; None for absent, empty or structured values."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    value = str(value).strip()
    return value or None


def label(code: str | None, nom: str | None) -> str:
    """How an error names a feature: its code and its name, as far as they are known."""
    parts = ([f"code « {code} »"] if code else []) + ([f"« {nom} »"] if nom else [])
    return ", ".join(parts) or "sans code ni nom"
