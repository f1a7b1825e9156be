"""The page routes over HTTP, without a browser: content types, caching, redirects, headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gusp.api.main import create_app
from gusp.config import PROJECT_DIR


@pytest.fixture
def client(settings):
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


@pytest.mark.parametrize("path", ["/", "/suivi/GUSP-2026-000001", "/connexion", "/gestion", "/carte", "/reinitialiser",
                                  "/statistiques", "/dossiers", "/docs", "/gestion/courriers", "/gestion/comptes",
                                  "/compte"])
def test_pages_are_french_html_revalidated_or_never_stored(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    public = path == "/" or path.startswith("/suivi/")  # kept by the service worker for offline use
    assert response.headers["cache-control"] == ("no-cache" if public else "no-store")
    assert '<html lang="fr">' in response.text


def test_password_reset_page_sends_no_referrer(client):
    assert client.get("/reinitialiser?jeton=abc").headers["referrer-policy"] == "no-referrer"


def test_service_worker_covers_the_whole_site(client):
    response = client.get("/sw.js")
    assert response.headers["service-worker-allowed"] == "/"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/javascript")


def test_front_end_settings(client, settings):
    response = client.get("/config.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text.startswith("self.GUSP_CONFIG = ")  # `self`: pages and the service worker read it
    assert '"tileUrl": ""' in response.text  # the tests' settings: no tiles (no internet), perimeters and markers only
    assert f'"maxPhotos": {settings.max_photos}' in response.text
    assert f'"maxPhotoBytes": {settings.max_photo_bytes}' in response.text


def test_follow_form_and_partner_address_redirect(client):
    response = client.get("/suivi", params={"reference": " gusp-2026-000123 "}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/suivi/GUSP-2026-000123")
    assert client.get("/suivi", follow_redirects=False).headers["location"] == "/#suivre"
    assert client.get("/partenaire", follow_redirects=False).headers["location"] == "/gestion"


def _imports(module: Path, seen: set[str]) -> set[str]:
    for name in re.findall(r'from "\./([\w.]+\.js)"', module.read_text(encoding="utf-8")):
        if name not in seen:
            seen.add(name)
            _imports(module.parent / name, seen)
    return seen


def test_service_worker_keeps_every_module_of_the_public_pages():
    """Offline, the reporting and follow pages need every module they import, kept at install."""
    js = PROJECT_DIR / "web" / "static" / "js"
    shell = set(re.findall(r'"/static/js/([\w.]+\.js)"', (PROJECT_DIR / "web" / "sw.js").read_text(encoding="utf-8")))
    needed = _imports(js / "report.js", {"report.js"}) | _imports(js / "follow.js", {"follow.js"})
    assert needed <= shell, f"missing from SHELL in web/sw.js: {sorted(needed - shell)}"
