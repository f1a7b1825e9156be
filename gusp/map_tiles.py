"""The map at any volume: Mapbox vector tiles of the triage list, aggregated on a grid at low zooms.

A tile holds what the triage list would return for the same filters and the same user
(`access.visible_reports`, `report_search.conditions`), cut to the tile:

- layer `reports`: one point per report, with `reference`, `status`, `category`, `overdue`;
- layer `clusters` (zooms below `POINTS_ZOOM`): the tile is cut into `CELLS` × `CELLS` cells;
  a cell holding two reports or more is one point at their mean position, with `count`, one count
  per status (`nouveau`…) and `overdue`. A cell holding one report gives that report in `reports`.

Every report falls in exactly one tile of a zoom and one cell of it (cells are half-open), so the
counts of the tiles covering an area add up to the list's count, exactly.

Tiles are cached per (who may see what, filters, tile, data version, time bucket): the version
(`report_map_version`, a sequence bumped when a report change commits) changes on every write,
the time bucket bounds how late an « en retard » flag can be.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, text
from sqlalchemy.orm import Session

from gusp import access, errors, report_search, states
from gusp.models import Quartier, Report, User, UserQuartier

POINTS_ZOOM = 16  # from this zoom on, every report is its own point (the map's zoom 17: it draws 512 px tiles)
CELLS = 8  # cells per tile side below POINTS_ZOOM: 64 px cells on the map's 512 px tiles
EXTENT = 4096  # MVT tile coordinates
MAX_ZOOM = 22
WORLD = 20037508.342789244  # half the width of the Web Mercator world, in metres
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not (0 <= self.z <= MAX_ZOOM and 0 <= self.x < 2**self.z and 0 <= self.y < 2**self.z):
            raise errors.NotFound("tuile_introuvable", f"La tuile {self.z}/{self.x}/{self.y} n'existe pas.")

    @property
    def size(self) -> float:
        """Side of the tile in Web Mercator metres."""
        return 2 * WORLD / 2**self.z

    @property
    def left(self) -> float:
        return -WORLD + self.x * self.size

    @property
    def top(self) -> float:
        return WORLD - self.y * self.size


def scope_key(session: Session, user: User) -> str:
    """Users who see the same reports share tiles: all staff alike, a partner's people alike."""
    match access.role(user):
        case states.Role.COORDINATEUR | states.Role.ADMIN:
            return "all"
        case states.Role.PARTENAIRE:
            return f"partner:{user.partner_id}"
        case states.Role.GROUPE:
            ids = session.scalars(select(UserQuartier.quartier_id).where(UserQuartier.user_id == user.id))
            return "quartiers:" + ",".join(str(i) for i in sorted(ids))
        case states.Role.AGENT:
            return f"agent:{user.id}"
    return f"user:{user.id}"


def data_version(session: Session) -> int:
    """Bumped by every committed insert, update or delete of a report (migration 0015)."""
    last_value, called = session.execute(text("SELECT last_value, is_called FROM report_map_version")).one()
    return int(last_value) if called else 0


def etag(*, scope: str, filters: report_search.Filters, tile: Tile, version: int, bucket: int) -> str:
    raw = repr((scope, filters, tile.z, tile.x, tile.y, version, bucket)).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def render(*, session: Session, user: User, filters: report_search.Filters, tile: Tile, now: datetime,
           tz: ZoneInfo) -> bytes:
    """The tile's bytes (MVT, possibly empty): one query."""
    where = report_search.conditions(filters, now=now, tz=tz)
    # Web Mercator by its formula (cheaper than ST_Transform per row); the grid and the tile agree on it.
    x_m = func.ST_X(Report.location) * (WORLD / 180.0)
    y_m = func.ln(func.tan(math.pi / 4 + func.radians(func.ST_Y(Report.location)) / 2)) * (WORLD / math.pi)
    # ST_Transform and friends are costed high: the planner would JIT-compile for seconds a query of milliseconds.
    session.execute(text("SET LOCAL jit = off"))
    per_side = EXTENT if tile.z >= POINTS_ZOOM else CELLS
    cell = tile.size / per_side
    open_statuses = [s.value for s in states.OPEN]
    overdue = and_(Report.status.in_(open_statuses), Report.due_at.is_not(None), Report.due_at < now)  # never NULL
    # A hair wider than the tile: the grid below, not this prefilter, decides which tile a point is in.
    envelope = func.ST_Expand(func.ST_Transform(func.ST_TileEnvelope(tile.z, tile.x, tile.y), 4326), 1e-7)
    located = access.visible_reports(user, select(
        Report.id, Report.reference, Report.status, Report.category_code, overdue.label("overdue"),
        x_m.label("mx"), y_m.label("my"),
    )).where(*where, Report.location.op("&&")(envelope)).subquery("located")
    # Cells of one world-wide grid: each point in exactly one cell, hence in one tile of the zoom.
    rows = select(located, func.floor((located.c.mx + WORLD) / cell).label("cx"),
                  func.floor((WORLD - located.c.my) / cell).label("cy")).cte("rows")  # read twice, computed once
    inside = and_(rows.c.cx >= tile.x * per_side, rows.c.cx < (tile.x + 1) * per_side,
                  rows.c.cy >= tile.y * per_side, rows.c.cy < (tile.y + 1) * per_side)
    if tile.z >= POINTS_ZOOM:
        return _points_only(session, rows, inside, tile)
    return _clustered(session, rows, inside, tile)


