"""`create_app(settings)` builds everything: engine, sessions, storage, routers, error handlers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from gusp import db, localtime, map_tiles, storage
from gusp.api import (
    assets,
    auth,
    body_limit,
    categories_admin,
    compression,
    diagnostics,
    contract,
    errors,
    health,
    hostile,
    intake_lane,
    log_scrub,
    media,
    moderation,
    open311,
    open311_clients,
    outbox,
    packs,
    pages,
    partner_open311,
    photo_blur,
    partners,
    referentials,
    reports,
    security_headers,
    stats,
    tiles,
    triage,
    users,
)
from gusp.config import Settings
from gusp.ops import logs, metrics
from gusp.photos import budget as photo_budget

def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    localtime.use(settings.timezone)
    # Enough kept connections for the requests served at once (the thread pool runs up to 40).
    engine = db.make_engine(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_pool_size)

    lane = intake_lane.Connections(settings.database_url, size=settings.intake_lane_connections)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await lane.close()
        engine.dispose()

    app = FastAPI(
        title="GUSP — API des signalements",
        description=(
            "Signalements du cadre de vie dans les quartiers de la politique de la ville. "
            "Toute erreur répond en JSON `{code, message}` : `code` est stable, `message` est en français."
        ),
        version="1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs is served by pages, with self-hosted assets
        redoc_url=None,
        dependencies=[Depends(hostile.refuse_nul)],
    )
    if settings.intake_lane_connections:  # innermost: every middleware below applies to its answers
        app.add_middleware(intake_lane.IntakeLane, settings=settings, connections=lane)
    # Every photo may be at the limit; the whole request cannot be larger than that.
    app.add_middleware(body_limit.BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(compression.Compression)  # Brotli or gzip; nginx in front passes it through
    app.add_middleware(metrics.RequestTimer)
    app.add_middleware(logs.AccessLog)
    app.add_middleware(security_headers.SecurityHeaders, settings=settings)  # on every answer
    app.state.settings = settings
    app.state.engine = engine
    app.state.intake_lane = lane
    app.state.sessionmaker = db.make_sessionmaker(engine)
    app.state.storage = storage.from_settings(settings)
    app.state.map_tiles = map_tiles.TileCache(settings.map_cache_mb * 1024 * 1024)
    photo_budget.shared(settings.decode_memory_mb * photo_budget.MIB)  # set glibc up before any request thread
    errors.install(app)
    hostile.install(app)
    contract.install(app)
    log_scrub.install()
    app.include_router(reports.router)
    app.include_router(auth.router)
    app.include_router(triage.router)
    app.include_router(moderation.router)
    app.include_router(photo_blur.router)
    app.include_router(outbox.router)
    app.include_router(users.router)
    app.include_router(partners.router)
    app.include_router(partner_open311.router)
    app.include_router(stats.router)
    app.include_router(tiles.router)
    app.include_router(diagnostics.router)
    app.include_router(packs.router)
    app.include_router(open311_clients.router)
    app.include_router(open311.router)
    app.include_router(referentials.router)
    app.include_router(categories_admin.router)
    app.include_router(media.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    # Pages name their assets under this fingerprint (gusp.api.assets): kept a year by browsers.
    version = app.state.asset_version = assets.fingerprint(pages.WEB_DIR / "static", pages.WEB_DIR / "package-lock.json")
    app.mount("/static", assets.Assets(directory=pages.WEB_DIR / "static", version=version), name="static")
    # Front-end libraries from the npm registry (web/package.json), installed by scripts/setup_web.sh.
    # Missing ones make /readyz fail and `gusp serve` refuse to start (gusp.ops.health.web_assets).
    vendor = settings.web_vendor_dir
    if vendor.is_dir():
        app.mount("/vendor", assets.Assets(directory=vendor, version=version), name="vendor")
    return app


def create_served_app() -> FastAPI:
    """The app `gusp serve` runs in each of its processes: settings from the environment, logs set up."""
    settings = Settings()
    logs.configure(json_lines=settings.log_format == "json")
    return create_app(settings)
