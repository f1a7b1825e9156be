"""Meeting packs (dossiers de séance) as PDF: each one issued is recorded, to compare the next with it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from gusp import db, schemas
from gusp.api import auth_deps, deps
from gusp.pdf import meeting_pack

router = APIRouter(prefix="/api/v1/packs", tags=["dossiers de séance"])


@router.get(
    "/dossier.pdf",
    response_class=Response,
    responses={403: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}},
    summary="Dossier de séance en PDF",
)
def dossier(
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
    user: auth_deps.CurrentUser,
    quartier: Annotated[list[str], Query(description="Codes de quartier (un ou plusieurs).")],
    start: Annotated[date, Query(alias="from", description="Premier jour de la période.")],
    end: Annotated[date, Query(alias="to", description="Dernier jour de la période.")],
) -> Response:
    """Coordinators and admins for any quartier, operational groups for theirs; the pack is recorded."""
    codes = [c for value in quartier for c in value.split(",")]
    with db.transaction(session):
        pack = meeting_pack.generate(session=session, settings=settings, storage=storage, user=user,
                                     quartier_codes=codes, start=start, end=end)
    name = f"dossier-de-seance-{'-'.join(pack.record.quartier_codes)}-{start.isoformat()}-{end.isoformat()}.pdf"
    return Response(pack.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store",
                             "X-Pack-Id": str(pack.record.id)})
