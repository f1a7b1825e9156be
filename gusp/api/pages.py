"""The web pages: plain HTML files from web/, the service worker at the root scope, front-end settings.

The pages are static; their ES modules (web/static/js/) call the JSON API. Nothing here renders data.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from gusp.api import assets
from gusp.config import PROJECT_DIR, Settings

WEB_DIR = PROJECT_DIR / "web"

router = APIRouter(include_in_schema=False)

# Pages are small and change with each release: always revalidated, never stale after a deploy.
_PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def html_page(request: Request, name: str, **headers: str) -> Response:
    """The page with its assets under the release fingerprint (gusp.api.assets); 304 when unchanged."""
    body, etag = assets.page(WEB_DIR / name, request.app.state.asset_version)
    all_headers = {**_PAGE_HEADERS, **headers, "ETag": etag}
    if etag in request.headers.get("if-none-match", "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=all_headers)
    return Response(body, media_type="text/html; charset=utf-8", headers=all_headers)


@router.get("/")
def report_page(request: Request) -> Response:
    """Reporting a problem from a phone; works offline once visited."""
    return html_page(request, "index.html")


@router.get("/suivi")
def follow_form(reference: str = Query("", max_length=64)) -> RedirectResponse:
    """The follow form of the home page (a GET form) lands on the follow page of that reference."""
    reference = reference.strip().upper()
    return RedirectResponse(f"/suivi/{reference}" if reference else "/#suivre", status_code=303)


@router.get("/suivi/{reference}")
def follow_page(request: Request, reference: str) -> Response:
    """The same page for every reference: it reads the public view from the API (no personal data there)."""
    return html_page(request, "suivi.html")


@router.get("/connexion")
def sign_in_page(request: Request) -> Response:
    return html_page(request, "connexion.html")


@router.get("/reinitialiser")
def password_reset_page(request: Request) -> Response:
    """The link's token is in the query string: never leak it to another site through the Referer header."""
    return html_page(request, "reinitialiser.html", **{"Referrer-Policy": "no-referrer"})


@router.get("/gestion")
def console_page(request: Request) -> Response:
    """Triage console for coordinators; the same page shows a partner its own queue."""
    return html_page(request, "gestion.html")


@router.get("/gestion/courriers")
def outbox_page(request: Request) -> Response:
    """Failed and pending mails, with "Renvoyer" (coordinators and admins)."""
    return html_page(request, "courriers.html")


@router.get("/gestion/comptes")
def accounts_page(request: Request) -> Response:
    """Staff accounts (admins)."""
    return html_page(request, "comptes.html")


@router.get("/compte")
def own_account_page(request: Request) -> Response:
    """One's own account: changing one's password."""
    return html_page(request, "compte.html")


@router.get("/partenaire")
def partner_page() -> RedirectResponse:
    return RedirectResponse("/gestion", status_code=303)


@router.get("/carte")
def group_map_page(request: Request) -> Response:
    """The operational groups' map, printable in A4 and A3 landscape."""
    return html_page(request, "carte.html")


@router.get("/dossiers")
def packs_page(request: Request) -> Response:
    """Meeting packs: issue one, download those already issued (staff; the data comes from the API)."""
    return html_page(request, "dossiers.html")


@router.get("/docs")
def api_docs_page(request: Request) -> Response:
    """Swagger UI over /openapi.json, its assets self-hosted from npm (no CDN); there is no /redoc."""
    return html_page(request, "docs.html")


@router.get("/sw.js")
def service_worker() -> FileResponse:
    """At the root so that its scope covers `/` and `/suivi/…`; revalidated at each visit."""
    return FileResponse(
        WEB_DIR / "sw.js",
        media_type="text/javascript; charset=utf-8",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


def front_end_settings(settings: Settings) -> dict[str, object]:
    """What the pages need to know of the settings; nothing secret."""
    tile_url, tile_attribution = settings.map_tiles
    return {
        "tileUrl": tile_url,
        "tileAttribution": tile_attribution,
        "maxPhotos": settings.max_photos,
        "maxPhotoBytes": settings.max_photo_bytes,
        "displayMaxPx": settings.display_max_px,
        "contactRetentionMonths": getattr(settings, "contact_retention_months", 12),
    }


@router.get("/config.js")
def config_script(request: Request) -> Response:
    """`GUSP_CONFIG`, loaded by every page before its modules (a classic script: no fetch to wait for) and
    by the service worker (`importScripts`: `self`, not `window`, which a worker does not have)."""
    body = json.dumps(front_end_settings(request.app.state.settings), ensure_ascii=False)
    return Response(
        f"self.GUSP_CONFIG = Object.freeze({body});\n",
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )

