"""Security headers on every answer (issue 10, points 7 and 8): one middleware, a CSP without inline
code that follows the tile settings, no framing, no caching of staff pages and JSON."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from gusp.api import security_headers
from gusp.api.main import create_app
from gusp.config import PROJECT_DIR

PAGES = ["/", "/suivi/GUSP-2026-000001", "/connexion", "/reinitialiser", "/gestion", "/carte", "/statistiques", "/docs",
         "/gestion/courriers", "/gestion/comptes", "/compte"]


@pytest.fixture
def client(settings, engine):
    app = create_app(settings.model_copy(update={"tile_url": "https://data.geopf.fr/wmts?TILEMATRIX={z}&TILECOL={x}"
                                                             "&TILEROW={y}"}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def directives(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in policy.split(";") if d.strip()}


@pytest.mark.parametrize("path", [*PAGES, "/api/v1/categories", "/api/v1/auth/me", "/static/gusp.css",
                                  "/open311/v2/services.json", "/nulle-part"])
def test_every_answer_carries_the_headers(client, path):
    response = client.get(path)
    csp = directives(response)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"  # no inline code, no eval
    assert csp["frame-ancestors"] == "'none'" and response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in {"strict-origin-when-cross-origin", "no-referrer"}


def test_the_tile_host_of_the_settings_is_allowed(client):
    csp = directives(client.get("/carte"))
    assert "https://data.geopf.fr" in csp["img-src"].split()
    assert "https://data.geopf.fr" in csp["connect-src"].split()


def test_no_tile_host_when_tiles_are_off(settings, engine):
    """Tiles off (the tests' settings, or GUSP_TILE_URL=none): the CSP names no other host."""
    for off in ("", "none"):
        app = create_app(settings.model_copy(update={"tile_url": off}))
        with TestClient(app) as client:
            csp = directives(client.get("/"))
        app.state.engine.dispose()
        assert csp["img-src"] == "'self' data: blob:" and csp["connect-src"] == "'self'"


def test_tile_sources():
    assert security_headers.tile_sources("") == []
    assert security_headers.tile_sources("https://{s}.tile.openstreetmap.fr/osmfr/{z}/{x}/{y}.png") == [
        "https://*.tile.openstreetmap.fr"]
    assert security_headers.tile_sources("http://localhost:8080/{z}/{x}/{y}.png") == ["http://localhost:8080"]
    assert security_headers.tile_sources("javascript:alert(1)") == []


@pytest.mark.parametrize("path", ["/connexion", "/gestion", "/carte", "/statistiques", "/reinitialiser",
                                  "/api/v1/categories", "/api/v1/auth/me", "/api/v1/reports/GUSP-2026-000001",
                                  "/openapi.json"])
def test_staff_pages_and_json_are_never_stored(client, path):
    assert client.get(path).headers["cache-control"] == "no-store"


def test_static_files_and_public_pages_keep_their_caching(client):
    assert "no-store" not in client.get("/static/gusp.css").headers.get("cache-control", "")
    assert client.get("/").headers["cache-control"] == "no-cache"
    assert client.get("/sw.js").headers["cache-control"] == "no-cache"


def test_the_reset_page_keeps_its_stricter_referrer_policy(client):
    assert client.get("/reinitialiser").headers["referrer-policy"] == "no-referrer"


def test_api_docs_are_self_hosted_and_pinned(client):
    page = client.get("/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    bundle = f"/vendor/v-{client.app.state.asset_version}/swagger-ui-dist/swagger-ui-bundle.js"  # gusp.api.assets
    assert bundle in sources
    assert client.get(bundle).status_code == 200
    assert client.get("/redoc").status_code == 404
    version = re.search(r'"swagger-ui-dist": "([^"]+)"', (PROJECT_DIR / "web" / "package.json").read_text())
    assert version and re.fullmatch(r"\d+\.\d+\.\d+", version.group(1)), "pin an exact version"


def test_no_page_has_inline_script_style_or_handler():
    for page in (PROJECT_DIR / "web").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page.name
        assert not re.search(r"<style\b", html), page.name
        assert not re.search(r"\s(on[a-z]+|style)\s*=", html), page.name
