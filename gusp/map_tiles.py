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
the time bucket bounds how late an « en retard » flag can be. Grouped tiles are rendered by blocks of
8 × 8 (`render_block`: one query, one scan of the rows, for the tiles of a view asked at once; the
other requests wait for it, `TileCache.fill`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, DateTime, Float, and_, bindparam, func, select, text
from sqlalchemy.orm import Session

from gusp import access, errors, report_search, states
from gusp.models import Report, User, UserQuartier

POINTS_ZOOM = 16  # from this zoom on, every report is its own point (the map's zoom 17: it draws 512 px tiles)
CELLS = 8  # cells per tile side below POINTS_ZOOM: 64 px cells on the map's 512 px tiles
EXTENT = 4096  # MVT tile coordinates
MAX_ZOOM = 22
WORLD = 20037508.342789244  # half the width of the Web Mercator world, in metres
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
BLOCK_SHIFT = 3  # grouped tiles are rendered by blocks of 8 × 8 (one query, one scan of the rows, for a whole view)


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

    def lon_lat_bounds(self) -> tuple[float, float, float, float]:
        """West, south, east, north in degrees, by the inverse Web Mercator formula: the same envelope as
        `ST_Transform(ST_TileEnvelope(z, x, y), 4326)` without PROJ, whose set-up costs every fresh connection ~10 ms."""
        n = 2**self.z
        lat = lambda row: math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))  # noqa: E731
        return self.x / n * 360 - 180, lat(self.y + 1), (self.x + 1) / n * 360 - 180, lat(self.y)


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


# For the rest of the transaction. JIT: ST_AsMVT and friends are costed high, the planner would compile for
# seconds a query of milliseconds. Custom plans: the tile's and the counts' SQL text is the same for every tile
# and filter set, so psycopg prepares it after 5 runs on a connection; PostgreSQL's generic plan for it (values
# unknown) made the dense tile of the 3-month window 4× slower (60 ms against 15).
_PLANNING = " set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)"


def clock_and_version(session: Session) -> tuple[datetime, int]:
    """The request's `now()` and the data version (bumped by every committed insert, update or delete of a
    report, migration 0015), with the planning settings above: one round trip."""
    now, version = session.execute(text(
        "SELECT now(), (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM report_map_version)," + _PLANNING
    )).one()[:2]
    return now, int(version)


def clock(session: Session) -> datetime:
    """The request's `now()`, with the planning settings of `clock_and_version`: one round trip."""
    return session.execute(text("SELECT now()," + _PLANNING)).one()[0]


def etag(*, scope: str, filters: report_search.Filters, tile: Tile, version: int, bucket: int) -> str:
    raw = repr((scope, filters, tile.z, tile.x, tile.y, version, bucket)).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


# Web Mercator by its formula (cheaper than ST_Transform per row), computed once per row with its cell on one
# world-wide grid: each point in exactly one cell (cells are half-open), hence in one tile of the zoom.
_LOCATED = """
WITH located AS (  -- OFFSET 0: computed once per row, no tuple store
    SELECT f.*, floor((f.mx + %(t_world)s) / %(t_cell)s)::bigint AS cx,
           floor((%(t_world)s - f.my) / %(t_cell)s)::bigint AS cy
    FROM (SELECT s.*, s.lon * %(t_kx)s AS mx, ln(tan(pi() / 4 + radians(s.lat) / 2)) * %(t_ky)s AS my
          FROM ({filtered}) s OFFSET 0) f OFFSET 0
)"""
_INSIDE = "cx >= %(t_cx0)s AND cx < %(t_cx1)s AND cy >= %(t_cy0)s AND cy < %(t_cy1)s"
_GEOM = ("ST_AsMVTGeom(ST_SetSRID(ST_MakePoint({x}, {y}), 3857), ST_TileEnvelope(%(t_z)s, %(t_x)s, %(t_y)s), "
         f"{EXTENT}, 0, false)")
_POINTS = _LOCATED + f"""
SELECT ST_AsMVT(p.*, 'reports', {EXTENT}, 'geom') FROM (
    SELECT reference, status, category_code AS category, late AS overdue, {_GEOM.format(x="mx", y="my")} AS geom
    FROM located WHERE {_INSIDE}) p"""
