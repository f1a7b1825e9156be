"""Meeting packs (dossiers de séance): issued by POST (computed, drawn and stored once), then listed
and downloaded by GET as often as needed; each one issued is the reference of the next one's
"since the previous pack" page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from gusp import db, packs, schemas
from gusp.api import auth_deps, deps
from gusp.models.diagnostics import MeetingPack
from gusp.pdf import meeting_pack

router = APIRouter(prefix="/api/v1/packs", tags=["dossiers de séance"])
_ERRORS = {401: {"model": schemas.ErrorBody}, 403: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}}


class PackCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    quartier: list[str] = Field(description="Codes de quartier, ou `ville` (toute la commune), ou `hors_perimetre`.")
    start: date = Field(alias="from", description="Premier jour de la période (heure de Paris).")
    end: date = Field(alias="to", description="Dernier jour de la période, inclus.")


class PackRead(BaseModel):
    id: int
    title: str | None
    quartier_codes: list[str]
    period_start: date
    period_end: date
    generated_at: datetime
    generated_by: str | None
    has_pdf: bool
    url: str | None = Field(description="Le PDF, tel qu'édité (absent pour les dossiers d'avant sa conservation).")


class PackList(BaseModel):
    data: list[PackRead]
    count: int


def _read(pack: MeetingPack, by: str | None, has_pdf: bool) -> PackRead:
    return PackRead(id=pack.id, title=pack.title, quartier_codes=pack.quartier_codes, period_start=pack.period_start,
                    period_end=pack.period_end, generated_at=pack.generated_at, generated_by=by, has_pdf=has_pdf,
                    url=f"/api/v1/packs/{pack.id}.pdf" if has_pdf else None)


@router.post("", status_code=201, response_model=PackRead, responses=_ERRORS, summary="Éditer un dossier de séance",
             dependencies=[Depends(auth_deps.csrf_protected)])
def issue(
    body: PackCreate,
    response: Response,
    session: deps.SessionDep,
    settings: deps.SettingsDep,
    storage: deps.StorageDep,
    user: auth_deps.CurrentUser,
) -> PackRead:
    """Coordinators and admins for any coverage, operational groups for their quartiers; stored, then
    downloaded from `url`."""
    codes = [c for value in body.quartier for c in value.split(",")]
    with db.transaction(session):
        pack = meeting_pack.generate(session=session, settings=settings, storage=storage, user=user,
                                     quartier_codes=codes, start=body.start, end=body.end)
    response.headers["Location"] = f"/api/v1/packs/{pack.record.id}.pdf"
    return _read(pack.record, user.full_name, True)


@router.get("", response_model=PackList, responses=_ERRORS, summary="Dossiers de séance déjà édités")
def issued(session: deps.SessionDep, user: auth_deps.CurrentUser) -> PackList:
    """Newest first; a group sees the packs of its own quartiers."""
    data = [_read(i.pack, i.by, i.has_pdf) for i in packs.issued(session=session, user=user)]
    return PackList(data=data, count=len(data))


@router.get("/{pack_id}.pdf", response_class=Response, summary="Un dossier de séance, tel qu'édité",
            responses={**_ERRORS, 404: {"model": schemas.ErrorBody}, 200: {"content": {"application/pdf": {}}}})
def download(
    pack_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: deps.SessionDep, user: auth_deps.CurrentUser,
) -> Response:
    pack = packs.one(session=session, user=user, pack_id=pack_id)
    pdf = packs.pdf_of(session=session, pack=pack)
    name = f"dossier-de-seance-{'-'.join(pack.quartier_codes)}-{pack.period_start}-{pack.period_end}-{pack.id}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"})
