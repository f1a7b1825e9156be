"""Reports: create one from a phone (multipart), read its public view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile, status
from pydantic import TypeAdapter

from gusp import db, duplicates, intake, intake_lean, schemas, throttle
from gusp.api import auth_deps, deps
from gusp.public import views as public_views

router = APIRouter(prefix="/api/v1/reports", tags=["signalements"])
_REPORT_JSON = TypeAdapter(schemas.ReportPublic)  # what FastAPI does with `response_model`, minus the revalidation

_ERRORS = {
    413: {"model": schemas.ErrorBody, "description": "Photo ou envoi trop volumineux."},
    415: {"model": schemas.ErrorBody, "description": "Type de photo non accepté."},
    422: {"model": schemas.ErrorBody, "description": "Champ invalide, lieu hors territoire, photo illisible."},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ReportPublic,
    responses={400: {"model": schemas.ErrorBody}, **_ERRORS, 429: {"model": schemas.ErrorBody}},
    summary="Signaler un problème",
)
def create_report(
    request: Request,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
    response: Response,
    author: auth_deps.OptionalUser,
    data: Annotated[schemas.ReportCreate, Form()],
    photos: Annotated[list[UploadFile], File(description="De 0 à 5 photos (JPEG, PNG, WebP, HEIC).")] = [],  # noqa: B006
    idempotency_key: Annotated[
        str | None,
        Header(description="Clé unique par signalement : un renvoi avec la même clé ne crée pas de doublon."),
    ] = None,
) -> schemas.ReportPublic:
    """Take a report in; a retry with the same Idempotency-Key returns the report already created."""
    client = request.client.host if request.client else None
    uploads = [p.file for p in photos]
    if intake_lean.can_take(data=data, uploads=uploads):  # no photo: one statement, no reloading
        with db.transaction(session):  # the throttle's peek and count are in take_in's statement
            taken = intake_lean.take_in(
                session=session, settings=settings, data=data, author=author, idempotency_key=idempotency_key,
                client=client, public_view=lambda report: public_views.to_public(session, report, settings=settings),
            )
        headers = {"Location": f"/api/v1/reports/{taken.public.reference}"}
        if taken.replayed:
            headers["Idempotent-Replayed"] = "true"
        # The answer is the model already built: serialised once, not validated again against it.
        return Response(_REPORT_JSON.dump_json(taken.public, by_alias=True), status_code=status.HTTP_201_CREATED,
                        media_type="application/json", headers=headers)
    with db.transaction(session):
        if author is None:
            throttle.before_anonymous_intake(session=session, settings=settings, client=client)
        report, replayed = intake.create_report(
            session=session,
            settings=settings,
            storage=storage,
            data=data,
            uploads=uploads,
            idempotency_key=idempotency_key,
            author=author,
        )
        if author is None and not replayed:
            throttle.anonymous_intake(session=session, settings=settings, client=client)
    response.headers["Location"] = f"/api/v1/reports/{report.reference}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return public_views.to_public(session, report, settings=settings)


@router.get(
    "/nearby",
    response_model=schemas.ListOf[schemas.NearbyReport],
    responses={422: {"model": schemas.ErrorBody}},
    summary="Signalements proches de la même catégorie",
)
def nearby(
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    category: Annotated[str, Query(max_length=64)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> schemas.ListOf[schemas.NearbyReport]:
    """Before sending: open reports of this category within its radius, so one can follow one instead."""
    found = duplicates.likely_duplicates_at(session=session, settings=settings, category_code=category, lat=lat,
                                            lon=lon)
    data = public_views.nearby(found, settings=settings)
    return schemas.ListOf[schemas.NearbyReport](data=data, count=len(data))


@router.get(
    "/{reference}",
    response_model=schemas.ReportPublic,
    responses={404: {"model": schemas.ErrorBody}},
    summary="Suivre un signalement",
)
def read_report(session: deps.SessionDep, report: deps.ReportDep, settings: deps.SettingsDep) -> schemas.ReportPublic:
    """The public view of a report: never the reporter's contact details."""
    return public_views.to_public(session, report, settings=settings)
