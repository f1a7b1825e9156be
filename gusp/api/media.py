"""Stored photos, served by the app. Keys are content hashes, so responses are immutable.

The bytes are streamed from whichever store holds them (local disk or S3): the object store stays
private, one origin serves pages and photos, and what may be served is decided here, not by it.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gusp.api import deps

router = APIRouter(tags=["photos"])


@router.get("/media/{key}", response_class=StreamingResponse, summary="Une photo stockée",
            responses={200: {"content": {"image/jpeg": {}}}})
def read_photo(key: str, storage: deps.StorageDep) -> StreamingResponse:
    stream = storage.open(key)
    return StreamingResponse(
        stream,
        media_type="image/jpeg",
        headers={
            "Content-Length": str(stream.size),
            "ETag": f'"{key.removesuffix(".jpg")}"',
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(stream.close),
    )
