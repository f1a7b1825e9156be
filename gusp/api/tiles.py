"""The report map as vector tiles: `GET /api/v1/tiles/{z}/{x}/{y}.mvt`, the triage list's filters and scope.

Answers carry an ETag of (scope, filters, tile, data version, time bucket) and `Cache-Control:
private, no-cache`: the browser keeps the tile and asks again, a 304 costs one small query.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gusp import deadlines, map_tiles
from gusp.api import auth_deps, deps, report_filters

router = APIRouter(tags=["gestion"])


@router.get(
    "/api/v1/tiles/{z}/{x}/{y}.mvt", summary="Carte des signalements (tuiles vectorielles)",
    response_class=Response,
    responses={200: {"content": {map_tiles.MEDIA_TYPE: {}}, "description": "Tuile Mapbox Vector Tile."},
               304: {"description": "La tuile n'a pas changé (If-None-Match)."},
               404: {"description": "Tuile hors du monde."}},
)
def tile(z: int, x: int, y: int, request: Request, session: deps.SessionDep, settings: deps.SettingsDep,
         user: auth_deps.CurrentUser, filters: report_filters.FiltersDep) -> Response:
    """Les signalements de la liste de tri (mêmes filtres, même périmètre de visibilité) dans la tuile :
    couche `reports` (un point par signalement), et, sous le zoom 16, couche `clusters` (groupes sur
    une grille de 8 × 8 cases par tuile, avec leur nombre exact par statut)."""
    place = map_tiles.Tile(z, x, y)
    now, version = map_tiles.clock_and_version(session)
    bucket = map_tiles.time_bucket(now, settings.map_overdue_lag_s)
    scope = map_tiles.scope_key(session, user)

    def tag_of(tile: map_tiles.Tile) -> str:
        return map_tiles.etag(scope=scope, filters=filters, tile=tile, version=version, bucket=bucket)

    tag = tag_of(place)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Cookie, Authorization"}
    if tag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    cache: map_tiles.TileCache = request.app.state.map_tiles
    body = cache.get(tag)
    if body is None:
        asked = {"session": session, "user": user, "filters": filters, "now": now, "tz": ZoneInfo(settings.timezone),
                 "due": deadlines.due_expression(settings)}
        block = map_tiles.block_of(place)
        if block is not None:  # the view's tiles, asked at once, wait for one query of their block
            cache.fill("block:" + tag_of(block), lambda: {
                tag_of(tile): value for tile, value in map_tiles.render_block(block=block, **asked).items()})
            body = cache.get(tag)
        if body is None:  # a tile of points, or its block's query failed in another request
            body = map_tiles.render(tile=place, **asked)
            cache.put(tag, body)
    return Response(body, media_type=map_tiles.MEDIA_TYPE, headers=headers)


@router.get("/api/v1/stats/map", response_model=map_tiles.MapCounts, tags=["statistiques"],
            summary="Comptes exacts de la carte, par quartier et statut")
def map_counts(session: deps.SessionDep, settings: deps.SettingsDep, user: auth_deps.CurrentUser,
               filters: report_filters.FiltersDep) -> map_tiles.MapCounts:
    """Les signalements que montrent les tuiles pour les mêmes filtres, comptés par quartier et par statut,
    avec ceux en retard : le tableau à côté de la carte."""
    now = map_tiles.clock(session)
    return map_tiles.counts(session=session, user=user, filters=filters, now=now, tz=ZoneInfo(settings.timezone),
                            due=deadlines.due_expression(settings))
