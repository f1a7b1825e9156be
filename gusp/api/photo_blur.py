"""Staff routes on a report's photos: the unblurred original, and rectangles to blur in public."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gusp import access, bounds, db, errors, photo_blur, schemas_triage
from gusp.api import auth_deps, deps, triage
from gusp.photos import blur

router = APIRouter(prefix="/api/v1/gestion/reports", tags=["gestion"])
Csrf = Depends(auth_deps.csrf_protected)


@router.get("/{reference}/photos/{photo_id}/original", response_class=StreamingResponse,
            summary="Photo non floutée (coordinateurs et administrateurs)",
            responses={200: {"content": {"image/jpeg": {}}}})
def read_original(reference: str, photo_id: bounds.Id, session: deps.SessionDep, storage: deps.StorageDep,
                  user: auth_deps.CurrentUser) -> StreamingResponse:
    if not access.sees_originals(user):
        raise errors.Forbidden("interdit", "Seuls les coordinateurs GUSP voient les photos non floutées.")
    photo = photo_blur.photo_of(triage.visible_report(session, user, reference), photo_id)
    if photo.original_key is None:
        raise errors.NotFound("original_absent", "Cette photo n'a pas d'original non flouté (rien n'y est flouté, "
                                                 "ou il a été supprimé au terme de sa durée de conservation).")
    stream = storage.open(photo.original_key)
    return StreamingResponse(
        stream, media_type="image/jpeg",
        # Never cached on the way nor kept by the browser: the photo is personal, the route is signed-in.
        headers={"Content-Length": str(stream.size), "Cache-Control": "private, no-store",
                 "X-Content-Type-Options": "nosniff"},
        background=BackgroundTask(stream.close),
    )


@router.post("/{reference}/photos/{photo_id}/blur", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Flouter des rectangles d'une photo (plaques, visage manqué)")
def blur_rectangles(reference: str, photo_id: bounds.Id, body: schemas_triage.BlurIn, session: deps.SessionDep,
                    settings: deps.SettingsDep, storage: deps.StorageDep,
                    user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    report = triage.visible_report(session, user, reference)
    access.require_triage(user)
    photo = photo_blur.photo_of(report, photo_id)
    with db.transaction(session):
        photo_blur.add_rectangles(
            session=session, settings=settings, storage=storage, report=report, photo=photo, actor=user,
            rectangles=[blur.Region(r.x, r.y, r.w, r.h) for r in body.rectangles],
        )
    return triage.detail(session, report, user, settings)
