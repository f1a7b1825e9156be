"""Open311 client applications and their API keys: created, listed, renamed, (de)activated by admins."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from gusp import bounds, db, localtime, schemas, states
from gusp.api import auth_deps, deps
from gusp.open311 import clients

router = APIRouter(
    prefix="/api/v1/open311/clients",
    tags=["open311"],
    dependencies=[Depends(auth_deps.require_roles(states.Role.ADMIN))],
    responses={401: {"model": schemas.ErrorBody}, 403: {"model": schemas.ErrorBody}},
)
Csrf = Depends(auth_deps.csrf_protected)
_NO_STORE = {"Cache-Control": "no-store"}


class ClientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, description="Nom de l'application cliente, unique.")


class ClientPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    active: bool | None = Field(None, description="false : sa clé est refusée (403) à partir de maintenant.")


class ClientRead(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="Début de la clé, pour la reconnaître.")
    active: bool
    created_at: localtime.LocalDatetime
    last_used_at: localtime.LocalDatetime | None
    report_count: int = Field(description="Signalements reçus de cette application.")


class ClientCreated(ClientRead):
    api_key: str = Field(description="La clé d'API : montrée cette fois seulement.")


def _read(usage: clients.ClientUsage) -> ClientRead:
    c = usage.client
    return ClientRead(id=c.id, name=c.name, prefix=c.prefix, active=c.active, created_at=c.created_at,
                      last_used_at=c.last_used_at, report_count=usage.report_count)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated, dependencies=[Csrf],
             responses={409: {"model": schemas.ErrorBody}, 422: {"model": schemas.ErrorBody}},
             summary="Créer une application cliente Open311 et sa clé")
def create_client(data: ClientIn, session: deps.SessionDep, response: Response) -> ClientCreated:
    with db.transaction(session):
        key, client = clients.create_client(session=session, name=data.name)
    response.headers.update(_NO_STORE)
    return ClientCreated(**_read(clients.ClientUsage(client, 0)).model_dump(), api_key=key)


@router.get("", response_model=schemas.ListOf[ClientRead], summary="Applications clientes Open311")
def list_clients(session: deps.SessionDep) -> schemas.ListOf[ClientRead]:
    rows = [_read(u) for u in clients.list_clients(session=session)]
    return schemas.ListOf[ClientRead](data=rows, count=len(rows))


@router.patch("/{client_id}", response_model=ClientRead, dependencies=[Csrf],
              responses={404: {"model": schemas.ErrorBody}, 409: {"model": schemas.ErrorBody}},
              summary="Renommer, désactiver ou réactiver une application cliente")
def update_client(client_id: bounds.Id, data: ClientPatch, session: deps.SessionDep) -> ClientRead:
    with db.transaction(session):
        client = clients.update_client(session=session, client_id=client_id, name=data.name, active=data.active)
        count = clients.report_count(session=session, client=client)
    return _read(clients.ClientUsage(client, count))