def _mvt_geom(tile: Tile, x, y):
    point = func.ST_SetSRID(func.ST_MakePoint(x, y), 3857)
    return func.ST_AsMVTGeom(point, func.ST_TileEnvelope(tile.z, tile.x, tile.y), EXTENT, 0, False)


def _points_only(session: Session, rows, inside, tile: Tile) -> bytes:
    points = select(
        rows.c.reference, rows.c.status, rows.c.category_code.label("category"), rows.c.overdue,
        _mvt_geom(tile, rows.c.mx, rows.c.my).label("geom"),
    ).where(inside).subquery("reports")
    layer = session.scalar(select(func.ST_AsMVT(text("reports.*"), "reports", EXTENT, "geom")).select_from(points))
    return bytes(layer or b"")


def _clustered(session: Session, rows, inside, tile: Tile) -> bytes:
    per_status = [func.count().filter(rows.c.status == s.value).label(s.value) for s in states.ReportStatus]
    cells = select(
        func.count().label("count"), *per_status, func.count().filter(rows.c.overdue).label("overdue"),
        func.avg(rows.c.mx).label("mx"), func.avg(rows.c.my).label("my"),
        func.min(rows.c.id).label("id"),  # for a cell of one report: that report (no text compared per row)
    ).where(inside).group_by(rows.c.cx, rows.c.cy).cte("cells")
    clusters = select(
        cells.c.count, *[cells.c[s.value] for s in states.ReportStatus], cells.c.overdue,
        _mvt_geom(tile, cells.c.mx, cells.c.my).label("geom"),
    ).where(cells.c.count > 1).subquery("clusters")
    # A cell of one report is that report: its point, clickable, at any zoom.
    alone = select(
        Report.reference, Report.status, Report.category_code.label("category"), (cells.c.overdue == 1).label("overdue"),
        _mvt_geom(tile, cells.c.mx, cells.c.my).label("geom"),
    ).join_from(cells, Report, Report.id == cells.c.id).where(cells.c.count == 1).subquery("reports")
    layer_clusters = select(func.ST_AsMVT(text("clusters.*"), "clusters", EXTENT, "geom")).select_from(clusters)
    layer_reports = select(func.ST_AsMVT(text("reports.*"), "reports", EXTENT, "geom")).select_from(alone)
    tile_bytes = session.scalar(select(layer_reports.scalar_subquery().op("||")(layer_clusters.scalar_subquery())))
    return bytes(tile_bytes or b"")


class TileCache:
    """Rendered tiles in memory, least recently used dropped first beyond `max_bytes`; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                self._bytes -= len(self._items.pop(key))
            self._items[key] = value
            self._bytes += len(value)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)


def time_bucket(now: datetime, seconds: int) -> int:
    return math.floor(now.timestamp() / max(1, seconds))



@dataclass(frozen=True)
class QuartierCounts:
    quartier_code: str | None  # None: outside every perimeter
    quartier_name: str
    total: int
    overdue: int
    by_status: dict[str, int]


@dataclass(frozen=True)
class MapCounts:
    """What the map shows, counted: the same filters and scope as the tiles, by quartier and status."""

    total: int
    overdue: int
    by_status: dict[str, int]
    data: list[QuartierCounts]


def counts(*, session: Session, user: User, filters: report_search.Filters, now: datetime, tz: ZoneInfo) -> MapCounts:
    """Exact counts of the reports the map's tiles hold, per quartier and status (one GROUP BY)."""
    overdue = and_(Report.status.in_([s.value for s in states.OPEN]), Report.due_at.is_not(None), Report.due_at < now)
    query = access.visible_reports(user, select(
        Report.quartier_id, Report.status, func.count().label("n"), func.count().filter(overdue).label("late"),
    )).where(*report_search.conditions(filters, now=now, tz=tz)).group_by(Report.quartier_id, Report.status)
    names = {q.id: (q.code, q.nom) for q in session.scalars(select(Quartier))}
    rows: dict[int | None, dict] = {}
    for quartier_id, status, n, late in session.execute(query):
        row = rows.setdefault(quartier_id, {"total": 0, "overdue": 0, "by_status": {}})
        row["total"] += n
        row["overdue"] += late
        row["by_status"][status] = n
    data = [QuartierCounts(quartier_code=names[q][0] if q else None, quartier_name=names[q][1] if q else "Hors périmètre",
                           **row) for q, row in rows.items()]
    data.sort(key=lambda r: (r.quartier_code is None, r.quartier_name))
    by_status: dict[str, int] = {}
    for row in data:
        for status, n in row.by_status.items():
            by_status[status] = by_status.get(status, 0) + n
    return MapCounts(total=sum(r.total for r in data), overdue=sum(r.overdue for r in data), by_status=by_status,
                     data=data)
