"""Moderation by coordinators: hide or show a photo, publish a report kept off the public surfaces."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gusp import access, bounds, db, schemas, schemas_triage
from gusp.api import auth_deps, deps, triage
from gusp.public import moderation

router = APIRouter(prefix="/api/v1/gestion/reports", tags=["gestion"])
Csrf = Depends(auth_deps.csrf_protected)
_ERRORS = {404: {"model": schemas.ErrorBody}}


def _set_hidden(reference: str, photo_id: int, hidden: bool, session, settings, user) -> schemas_triage.ReportStaff:
    report = triage.visible_report(session, user, reference)
    access.require_triage(user)
    with db.transaction(session):
        moderation.set_photo_hidden(session=session, report=report, photo_id=photo_id, hidden=hidden, actor=user)
    return triage.detail(session, report, user, settings)


@router.post("/{reference}/photos/{photo_id}/hide", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             responses=_ERRORS, summary="Masquer une photo au public")
def hide_photo(reference: str, photo_id: bounds.Id, session: deps.SessionDep, settings: deps.SettingsDep,
               user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    """Off every public surface at once; its public URL answers 404. Staff still see it."""
    return _set_hidden(reference, photo_id, True, session, settings, user)


@router.post("/{reference}/photos/{photo_id}/show", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             responses=_ERRORS, summary="Montrer de nouveau une photo au public")
def show_photo(reference: str, photo_id: bounds.Id, session: deps.SessionDep, settings: deps.SettingsDep,
               user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    return _set_hidden(reference, photo_id, False, session, settings, user)


@router.post("/{reference}/publish", response_model=schemas_triage.ReportStaff, dependencies=[Csrf],
             responses=_ERRORS, summary="Publier la description et les photos (modération a priori)")
def publish(reference: str, session: deps.SessionDep, settings: deps.SettingsDep,
            user: auth_deps.CurrentUser) -> schemas_triage.ReportStaff:
    """With GUSP_PUBLIC_MODERATION=before, a new report's text and photos wait for this."""
    report = triage.visible_report(session, user, reference)
    access.require_triage(user)
    with db.transaction(session):
        moderation.publish(session=session, report=report, actor=user)
    return triage.detail(session, report, user, settings)