# Grouped by cell and status first (few aggregates per row), then folded per cell (few rows).
_STATUSES = ", ".join(f"coalesce(sum(n) FILTER (WHERE status = '{s.value}'), 0)::int AS {s.value}"
                      for s in states.ReportStatus)
_CELLS = _LOCATED + f""",
by_status AS (
    SELECT cx, cy, status, late, count(*)::int AS n, sum(mx) AS sx, sum(my) AS sy, min(id) AS id
    FROM located GROUP BY cx, cy, status, late
),
cells AS MATERIALIZED (
    SELECT min(cx) / {CELLS} AS tx, min(cy) / {CELLS} AS ty, sum(n)::int AS count, {_STATUSES}, coalesce(sum(n) FILTER (WHERE late), 0)::int AS overdue,
           sum(sx) / sum(n) AS mx, sum(sy) / sum(n) AS my, min(id) AS id
    FROM by_status GROUP BY cx, cy
    -- The tile's (the block's) cells only (the envelope is a hair wider): tested on the groups, an aggregate so that the planner
    -- keeps it there; pushed down to the rows, its selectivity is guessed tiny and the rows get sorted, not hashed.
    HAVING min(cx) >= %(t_cx0)s AND min(cx) < %(t_cx1)s AND min(cy) >= %(t_cy0)s AND min(cy) < %(t_cy1)s
)"""
_CLUSTERED = _CELLS + f"""
SELECT (SELECT ST_AsMVT(a.*, 'reports', {EXTENT}, 'geom') FROM (
            SELECT r.reference, r.status, r.category_code AS category, c.overdue = 1 AS overdue,
                   {_GEOM.format(x="c.mx", y="c.my")} AS geom
            FROM cells c JOIN reports r ON r.id = c.id WHERE c.count = 1) a)
    || (SELECT ST_AsMVT(g.*, 'clusters', {EXTENT}, 'geom') FROM (
            SELECT count, {", ".join(s.value for s in states.ReportStatus)}, overdue,
                   {_GEOM.format(x="mx", y="my")} AS geom
            FROM cells WHERE count > 1) g)"""
# A block of BLOCK × BLOCK tiles in one query: one row (tx, ty, bytes) per tile holding something.
_GEOM_AT = _GEOM.replace("%(t_x)s, %(t_y)s", "t.tx::int, t.ty::int")
_BLOCKED = _CELLS + f"""
SELECT t.tx, t.ty,
       (SELECT ST_AsMVT(a.*, 'reports', {EXTENT}, 'geom') FROM (
            SELECT r.reference, r.status, r.category_code AS category, c.overdue = 1 AS overdue,
                   {_GEOM_AT.format(x="c.mx", y="c.my")} AS geom
            FROM cells c JOIN reports r ON r.id = c.id WHERE c.count = 1 AND c.tx = t.tx AND c.ty = t.ty) a)
    || (SELECT ST_AsMVT(g.*, 'clusters', {EXTENT}, 'geom') FROM (
            SELECT count, {", ".join(s.value for s in states.ReportStatus)}, overdue,
                   {_GEOM_AT.format(x="c.mx", y="c.my")} AS geom
            FROM cells c WHERE c.count > 1 AND c.tx = t.tx AND c.ty = t.ty) g)
FROM (SELECT DISTINCT tx, ty FROM cells) t"""


# The counts beside the map: one GROUP BY over the same rows, with the quartiers' names (not their outlines).
_COUNTS = """
SELECT c.quartier_id, q.code, q.nom, c.status, c.n, c.late
FROM (SELECT quartier_id, status, count(*)::int AS n, (count(*) FILTER (WHERE late))::int AS late
      FROM ({filtered}) f GROUP BY quartier_id, status) c
LEFT JOIN quartiers q ON q.id = c.quartier_id"""


