"""Reports: create one from a phone (multipart), read its public view."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Header, Response, UploadFile, status
from geoalchemy2.shape import to_shape

from gusp import db, intake, schemas, states
from gusp.api import deps
from gusp.config import Settings
from gusp.models import Report

router = APIRouter(prefix="/api/v1/reports", tags=["signalements"])

_ERRORS = {
    413: {"model": schemas.ErrorBody, "description": "Photo ou envoi trop volumineux."},
    415: {"model": schemas.ErrorBody, "description": "Type de photo non accepté."},
    422: {"model": schemas.ErrorBody, "description": "Champ invalide, lieu hors territoire, photo illisible."},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ReportPublic,
    responses={400: {"model": schemas.ErrorBody}, **_ERRORS},
    summary="Signaler un problème",
)
def create_report(
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
    response: Response,
    data: Annotated[schemas.ReportCreate, Form()],
    photos: Annotated[list[UploadFile], File(description="De 0 à 5 photos (JPEG, PNG, WebP, HEIC).")] = [],  # noqa: B006
    idempotency_key: Annotated[
        str | None,
        Header(description="Clé unique par signalement : un renvoi avec la même clé ne crée pas de doublon."),
    ] = None,
) -> schemas.ReportPublic:
    """Take a report in; a retry with the same Idempotency-Key returns the report already created."""
    with db.transaction(session):
        report, replayed = intake.create_report(
            session=session,
            settings=settings,
            storage=storage,
            data=data,
            uploads=[p.file for p in photos],
            idempotency_key=idempotency_key,
        )
    response.headers["Location"] = f"/api/v1/reports/{report.reference}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return to_public(report, settings=settings)


@router.get(
    "/{reference}",
    response_model=schemas.ReportPublic,
    responses={404: {"model": schemas.ErrorBody}},
    summary="Suivre un signalement",
)
def read_report(report: deps.ReportDep, settings: deps.SettingsDep) -> schemas.ReportPublic:
    """The public view of a report: never the reporter's contact details."""
    return to_public(report, settings=settings)


def media_url(key: str, *, settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/media/{key}"


def to_public(report: Report, *, settings: Settings) -> schemas.ReportPublic:
    point = to_shape(report.location)
    status_value = states.ReportStatus(report.status)

    def ref(quartier) -> schemas.QuartierRef | None:
        return schemas.QuartierRef(code=quartier.code, nom=quartier.nom) if quartier else None

    return schemas.ReportPublic(
        reference=report.reference,
        status=status_value,
        status_label=states.STATUS_LABELS[status_value],
        category=schemas.CategoryPublic.model_validate(report.category, from_attributes=True),
        description=report.description,
        location=schemas.LocationPublic(lat=point.y, lon=point.x, accuracy_m=report.accuracy_m),
        attribution=schemas.AttributionPublic(
            kind=states.Attribution(report.attribution),
            quartier=ref(report.quartier),
            nearest_quartier=ref(report.nearest_quartier),
            distance_m=None if report.nearest_distance_m is None else round(report.nearest_distance_m, 1),
        ),
        photos=[
            schemas.PhotoPublic(
                url=media_url(p.display_key, settings=settings),
                thumbnail_url=media_url(p.thumbnail_key, settings=settings),
                width=p.width,
                height=p.height,
                thumbnail_width=p.thumbnail_width,
                thumbnail_height=p.thumbnail_height,
            )
            for p in report.photos
        ],
        created_at=report.created_at.astimezone(ZoneInfo(settings.timezone)),
        follow_url=f"{settings.public_url.rstrip('/')}/suivi/{report.reference}",
    )
