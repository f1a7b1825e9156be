"""The staff side of reports: the triage list, the detail, and every action on a report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp import access, categories, db, deadlines, duplicates, errors, report_search, schemas, schemas_triage, states, triage
from gusp.api import auth_deps, deps, report_filters, views
from gusp.config import Settings
from gusp.models import Partner, Report, User

router = APIRouter(prefix="/api/v1/gestion/reports", tags=["gestion"])
Csrf = Depends(auth_deps.csrf_protected)


def _now(session: Session) -> datetime:
    return session.scalar(text("SELECT now()"))


def visible_report(session: Session, user: User, reference: str) -> Report:
    """The report if this user may see it; otherwise the same 404 as a report that doesn't exist."""
    query = access.visible_reports(user, select(Report).where(Report.reference == reference.strip().upper()))
    report = session.scalars(query).first()
    if report is None:
        raise errors.NotFound("signalement_introuvable", f"Aucun signalement ne porte la référence {reference}.")
    return report


def _partner(session: Session, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise errors.Unprocessable("partenaire_inconnu", "Ce partenaire n'existe pas.", field="partner_id")
    return partner


def detail(session: Session, report: Report, user: User, settings: Settings) -> schemas_triage.ReportStaff:
    return views.to_staff(session, report, user=user, settings=settings, now=_now(session))


@router.get("", response_model=schemas_triage.ReportPage, summary="Liste de tri")
def list_reports(
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    user: auth_deps.CurrentUser,
    filters: report_filters.FiltersDep,
    sort: Annotated[str, Query(description="-created_at, created_at ou due_at")] = "-created_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas_triage.ReportPage:
    now = _now(session)
    rows, next_cursor = report_search.search(
        session=session, user=user, filters=filters, sort=sort, cursor=cursor, limit=limit, now=now,
        tz=ZoneInfo(settings.timezone), due=deadlines.due_expression(settings),
    )
    data = [views.to_summary(r, settings=settings, now=now) for r in rows]
    return schemas_triage.ReportPage(data=data, count=len(data), next_cursor=next_cursor)


@router.get("/{reference}", response_model=schemas_triage.ReportStaff, summary="Détail et historique")
def read_report(
    reference: str, session: deps.SessionDep, settings: deps.SettingsDep, user: auth_deps.CurrentUser
) -> schemas_triage.ReportStaff:
    return detail(session, visible_report(session, user, reference), user, settings)


@router.get("/{reference}/duplicates", response_model=list[schemas_triage.DuplicateOut],
            summary="Doublons probables")
def likely_duplicates(
    reference: str, session: deps.SessionDep, settings: deps.SettingsDep, user: auth_deps.CurrentUser
) -> list[schemas_triage.DuplicateOut]:
    report = visible_report(session, user, reference)
    found = duplicates.likely_duplicates(session=session, settings=settings, report=report)
    visible = [(r, d) for r, d in found if access.can_see(session, user, r)]
    return [_duplicate(r, d, settings, of=report) for r, d in visible]


def _duplicate(report: Report, distance: float, settings: Settings, *, of: Report) -> schemas_triage.DuplicateOut:
    return schemas_triage.DuplicateOut(
        reference=report.reference, status=states.ReportStatus(report.status),
        category=schemas.CategoryPublic.model_validate(report.category, from_attributes=True),
        description=report.description, distance_m=round(distance, 1), created_at=report.created_at,
        later=(report.created_at, report.id) > (of.created_at, of.id),
        photos=views.staff_photos(report, settings=settings),
    )


@router.post("/{reference}/assign", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Affecter à un partenaire")
def assign(reference: str, body: schemas_triage.AssignIn, session: deps.SessionDep, settings: deps.SettingsDep,
           user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    report = visible_report(session, user, reference)
    access.require_triage(user)
    with db.transaction(session):
        triage.assign(session=session, settings=settings, report=report, partner=_partner(session, body.partner_id),
                      actor=user, note=body.note)
    return detail(session, report, user, settings)


@router.post("/{reference}/status", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Changer le statut")
def change_status(reference: str, body: schemas_triage.StatusIn, session: deps.SessionDep,
                  settings: deps.SettingsDep, user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    report = visible_report(session, user, reference)
    access.require_status_change(user, body.status)
    with db.transaction(session):
        triage.change_status(session=session, settings=settings, report=report, to=body.status, actor=user,
                             note=body.note, note_public=body.note_public, reason=body.reason)
    return detail(session, report, user, settings)


@router.post("/{reference}/resolve", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Résoudre, avec une note et une photo « après »")
def resolve(
    reference: str,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
    user: auth_deps.CurrentUser,
    note: Annotated[str | None, Form(max_length=4000, description="Note publique pour le déclarant.")] = None,
    after_photo: Annotated[UploadFile | None, File(description="Photo « après » (facultative).")] = None,
) -> schemas_triage.ReportStaff:
    report = visible_report(session, user, reference)
    access.require_status_change(user, states.ReportStatus.RESOLU)
    with db.transaction(session):
        triage.resolve(session=session, settings=settings, storage=storage, report=report, actor=user,
                       note=note, after_photo=after_photo.file if after_photo else None)
    return detail(session, report, user, settings)


@router.post("/{reference}/priority", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Changer la priorité")
def set_priority(reference: str, body: schemas_triage.PriorityIn, session: deps.SessionDep,
                 settings: deps.SettingsDep, user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    report = visible_report(session, user, reference)
    access.require_triage(user)
    with db.transaction(session):
        triage.set_priority(session=session, settings=settings, report=report, priority=body.priority, actor=user)
    return detail(session, report, user, settings)


@router.post("/{reference}/category", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Changer la catégorie (et re-router)")
def change_category(reference: str, body: schemas_triage.CategoryIn, session: deps.SessionDep,
                    settings: deps.SettingsDep, user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    report = visible_report(session, user, reference)
    access.require_triage(user)
    category = categories.get_active(session=session, code=body.category)
    if category is None:
        raise errors.Unprocessable("categorie_inconnue", "Cette catégorie n'existe pas.", field="category")
    with db.transaction(session):
        triage.change_category(session=session, settings=settings, report=report, category=category, actor=user)
    return detail(session, report, user, settings)


@router.post("/{reference}/comments", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Commenter")
def comment(reference: str, body: schemas_triage.CommentIn, session: deps.SessionDep,
            settings: deps.SettingsDep, user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    report = visible_report(session, user, reference)
    if body.public:
        access.require_triage(user)  # only coordinators speak to the reporter
    with db.transaction(session):
        triage.comment(session=session, settings=settings, report=report, actor=user, note=body.note,
                       public=body.public)
    return detail(session, report, user, settings)


@router.post("/{reference}/merge", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             summary="Fusionner un doublon dans un signalement maître")
def merge(reference: str, body: schemas_triage.MergeIn, session: deps.SessionDep, settings: deps.SettingsDep,
          user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    duplicate = visible_report(session, user, reference)
    access.require_triage(user)
    master = visible_report(session, user, body.master_reference)
    with db.transaction(session):
        triage.merge(session=session, settings=settings, duplicate=duplicate, master=master, actor=user,
                     note=body.note, note_public=body.note_public)
    return detail(session, duplicate, user, settings)


@router.post("/bulk", response_model=schemas_triage.BulkOut, dependencies=[Csrf],
             summary="Action groupée sur une sélection")
def bulk(body: schemas_triage.BulkIn, session: deps.SessionDep, settings: deps.SettingsDep,
         user: auth_deps.CurrentUser) -> schemas_triage.BulkOut:
    """Each report in its own savepoint: a refused one is reported and left as it was."""
    access.require_triage(user)
    if body.action == "assign" and body.partner_id is None:
        raise errors.Unprocessable("champ_manquant", "Choisissez le partenaire.", field="partner_id")
    if body.action == "status" and body.status is None:
        raise errors.Unprocessable("champ_manquant", "Choisissez le statut.", field="status")
    partner = _partner(session, body.partner_id) if body.action == "assign" else None
    results: list[schemas_triage.BulkItem] = []
    with db.transaction(session):
        for reference in dict.fromkeys(body.references):
            try:
                with session.begin_nested():
                    report = visible_report(session, user, reference)
                    if partner is not None:
                        triage.assign(session=session, settings=settings, report=report, partner=partner,
                                      actor=user, note=body.note)
                    else:
                        triage.change_status(session=session, settings=settings, report=report, to=body.status,
                                             actor=user, note=body.note, note_public=body.note_public,
                                             reason=body.reason)
                results.append(schemas_triage.BulkItem(reference=report.reference, ok=True))
            except errors.GuspError as error:
                results.append(schemas_triage.BulkItem(reference=reference, ok=False, code=error.code,
                                                       message=error.message))
    succeeded = sum(r.ok for r in results)
    return schemas_triage.BulkOut(data=results, count=len(results), succeeded=succeeded)
