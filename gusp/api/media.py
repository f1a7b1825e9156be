"""Stored photos, served by the app. Keys are content hashes, so responses are immutable."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from gusp import errors
from gusp.api import deps

router = APIRouter(tags=["photos"])


@router.get("/media/{key}", response_class=FileResponse, summary="Une photo stockée")
def read_photo(key: str, storage: deps.StorageDep) -> FileResponse:
    if not storage.exists(key):
        raise errors.NotFound("photo_introuvable", "Photo introuvable.")
    return FileResponse(
        storage.path(key),
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )
