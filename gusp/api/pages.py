"""The web pages served by the app (placeholder until the web issue): `/`, `/suivi/...`."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse

from gusp.config import PROJECT_DIR

WEB_DIR = PROJECT_DIR / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8")


@router.get("/suivi")
def follow_form(reference: str = Query("")) -> RedirectResponse:
    """The follow form on the home page; until the follow page exists, the public JSON view."""
    return RedirectResponse(f"/api/v1/reports/{reference.strip().upper()}", status_code=303)


@router.get("/suivi/{reference}")
def follow(reference: str) -> RedirectResponse:
    return RedirectResponse(f"/api/v1/reports/{reference.strip().upper()}", status_code=303)
