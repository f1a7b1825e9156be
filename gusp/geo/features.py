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
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise refuse("type_geometrie", f"géométrie « {kind} » (Polygon ou MultiPolygon attendu)")
    try:
        geom = shape(raw)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise refuse("coordonnees_mal_formees", f"coordonnées mal formées ({exc})") from exc
    if geom.is_empty:
        raise refuse("geometrie_vide", "géométrie vide")
    box = geom.bounds
    if not all(math.isfinite(v) for v in box):
        raise refuse("coordonnees_mal_formees", "coordonnées non numériques")
    if not geom.is_valid:
        reason = why = shapely.is_valid_reason(geom)  # e.g. "Self-intersection[5.41 43.53]"
        for english, french in VALIDITY_FR.items():
            if why.startswith(english):
                why = french + " en " + why[len(english):].strip("[]")
                break
        raise refuse("geometrie_invalide", f"géométrie invalide : {why}", validity=reason)
    if isinstance(geom, shapely.Polygon):
        geom = MultiPolygon([geom])
    return shapely.to_wkb(geom, output_dimension=2), box


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