# The filtered SELECTs compiled, by SQLAlchemy's cache key and the values of their parameters: a map's tiles
# share one filter set, and compiling it (a few ms of Python under the GIL) would otherwise be paid per tile.
_COMPILED: OrderedDict[tuple, tuple[str, dict]] = OrderedDict()
_COMPILED_MAX = 512
_COMPILED_LOCK = threading.Lock()
# Per-request values stay parameters of the cached SQL, given at execution (the tile's in the fixed text too).
_NOW = bindparam("t_now", None, type_=DateTime(timezone=True))
_ENVELOPE = func.ST_MakeEnvelope(*(bindparam(f"t_{side}", None, Float) for side in "wsen"), 4326)
_MARGIN = 1e-7  # degrees (~1 cm): the prefilter's envelope is a hair wider than the tile


def _frozen(value: object) -> object:
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


def _compiled(session: Session, query) -> tuple[str, dict]:
    """A SELECT as the driver's SQL and parameters, lists expanded: to be placed inside fixed SQL text.

    Cached by SQLAlchemy's own cache key (the statement's structure) and its parameters' values: the same
    SQL text and parameters, compiled once.
    """
    cache_key = query._generate_cache_key()
    key = None
    if cache_key is not None:
        key = (cache_key.key, tuple(_frozen(b.effective_value) for b in cache_key.bindparams))
        try:
            with _COMPILED_LOCK:
                found = _COMPILED.get(key)
                if found is not None:
                    _COMPILED.move_to_end(key)
                    return found[0], dict(found[1])
        except TypeError:  # a parameter's value that cannot be hashed: compiled every time
            key = None
    if key is None:
        compiled = query.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        return compiled.string, dict(compiled.params)
    # Compiled under the lock: the tiles of a new filter set, asked at once, compile it once (it holds the GIL anyway).
    with _COMPILED_LOCK:
        found = _COMPILED.get(key)
        if found is None:
            compiled = query.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
            found = _COMPILED[key] = compiled.string, dict(compiled.params)
            while len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
    return found[0], dict(found[1])


def _late(due: ColumnElement | None, now: datetime) -> ColumnElement[bool]:
    """Open and past the deadline that counts (`due`: the triage list's, gusp.deadlines); never NULL."""
    due = Report.due_at if due is None else due
    return and_(Report.status.in_([s.value for s in states.OPEN]), due.is_not(None), due < now)


def _query(*, session: Session, user: User, filters: report_search.Filters, region: Tile, zoom: int,
           now: datetime, tz: ZoneInfo, due: ColumnElement | None) -> tuple[str, dict]:
    """The filtered SELECT's SQL and the parameters for the tiles of `zoom` inside `region` (the tile itself,
    or the tile of a lower zoom covering a block of them)."""
    points = zoom >= POINTS_ZOOM
    per_side = EXTENT if points else CELLS
    cells = per_side * 2 ** (zoom - region.z)  # cells of `zoom` per side of the region
    overdue = _late(due, _NOW)
    columns = [Report.id, Report.status, overdue.label("late"), func.ST_X(Report.location).label("lon"),
               func.ST_Y(Report.location).label("lat")]
    if points:
        columns += [Report.reference, Report.category_code]
    filtered = access.visible_reports(user, select(*columns)).where(
        # A hair wider than the region: the grid, not this prefilter, decides which tile a point is in.
        *report_search.conditions(filters, now=_NOW, tz=tz, due=due), Report.location.op("&&")(_ENVELOPE))
    filtered_sql, params = _compiled(session, filtered)
    west, south, east, north = region.lon_lat_bounds()
    params |= {"t_w": west - _MARGIN, "t_s": south - _MARGIN, "t_e": east + _MARGIN, "t_n": north + _MARGIN}
    params |= {"t_now": now, "t_world": WORLD, "t_cell": 2 * WORLD / 2**zoom / per_side, "t_kx": WORLD / 180.0,
               "t_ky": WORLD / math.pi, "t_z": zoom, "t_x": region.x, "t_y": region.y,
               "t_cx0": region.x * cells, "t_cx1": (region.x + 1) * cells,
               "t_cy0": region.y * cells, "t_cy1": (region.y + 1) * cells}
    return filtered_sql, params


