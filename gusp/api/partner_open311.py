"""A partner's Open311 link (GUSP as the client of the partner's server): admins only, the key is a secret."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from gusp import db, localtime, schemas, states
from gusp.api import auth_deps, deps
from gusp.open311.outbound import links

router = APIRouter(
    prefix="/api/v1/partners/{partner_id}/open311",
    tags=["partenaires et routage"],
    dependencies=[Depends(auth_deps.require_roles(states.Role.ADMIN))],
    responses={401: {"model": schemas.ErrorBody}, 403: {"model": schemas.ErrorBody},
               404: {"model": schemas.ErrorBody}},
)
Csrf = Depends(auth_deps.csrf_protected)
_NO_STORE = {"Cache-Control": "no-store"}


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoint: str = Field(max_length=300, description="Adresse de base, par exemple https://partenaire.example/open311/v2.")
    api_key: str | None = Field(None, max_length=200,
                                description="Clé d'API chez le partenaire ; absente : la clé enregistrée est gardée.")
    jurisdiction_id: str | None = Field(None, max_length=200)
    service_codes: dict[str, str] = Field(default_factory=dict,
                                          description="Catégorie GUSP → service_code du partenaire (sinon le même code).")
    photos: str = Field("upload", description="upload (fichiers photo1…), media_url (liens publics) ou none.")
    active: bool = True
    poll_updates: bool = Field(True, description="Relever les mises à jour du partenaire (servicerequestupdates).")


class FailureOut(BaseModel):
    message_id: int
    reference: str | None
    attempts: int
    error: str | None
    at: localtime.LocalDatetime


class LinkOut(BaseModel):
    partner_id: int
    endpoint: str
    api_key: str = Field(description="Début de la clé seulement.")
    jurisdiction_id: str | None
    service_codes: dict[str, str]
    photos: str
    active: bool
    poll_updates: bool
    polled_until: localtime.LocalDatetime | None
    last_poll_at: localtime.LocalDatetime | None
    last_poll_error: str | None
    sent: int = Field(description="Signalements transmis.")
    pending: int = Field(description="En attente d'envoi (ou de nouvel essai).")
    failures: list[FailureOut] = Field(description="Envois en échec, les plus récents d'abord.")


class Retried(BaseModel):
    retried: int


def _out(state: links.LinkState) -> LinkOut:
    link = state.link
    return LinkOut(
        partner_id=link.partner_id, endpoint=link.endpoint, api_key=links.shown_key(link),
        jurisdiction_id=link.jurisdiction_id, service_codes=link.service_codes, photos=link.photos,
        active=link.active, poll_updates=link.poll_updates, polled_until=link.polled_until,
        last_poll_at=link.last_poll_at, last_poll_error=link.last_poll_error, sent=state.sent, pending=state.pending,
        failures=[FailureOut(**f.__dict__) for f in state.failures],
    )


@router.get("", response_model=LinkOut, summary="Liaison Open311 d'un partenaire et ses envois")
def read_link(partner_id: int, session: deps.SessionDep, response: Response) -> LinkOut:
    response.headers.update(_NO_STORE)
    return _out(links.state(session=session, partner_id=partner_id))


@router.put("", response_model=LinkOut, dependencies=[Csrf], summary="Créer ou remplacer la liaison Open311",
            responses={422: {"model": schemas.ErrorBody}})
def write_link(partner_id: int, body: LinkIn, session: deps.SessionDep, settings: deps.SettingsDep,
               response: Response) -> LinkOut:
    with db.transaction(session):
        links.set_link(session=session, settings=settings, partner_id=partner_id, **body.model_dump())
    response.headers.update(_NO_STORE)
    return _out(links.state(session=session, partner_id=partner_id))


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Csrf],
               summary="Supprimer la liaison (retour aux e-mails seuls)")
def delete_link(partner_id: int, session: deps.SessionDep) -> Response:
    with db.transaction(session):
        links.delete_link(session=session, partner_id=partner_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/retry", response_model=Retried, dependencies=[Csrf], summary="Renvoyer les envois en échec")
def retry(partner_id: int, session: deps.SessionDep) -> Retried:
    with db.transaction(session):
        count = links.retry_failed(session=session, partner_id=partner_id)
    return Retried(retried=count)
