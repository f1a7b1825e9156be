"""Stored photos, served by the app: a public URL and a staff URL per rendition.

The bytes are streamed from whichever store holds them (local disk or S3): the object store stays
private, one origin serves pages and photos, and what may be served is decided here, not by it.

`/media/{key}` serves a rendition only while its photo may be public (gusp.public.visibility):
hidden by a coordinator, of a sensitive category or awaiting publication, it answers 404. So it is
revalidated at each use (`no-cache` with an ETag, answered 304 while unchanged), never cached as
immutable: a photo hidden today must not stay in browsers and proxies for a year.
`/api/v1/gestion/media/{key}` serves signed-in staff (never stored by caches) the renditions of the
photos they may see: a report's photos, hidden ones included, if the report is theirs to see
(gusp.access), a diagnostic's photos if the diagnostic is; unblurred originals to coordinators and
admins only. Keys are content hashes, yet a key once public (a photo hidden since) or read in a
forwarded mail must not open another partner's report: whatever else answers the same 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import ColumnElement, exists, or_, select
from starlette.background import BackgroundTask

from gusp import access, diagnostics, errors
from gusp.models import Report, ReportPhoto, User
from gusp.models.diagnostics import Diagnostic, DiagnosticFinding, DiagnosticPhoto
from gusp.api import auth_deps, deps
from gusp.public import visibility
from gusp.storage import PhotoStorage

router = APIRouter(tags=["photos"])
_JPEG = {200: {"content": {"image/jpeg": {}}}, 404: {"description": "Photo introuvable ou non publique."}}


def _not_public() -> JSONResponse:
    """The same 404 as a key that does not exist; never stored by a cache (it may be shown again)."""
    error = errors.NotFound("photo_introuvable", "Photo introuvable.")
    return JSONResponse(error.body(), status_code=404, headers={"Cache-Control": "no-store"})


def _stream(storage: PhotoStorage, key: str, cache_control: str) -> StreamingResponse:
    stream = storage.open(key)
    return StreamingResponse(
        stream,
        media_type="image/jpeg",
        headers={
            "Content-Length": str(stream.size),
            "ETag": _etag(key),
            "Cache-Control": cache_control,
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(stream.close),
    )


def _etag(key: str) -> str:
    return f'"{key.removesuffix(".jpg")}"'


@router.get("/media/{key}", response_class=StreamingResponse, summary="Une photo publique", responses=_JPEG)
def read_photo(key: str, request: Request, session: deps.SessionDep, storage: deps.StorageDep) -> Response:
    if len(key) > 80 or not session.scalar(select(visibility.key_is_public(key))):
        return _not_public()
    if request.headers.get("if-none-match") == _etag(key):
        return Response(status_code=304, headers={"ETag": _etag(key), "Cache-Control": "public, no-cache"})
    return _stream(storage, key, "public, no-cache")


@router.get("/api/v1/gestion/media/{key}", response_class=StreamingResponse, summary="Une photo (personnel)",
            responses=_JPEG, tags=["gestion"])
def read_staff_photo(key: str, user: auth_deps.CurrentUser, session: deps.SessionDep,
                     storage: deps.StorageDep) -> Response:
    """A rendition of a photo this account may see, hidden photos included; an unblurred original only
    for coordinators and admins (faces, plates)."""
    if len(key) > 80 or not session.scalar(select(_visible_to(user, key))):
        return _not_public()
    return _stream(storage, key, "private, no-store")


def _visible_to(user: User, key: str) -> ColumnElement[bool]:
    """SQL: `key` names a rendition (or, for those who see them, an original) of a photo `user` may see."""
    def names(photo: type[ReportPhoto] | type[DiagnosticPhoto]) -> ColumnElement[bool]:
        keys = [photo.display_key == key, photo.thumbnail_key == key]
        if access.sees_originals(user) and photo is ReportPhoto:  # a diagnostic keeps no original
            keys.append(ReportPhoto.original_key == key)
        return or_(*keys)

    reports = access.visible_reports(user, select(Report.id))
    found = diagnostics.visible_diagnostics(user, select(Diagnostic.id))
    findings = select(DiagnosticFinding.id).where(DiagnosticFinding.diagnostic_id.in_(found))
    return (exists().where(names(ReportPhoto), ReportPhoto.report_id.in_(reports))
            | exists().where(names(DiagnosticPhoto), DiagnosticPhoto.finding_id.in_(findings)))