def render(*, session: Session, user: User, filters: report_search.Filters, tile: Tile, now: datetime,
           tz: ZoneInfo, due: ColumnElement | None = None) -> bytes:
    """The tile's bytes (MVT, possibly empty): one query, after `clock_and_version` (JIT off).

    Only the filters go through SQLAlchemy (the triage list's own conditions, compiled once per filter set);
    the tile's part is fixed SQL text.
    """
    filtered_sql, params = _query(session=session, user=user, filters=filters, region=tile, zoom=tile.z, now=now,
                                  tz=tz, due=due)
    sql = (_POINTS if tile.z >= POINTS_ZOOM else _CLUSTERED).replace("{filtered}", filtered_sql)
    body = session.connection().exec_driver_sql(sql, params).scalar()
    return bytes(body or b"")


def block_of(tile: Tile) -> Tile | None:
    """The block a grouped tile is rendered with: the tile of BLOCK_SHIFT zooms lower that covers it."""
    if tile.z >= POINTS_ZOOM or tile.z < BLOCK_SHIFT:
        return None
    return Tile(tile.z - BLOCK_SHIFT, tile.x >> BLOCK_SHIFT, tile.y >> BLOCK_SHIFT)


def render_block(*, session: Session, user: User, filters: report_search.Filters, block: Tile, now: datetime,
                 tz: ZoneInfo, due: ColumnElement | None = None) -> dict[Tile, bytes]:
    """Every tile of a block (`block_of`) in one query: the bytes `render` gives each, empty ones included."""
    zoom = block.z + BLOCK_SHIFT
    filtered_sql, params = _query(session=session, user=user, filters=filters, region=block, zoom=zoom, now=now,
                                  tz=tz, due=due)
    side = 2**BLOCK_SHIFT
    tiles = {Tile(zoom, block.x * side + i, block.y * side + j): b"" for i in range(side) for j in range(side)}
    for tx, ty, body in session.connection().exec_driver_sql(_BLOCKED.replace("{filtered}", filtered_sql), params):
        tiles[Tile(zoom, tx, ty)] = bytes(body or b"")
    return tiles


class TileCache:
    """Rendered tiles in memory, least recently used dropped first beyond `max_bytes`; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._filling: dict[str, threading.Event] = {}

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

    def fill(self, key: str, render: Callable[[], dict[str, bytes]], wait_s: float = 60) -> None:
        """Cache what `render` gives, rendered once for the concurrent callers of `key` (the first one renders,
        the others wait for it, at most `wait_s`); a failure is raised to the one that rendered."""
        with self._lock:
            done = self._filling.get(key)
            first = done is None
            if first:
                done = self._filling[key] = threading.Event()
        if not first:
            done.wait(wait_s)
            return
        try:
            for item, value in render().items():
                self.put(item, value)
        finally:
            with self._lock:
                del self._filling[key]
            done.set()


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


def counts(*, session: Session, user: User, filters: report_search.Filters, now: datetime, tz: ZoneInfo,
           due: ColumnElement | None = None) -> MapCounts:
    """Exact counts of the reports the map's tiles hold, per quartier and status (one GROUP BY)."""
    filtered = access.visible_reports(user, select(Report.quartier_id, Report.status, _late(due, _NOW).label("late")))
    filtered = filtered.where(*report_search.conditions(filters, now=_NOW, tz=tz, due=due))
    sql, params = _compiled(session, filtered)
    params["t_now"] = now
    rows: dict[int | None, dict] = {}
    names: dict[int | None, tuple[str | None, str]] = {None: (None, "Hors périmètre")}
    for quartier_id, code, nom, status, n, late in session.connection().exec_driver_sql(_COUNTS.replace(
            "{filtered}", sql), params):
        if quartier_id is not None:
            names[quartier_id] = (code, nom)
        row = rows.setdefault(quartier_id, {"total": 0, "overdue": 0, "by_status": {}})
        row["total"] += n
        row["overdue"] += late
        row["by_status"][status] = n
    data = [QuartierCounts(quartier_code=names[q][0], quartier_name=names[q][1], **row) for q, row in rows.items()]
    data.sort(key=lambda r: (r.quartier_code is None, r.quartier_name))
    by_status: dict[str, int] = {}
    for row in data:
        for status, n in row.by_status.items():
            by_status[status] = by_status.get(status, 0) + n
    return MapCounts(total=sum(r.total for r in data), overdue=sum(r.overdue for r in data), by_status=by_status,
                     data=data)
