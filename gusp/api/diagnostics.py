"""Walking diagnostics: create a walk, capture numbered findings from a phone, follow them, print the restitution."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from gusp import bounds, db, diagnostics, schemas, states
from gusp import schemas_diagnostics as sd
from gusp.api import auth_deps, deps, views
from gusp.config import Settings
from gusp.models import User
from gusp.models.diagnostics import (
    FINDING_LABELS,
    Diagnostic,
    DiagnosticFinding,
    FindingKind,
)
from gusp.pdf import restitution

router = APIRouter(prefix="/api/v1/diagnostics", tags=["diagnostics en marchant"])
Csrf = Depends(auth_deps.csrf_protected)
Organisers = Depends(auth_deps.require_roles(states.Role.COORDINATEUR, states.Role.ADMIN))
FieldStaff = Depends(auth_deps.require_roles(states.Role.AGENT, states.Role.COORDINATEUR, states.Role.ADMIN))
_ERRORS = {403: {"model": schemas.ErrorBody}, 404: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=sd.DiagnosticDetail,
             dependencies=[Csrf, Organisers], responses=_ERRORS, summary="Créer un diagnostic en marchant")
def create(body: sd.DiagnosticCreate, session: deps.SessionDep, settings: deps.SettingsDep,
           user: auth_deps.CurrentUser, response: Response) -> sd.DiagnosticDetail:
    with db.transaction(session):
        diagnostic = diagnostics.create_diagnostic(session=session, data=body, author=user)
    response.headers["Location"] = f"/api/v1/diagnostics/{diagnostic.id}"
    return _detail(session, diagnostic, settings)


@router.get("", response_model=schemas.ListOf[sd.DiagnosticRead], summary="Diagnostics en marchant")
def list_all(session: deps.SessionDep, user: auth_deps.CurrentUser,
             quartier: Annotated[str | None, Query(max_length=64, description="Code de quartier.")] = None,
             ) -> schemas.ListOf[sd.DiagnosticRead]:
    found = diagnostics.list_diagnostics(session=session, user=user, quartier=quartier)
    data = [_read(session, d) for d in found]
    return schemas.ListOf[sd.DiagnosticRead](data=data, count=len(data))


@router.get("/{diagnostic_id}", response_model=sd.DiagnosticDetail, responses=_ERRORS,
            summary="Un diagnostic, ses constats et leur suivi")
def read(diagnostic_id: bounds.Id, session: deps.SessionDep, settings: deps.SettingsDep,
         user: auth_deps.CurrentUser) -> sd.DiagnosticDetail:
    return _detail(session, _get(session, user, diagnostic_id), settings)


@router.put("/{diagnostic_id}/route", response_model=sd.DiagnosticDetail, dependencies=[Csrf, FieldStaff],
            responses=_ERRORS, summary="Parcours dessiné ou enregistré")
def put_route(diagnostic_id: bounds.Id, body: sd.RouteIn, session: deps.SessionDep, settings: deps.SettingsDep,
              user: auth_deps.CurrentUser) -> sd.DiagnosticDetail:
    diagnostic = _get(session, user, diagnostic_id)
    with db.transaction(session):
        diagnostics.set_route(session=session, diagnostic=diagnostic, route=body.route)
    return _detail(session, diagnostic, settings)


@router.post("/{diagnostic_id}/close", response_model=sd.DiagnosticDetail, dependencies=[Csrf, Organisers],
             responses=_ERRORS, summary="Clore la marche")
def close(diagnostic_id: bounds.Id, session: deps.SessionDep, settings: deps.SettingsDep,
          user: auth_deps.CurrentUser) -> sd.DiagnosticDetail:
    diagnostic = _get(session, user, diagnostic_id)
    with db.transaction(session):
        diagnostics.close(session=session, diagnostic=diagnostic)
    return _detail(session, diagnostic, settings)


@router.post("/{diagnostic_id}/findings", status_code=status.HTTP_201_CREATED, response_model=sd.FindingRead,
             dependencies=[Csrf, FieldStaff],
             responses={409: {"model": schemas.ErrorBody}, 413: {"model": schemas.ErrorBody},
                        415: {"model": schemas.ErrorBody}, **_ERRORS},
             summary="Ajouter un constat (problème ou point positif)")
def add_finding(
    diagnostic_id: bounds.Id,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
    user: auth_deps.CurrentUser,
    data: Annotated[sd.FindingCreate, Form()],
    photos: Annotated[list[UploadFile], File(description="De 0 à 5 photos (JPEG, PNG, WebP, HEIC).")] = [],  # noqa: B006
) -> sd.FindingRead:
    """A problem becomes a report (source `agent`) in the normal workflow; a positive point is kept with its photos."""
    diagnostic = _get(session, user, diagnostic_id)
    with db.transaction(session):
        finding = diagnostics.add_finding(session=session, settings=settings, storage=storage, diagnostic=diagnostic,
                                          data=data, uploads=[p.file for p in photos], author=user)
    return _finding(finding, settings)


@router.get("/{diagnostic_id}/restitution.pdf", response_class=Response, responses=_ERRORS,
            summary="Restitution en PDF")
def restitution_pdf(diagnostic_id: bounds.Id, session: deps.SessionDep, settings: deps.SettingsDep,
                    storage: deps.StorageDep, user: auth_deps.CurrentUser) -> Response:
    diagnostic = _get(session, user, diagnostic_id)
    pdf = restitution.render(session=session, settings=settings, storage=storage, diagnostic=diagnostic)
    name = f"restitution-diagnostic-{diagnostic.id}-{diagnostic.held_on.isoformat()}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


def _get(session: Session, user: User, diagnostic_id: bounds.Id) -> Diagnostic:
    return diagnostics.get_visible(session=session, user=user, diagnostic_id=diagnostic_id)


def _read(session: Session, diagnostic: Diagnostic) -> sd.DiagnosticRead:
    progress = diagnostics.progress(session=session, diagnostic=diagnostic)
    return sd.DiagnosticRead(
        id=diagnostic.id,
        quartier=schemas.QuartierRef(code=diagnostic.quartier.code, nom=diagnostic.quartier.nom),
        date=diagnostic.held_on, title=diagnostic.title, participants=diagnostic.participants,
        partners=[sd.PartnerRef(id=p.id, name=p.name) for p in diagnostic.partners],
        route=mapping(to_shape(diagnostic.route)) if diagnostic.route is not None else None,
        created_at=diagnostic.created_at, closed_at=diagnostic.closed_at,
        progress=sd.Progress(problems=progress.problems, open=progress.open, resolved=progress.resolved,
                             closed=progress.closed, rejected=progress.rejected, treated=progress.treated,
                             positive_points=progress.positive_points),
    )


def _detail(session: Session, diagnostic: Diagnostic, settings: Settings) -> sd.DiagnosticDetail:
    found = diagnostics.findings(session=session, diagnostic=diagnostic)
    return sd.DiagnosticDetail(**_read(session, diagnostic).model_dump(),
                               findings=[_finding(f, settings) for f in found])


def _finding(finding: DiagnosticFinding, settings: Settings) -> sd.FindingRead:
    kind = FindingKind(finding.kind)
    report = finding.report
    if report is not None:
        point = to_shape(report.location)
        report_status = states.ReportStatus(report.status)
        partner = report.partner
        return sd.FindingRead(
            number=finding.number, kind=kind, kind_label=FINDING_LABELS[kind], description=report.description,
            lat=point.y, lon=point.x,
            category=schemas.CategoryPublic.model_validate(report.category, from_attributes=True),
            report_reference=report.reference, status=report_status,
            status_label=states.STATUS_LABELS[report_status],
            partner=sd.PartnerRef(id=partner.id, name=partner.name) if partner else None,
            photos=views.staff_photos(report, settings=settings), created_at=finding.created_at,
        )
    point = to_shape(finding.location)
    return sd.FindingRead(
        number=finding.number, kind=kind, kind_label=FINDING_LABELS[kind], description=finding.description or "",
        lat=point.y, lon=point.x, created_at=finding.created_at,
        photos=[schemas.PhotoPublic(
            url=views.staff_media_url(p.display_key, settings=settings),
            thumbnail_url=views.staff_media_url(p.thumbnail_key, settings=settings),
            width=p.width, height=p.height, thumbnail_width=p.thumbnail_width, thumbnail_height=p.thumbnail_height,
        ) for p in finding.photos],
    )
