"""The default map background (the Géoplateforme's Plan IGN), served here by a local handler in place
of data.geopf.fr (no internet in tests): tiles drawn with their attribution, allowed by the CSP, and
kept by the service worker so that the map still has its streets offline."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from gusp.api.main import create_app
from gusp.config import IGN_PLAN_TILES
from tests.web.conftest import serve


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (235, 225, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def ign_server(live_server):
    """The same database, the default tile settings (the tests' settings switch tiles off)."""
    settings = live_server.settings.model_copy(update={"tile_url": IGN_PLAN_TILES, "tile_attribution": ""})
    app = create_app(settings)
    with serve(app) as url:
        yield url
    app.state.engine.dispose()


def _geoplateforme(context) -> list[str]:
    """Answer data.geopf.fr's tile requests locally; the list of what was asked."""
    asked: list[str] = []
    tile = _png()

    def answer(route):
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=tile, headers={"Access-Control-Allow-Origin": "*"})

    context.route(re.compile(r"^https://data\.geopf\.fr/"), answer)
    return asked


def test_plan_ign_tiles_are_drawn_with_their_attribution(pages, ign_server):
    context = pages.context(base_url=ign_server, viewport={"width": 1366, "height": 768})
    asked = _geoplateforme(context)
    page = context.new_page()
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#report-map img.leaflet-tile-loaded")).not_to_have_count(0)
    expect(page.locator("#report-map")).not_to_have_class(re.compile("no-tiles"))
    expect(page.locator("#report-map .leaflet-control-attribution")).to_contain_text("© IGN – Plan IGN")
    query = parse_qs(urlsplit(asked[0]).query)
    assert query["LAYER"] == ["GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2"] and query["TILEMATRIXSET"] == ["PM"]
    assert all(query[k][0].isdigit() for k in ("TILEMATRIX", "TILEROW", "TILECOL"))
    pages.check_accessibility(page, "plan-ign")
    pages.shoot(page, "plan-ign")


def test_the_service_worker_keeps_the_tiles_once_seen(pages, ign_server):
    context = pages.context(base_url=ign_server, phone=True, service_workers="allow")
    asked = _geoplateforme(context)
    page = context.new_page()
    page.goto("/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    page.reload()  # now through the worker
    expect(page.locator("#report-map img.leaflet-tile-loaded")).not_to_have_count(0)
    page.wait_for_timeout(500)
    kept = page.evaluate("async () => (await (await caches.open('gusp-tiles-v1')).keys()).map((r) => r.url)")
    assert kept and all(url.startswith("https://data.geopf.fr/wmts?") for url in kept), kept
    assert set(kept) <= set(asked)

    context.set_offline(True)
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#report-map img.leaflet-tile-loaded")).not_to_have_count(0)  # streets, offline
