"""Geometries for the printed maps, projected to Lambert-93 (EPSG:2154) by PostGIS itself."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp.models import Quartier, Report
from gusp.models.diagnostics import Diagnostic, DiagnosticFinding
from gusp.pdf import drawing

LAMBERT_93 = 2154


def perimeters(session: Session, quartier_ids: Sequence[int]) -> list[list[drawing.Ring]]:
    """Each quartier's polygons as rings; a quartier whose perimeter is not drawn yet gives none."""
    rows = session.scalars(
        select(func.ST_AsGeoJSON(func.ST_Transform(Quartier.geom, LAMBERT_93), 1))
        .where(Quartier.id.in_(quartier_ids), Quartier.geom.is_not(None))
    )
    polygons: list[list[drawing.Ring]] = []
    for raw in rows:
        geometry = json.loads(raw)
        parts = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        polygons += [[[tuple(xy) for xy in ring] for ring in part] for part in parts]
    return polygons


def report_points(session: Session, report_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    projected = func.ST_Transform(Report.location, LAMBERT_93)
    rows = session.execute(select(Report.id, func.ST_X(projected), func.ST_Y(projected))
                           .where(Report.id.in_(report_ids)))
    return {id_: (x, y) for id_, x, y in rows}


def sampled_points(session: Session, query_where: Sequence, *, limit: int, visible) -> tuple[int, list]:
    """(how many reports, at most `limit` of them as (x, y, status)): beyond `limit`, a pseudo-random
    sample, always the same for the same reports (one in k by a hash of the id; no sort)."""
    projected = func.ST_Transform(Report.location, LAMBERT_93)
    total = session.scalar(visible(select(func.count()).select_from(Report).where(*query_where)))
    query = select(func.ST_X(projected), func.ST_Y(projected), Report.status).where(*query_where)
    if total > limit:
        every = -(-total // limit)  # ceil: about `limit` reports kept
        query = query.where(func.hashint8(Report.id).op("&")(0x7FFFFFFF) % every == 0).limit(limit)
    return total, [tuple(row) for row in session.execute(visible(query))]


def finding_points(session: Session, finding_ids: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Positive points' own locations (a problem's location is its report's)."""
    projected = func.ST_Transform(DiagnosticFinding.location, LAMBERT_93)
    rows = session.execute(select(DiagnosticFinding.id, func.ST_X(projected), func.ST_Y(projected))
                           .where(DiagnosticFinding.id.in_(finding_ids), DiagnosticFinding.location.is_not(None)))
    return {id_: (x, y) for id_, x, y in rows}


def route(session: Session, diagnostic_id: int) -> drawing.Ring | None:
    raw = session.scalar(select(func.ST_AsGeoJSON(func.ST_Transform(Diagnostic.route, LAMBERT_93), 1))
                         .where(Diagnostic.id == diagnostic_id, Diagnostic.route.is_not(None)))
    return [tuple(xy) for xy in json.loads(raw)["coordinates"]] if raw else None
