"""Small builders of GeoJSON perimeter files, in our format and in the ANCT national one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyproj
import shapely
from shapely.geometry import Point, box, mapping, shape

PINETTE = "VEILLE-13001-PINETTE"
CODES = {"Jas de Bouffan": "QN01313M", "Beisson": "QN01314M", "Encagnane": "QN01315M", "Corsy": "QN01316M"}
GEOD = pyproj.Geod(ellps="WGS84")


def real_collection(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def real_perimeters(path: Path) -> dict[str, shapely.MultiPolygon]:
    """The official perimeters of the file, by code (Pinette, without geometry, left out)."""
    return {
        f["properties"]["code"]: shape(f["geometry"])
        for f in real_collection(path)["features"]
        if f["geometry"] is not None
    }


def feature(code: str | None, nom: str | None, geometry: dict | None, **properties: Any) -> dict[str, Any]:
    props = {"code": code, "nom": nom, "commune": "Aix-en-Provence", "insee": "13001"} | properties
    return {"type": "Feature", "properties": {k: v for k, v in props.items() if v is not None}, "geometry": geometry}


def anct_feature(code_qp: str, lib_qp: str, geometry: dict, *, insee_com: str, lib_com: str, fid: int = 1) -> dict:
    """A feature with the ANCT QP2024 attribute names."""
    dep = insee_com[:2]
    properties = {
        "fid": fid, "code_qp": code_qp, "lib_qp": lib_qp, "insee_reg": "93",
        "lib_reg": "Provence-Alpes-Côte d'Azur", "insee_dep": dep, "lib_dep": "Bouches-du-Rhône",
        "insee_com": insee_com, "lib_com": lib_com, "siren_epci": "200054807",
    }
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def collection(features: list[dict], **members: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", **members, "features": features}


def write(directory: Path, data: Any, name: str = "perimetres.geojson") -> Path:
    """Write `data` as JSON (or as is, when it is already text) and return the path."""
    path = directory / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def square(lon: float, lat: float, side_m: float = 100.0) -> dict[str, Any]:
    """A Polygon of about `side_m` metres a side centred on lon, lat."""
    return mapping(local_box(lon, lat, -side_m / 2, -side_m / 2, side_m / 2, side_m / 2))


def local_box(lon: float, lat: float, x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle given in metres east/north of lon, lat (azimuthal equidistant), in lon/lat."""
    to_lonlat = pyproj.Transformer.from_crs(aeqd(lon, lat), "EPSG:4326", always_xy=True)
    return shapely.transform(box(x0, y0, x1, y1).segmentize(10), to_lonlat.transform, interleaved=False)


def aeqd(lon: float, lat: float) -> str:
    return f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84 +units=m +no_defs"


def geodesic_distance_m(lon: float, lat: float, geom: shapely.Geometry) -> float:
    """Distance from the point to `geom`, independently of PostGIS: in an azimuthal equidistant
    projection centred on the point, distances from the centre are geodesic on the ellipsoid."""
    to_local = pyproj.Transformer.from_crs("EPSG:4326", aeqd(lon, lat), always_xy=True)
    return shapely.transform(geom, to_local.transform, interleaved=False).distance(Point(0.0, 0.0))


def moved(lon: float, lat: float, azimuth: float, metres: float) -> tuple[float, float]:
    """The point `metres` away from lon, lat towards `azimuth` (degrees from north), on the ellipsoid."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return lon2, lat2


def to_lambert93(geometry: dict) -> dict:
    to_l93 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    return mapping(shapely.transform(shape(geometry), to_l93.transform, interleaved=False))
