"""Maps and charts as reportlab drawings, made by the server alone (no tiles, no internet).

Map coordinates come projected in Lambert-93 (EPSG:2154, metres) from PostGIS, so a plain
affine fit to the page keeps shapes and distances true and the scale bar honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reportlab.graphics.shapes import (
    Circle,
    Drawing,
    Line,
    Path,
    Polygon,
    PolyLine,
    Rect,
    String,
)
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics

from gusp.pdf import typography

Ring = Sequence[tuple[float, float]]

OPEN_COLOUR = colors.HexColor("#d9480f")
RESOLVED_COLOUR = colors.HexColor("#2b8a3e")
CLOSED_COLOUR = colors.HexColor("#868e96")
POSITIVE_COLOUR = colors.HexColor("#1971c2")
PERIMETER_STROKE = colors.HexColor("#5f3dc4")
PERIMETER_FILL = colors.HexColor("#e5dbff")
ROUTE_COLOUR = colors.HexColor("#f08c00")
BAR_COLOUR = colors.HexColor("#364fc7")
TEXT_COLOUR = colors.HexColor("#212529")
_SCALES_M = (25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)


@dataclass(frozen=True)
class MapPoint:
    x: float  # Lambert-93 easting, metres
    y: float  # northing
    colour: colors.Color
    label: str | None = None  # a finding's number, drawn inside a larger marker


@dataclass
class MapLayers:
    polygons: list[list[Ring]] = field(default_factory=list)  # each polygon: exterior ring, then holes
    lines: list[Ring] = field(default_factory=list)
    points: list[MapPoint] = field(default_factory=list)

    def coordinates(self) -> list[tuple[float, float]]:
        coords = [xy for polygon in self.polygons for ring in polygon for xy in ring]
        coords += [xy for line in self.lines for xy in line]
        return coords + [(p.x, p.y) for p in self.points]


def map_drawing(layers: MapLayers, *, width: float, height: float, font: str,
                legend: Sequence[tuple[colors.Color, str]] = ()) -> Drawing:
    """Perimeters, a route and points fitted to the box, with a scale bar, a north arrow and a legend."""
    legend_h = 14 if legend else 0
    drawing = Drawing(width, height)
    drawing.add(Rect(0, legend_h, width, height - legend_h, fillColor=colors.HexColor("#f8f9fa"),
                     strokeColor=colors.HexColor("#ced4da"), strokeWidth=0.5))
    coords = layers.coordinates()
    if not coords:
        drawing.add(String(width / 2, height / 2, "Aucune donnée à cartographier", fontName=font, fontSize=9,
                           textAnchor="middle", fillColor=CLOSED_COLOUR))
        return drawing
    to_page, metres_per_pt = _fit(coords, width=width, height=height - legend_h, bottom=legend_h, margin=14)
    for polygon in layers.polygons:
        drawing.add(_polygon_path(polygon, to_page))
    for line in layers.lines:
        points = [c for xy in line for c in to_page(xy)]
        drawing.add(PolyLine(points, strokeColor=ROUTE_COLOUR, strokeWidth=2, strokeDashArray=[4, 2],
                             strokeLineJoin=1, strokeLineCap=1))
    for point in layers.points:
        _marker(drawing, point, to_page, font)
    _scale_bar(drawing, metres_per_pt, x=8, y=legend_h + 8, font=font)
    _north_arrow(drawing, x=width - 14, y=height - 22, font=font)
    _legend(drawing, legend, font=font)
    return drawing


def _fit(coords: Sequence[tuple[float, float]], *, width: float, height: float, bottom: float, margin: float):
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
    # At least 300 m across: a lone point (or a short walk) still shows its surroundings.
    scale = min((width - 2 * margin) / max(max_x - min_x, 300.0), (height - 2 * margin) / max(max_y - min_y, 300.0))

    def to_page(xy: tuple[float, float]) -> tuple[float, float]:
        return width / 2 + (xy[0] - cx) * scale, bottom + height / 2 + (xy[1] - cy) * scale

    return to_page, 1 / scale


def _polygon_path(rings: Sequence[Ring], to_page) -> Path:
    path = Path(fillColor=PERIMETER_FILL, fillOpacity=0.55, strokeColor=PERIMETER_STROKE, strokeWidth=1.2,
                fillMode=0)  # even-odd: holes stay empty
    for ring in rings:
        for i, xy in enumerate(ring):
            x, y = to_page(xy)
            if i == 0:
                path.moveTo(x, y)
            else:
                path.lineTo(x, y)
        path.closePath()
    return path


def _marker(drawing: Drawing, point: MapPoint, to_page, font: str) -> None:
    x, y = to_page((point.x, point.y))
    if point.label is None:
        drawing.add(Circle(x, y, 2.8, fillColor=point.colour, strokeColor=colors.white, strokeWidth=0.5))
        return
    size = 6.5 if len(point.label) < 3 else 5.5
    drawing.add(Circle(x, y, 6.5, fillColor=point.colour, strokeColor=colors.white, strokeWidth=0.8))
    drawing.add(String(x, y - size * 0.36, point.label, fontName=font, fontSize=size, textAnchor="middle",
                       fillColor=colors.white))


def _scale_bar(drawing: Drawing, metres_per_pt: float, *, x: float, y: float, font: str) -> None:
    target = metres_per_pt * 80  # about 80 pt long
    metres = min(_SCALES_M, key=lambda m: abs(m - target))
    length = metres / metres_per_pt
    drawing.add(Rect(x - 3, y - 3, length + 6, 16, fillColor=colors.Color(1, 1, 1, alpha=0.8), strokeColor=None))
    drawing.add(Line(x, y, x + length, y, strokeColor=TEXT_COLOUR, strokeWidth=1.5))
    for end in (x, x + length):
        drawing.add(Line(end, y - 2, end, y + 2, strokeColor=TEXT_COLOUR, strokeWidth=1))
    label = f"{typography.number(metres // 1000)}{typography.NBSP}km" if metres >= 1000 else f"{metres}{typography.NBSP}m"
    drawing.add(String(x + length / 2, y + 4, label, fontName=font, fontSize=6.5, textAnchor="middle",
                       fillColor=TEXT_COLOUR))


def _north_arrow(drawing: Drawing, *, x: float, y: float, font: str) -> None:
    drawing.add(Polygon([x, y + 12, x - 4, y, x + 4, y], fillColor=TEXT_COLOUR, strokeColor=None))
    drawing.add(String(x, y - 8, "N", fontName=font, fontSize=7, textAnchor="middle", fillColor=TEXT_COLOUR))


def _legend(drawing: Drawing, legend: Sequence[tuple[colors.Color, str]], *, font: str) -> None:
    x = 4
    for colour, label in legend:
        drawing.add(Circle(x + 4, 5, 3.5, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 11, 2.5, label, fontName=font, fontSize=7, fillColor=TEXT_COLOUR))
        x += 20 + pdfmetrics.stringWidth(label, font, 7)


def bar_chart(items: Sequence[tuple[str, float]], *, width: float, font: str, colour: colors.Color = BAR_COLOUR,
              row_height: float = 13, decimals: int = 0) -> Drawing:
    """Horizontal bars, one per (label, value), each labelled with its value: for categories, partners."""
    label_w = min(width * 0.42, max((pdfmetrics.stringWidth(label, font, 7.5) for label, _ in items), default=0) + 6)
    height = max(row_height * len(items), row_height) + 4
    drawing = Drawing(width, height)
    top = max((v for _, v in items), default=0) or 1
    bar_space = width - label_w - 34
    for i, (label, value) in enumerate(items):
        y = height - (i + 1) * row_height
        drawing.add(String(label_w - 4, y + 3, _clip(label, font, 7.5, label_w - 6), fontName=font, fontSize=7.5,
                           textAnchor="end", fillColor=TEXT_COLOUR))
        bar = bar_space * value / top
        if bar > 0:
            drawing.add(Rect(label_w, y + 1, bar, row_height - 4, fillColor=colour, strokeColor=None))
        drawing.add(String(label_w + bar + 3, y + 3, typography.number(value, decimals=decimals), fontName=font,
                           fontSize=7.5,
                           fillColor=TEXT_COLOUR))
    return drawing


def column_chart(items: Sequence[tuple[str, int]], *, width: float, height: float, font: str,
                 colour: colors.Color = BAR_COLOUR) -> Drawing:
    """Vertical columns with their values on top: for counts per month."""
    drawing = Drawing(width, height)
    base, top_margin = 14, 12
    drawing.add(Line(0, base, width, base, strokeColor=CLOSED_COLOUR, strokeWidth=0.5))
    if not items:
        return drawing
    top = max(v for _, v in items) or 1
    slot = width / len(items)
    bar_w = min(slot * 0.7, 36)
    label_size = 7 if slot > 34 else 5.5
    for i, (label, value) in enumerate(items):
        cx = slot * (i + 0.5)
        h = (height - base - top_margin) * value / top
        if h > 0:
            drawing.add(Rect(cx - bar_w / 2, base, bar_w, h, fillColor=colour, strokeColor=None))
        drawing.add(String(cx, base + h + 2, typography.number(value), fontName=font, fontSize=7, textAnchor="middle",
                           fillColor=TEXT_COLOUR))
        drawing.add(String(cx, 3, label, fontName=font, fontSize=label_size, textAnchor="middle",
                           fillColor=TEXT_COLOUR))
    return drawing


def _clip(text: str, font: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"
