"""Staff accounts for admins: list, create (with an invitation mail), change, deactivate, reset link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gusp import account_admin, accounts, bounds, db, errors, localtime, schemas, states
from gusp.api import auth_deps, deps
from gusp.models import Partner, User

router = APIRouter(
    prefix="/api/v1/admin/users", tags=["comptes"],
    dependencies=[Depends(auth_deps.require_roles(states.Role.ADMIN))],
)
_CSRF = Depends(auth_deps.csrf_protected)
_ERROR = {"model": schemas.ErrorBody}


class QuartierOfUser(BaseModel):
    id: int
    code: str
    nom: str


class UserAdminRead(BaseModel):
    id: int
    email: str
    full_name: str
    role: states.Role
    active: bool
    partner_id: int | None
    partner_name: str | None
    quartiers: list[QuartierOfUser]
    created_at: localtime.LocalDatetime
    last_login_at: localtime.LocalDatetime | None


class UserAdminList(BaseModel):
    data: list[UserAdminRead]
    count: int


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    full_name: str = Field(max_length=200)
    role: states.Role
    partner_id: bounds.Id | None = None
    quartiers: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=100, description="Codes des quartiers suivis (rôle groupe).")
    password: str | None = Field(None, max_length=4 * accounts.PASSWORD_MAX,
                                 description="Vide : un lien pour choisir son mot de passe est envoyé par e-mail.")


class UserPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: str | None = Field(None, max_length=200)
    role: states.Role | None = None
    partner_id: bounds.Id | None = Field(None, description="Partenaire (rôle partenaire) ; null pour aucun.")
    quartiers: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=100)
    active: bool | None = None


class Accepted(BaseModel):
    message: str


def _read(session: Session, user: User) -> UserAdminRead:
    partner = session.get(Partner, user.partner_id) if user.partner_id else None
    return UserAdminRead(
        id=user.id, email=user.email, full_name=user.full_name, role=states.Role(user.role), active=user.active,
        partner_id=user.partner_id, partner_name=partner.name if partner else None,
        quartiers=[QuartierOfUser(id=q.id, code=q.code, nom=q.nom)
                   for q in account_admin.quartiers_of(session=session, user=user)],
        created_at=user.created_at, last_login_at=user.last_login_at,
    )


@router.get("", response_model=UserAdminList, summary="Comptes du personnel")
def list_users(session: deps.SessionDep, active: Annotated[bool | None, Query()] = None) -> UserAdminList:
    data = [_read(session, u) for u in account_admin.list_users(session=session, active=active)]
    return UserAdminList(data=data, count=len(data))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserAdminRead, dependencies=[_CSRF],
             responses={409: _ERROR, 422: _ERROR}, summary="Créer un compte")
def create_user(body: UserCreateIn, session: deps.SessionDep, settings: deps.SettingsDep) -> UserAdminRead:
    with db.transaction(session):
        user = account_admin.create_user(
            session=session, settings=settings, email=body.email, full_name=body.full_name, role=body.role,
            partner_id=body.partner_id, quartier_codes=body.quartiers, password=body.password,
        )
    return _read(session, user)


@router.get("/{user_id}", response_model=UserAdminRead, responses={404: _ERROR}, summary="Un compte")
def read_user(user_id: bounds.Id, session: deps.SessionDep) -> UserAdminRead:
    return _read(session, account_admin.get_user(session=session, user_id=user_id))


@router.patch("/{user_id}", response_model=UserAdminRead, dependencies=[_CSRF],
              responses={404: _ERROR, 409: _ERROR, 422: _ERROR},
              summary="Modifier un compte (nom, rôle, partenaire, quartiers, actif)")
def update_user(user_id: bounds.Id, body: UserPatchIn, session: deps.SessionDep,
                admin: auth_deps.CurrentUser) -> UserAdminRead:
    given = body.model_fields_set
    with db.transaction(session):
        user = account_admin.get_user(session=session, user_id=user_id)
        account_admin.update_user(
            session=session, user=user, actor=admin, full_name=body.full_name,
            role=body.role, active=body.active, quartier_codes=body.quartiers,
            partner_id=body.partner_id if "partner_id" in given else account_admin.UNCHANGED,
        )
    return _read(session, user)


@router.post("/{user_id}/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             dependencies=[_CSRF], responses={404: _ERROR, 409: _ERROR},
             summary="Envoyer au compte un lien pour choisir un nouveau mot de passe")
def send_reset(user_id: bounds.Id, session: deps.SessionDep, settings: deps.SettingsDep) -> Accepted:
    with db.transaction(session):
        user = account_admin.get_user(session=session, user_id=user_id)
        if not user.active:
            raise errors.Conflict("compte_inactif", "Ce compte est désactivé : réactivez-le d'abord.")
        sent = account_admin.send_reset(session=session, settings=settings, user=user)
    if not sent:
        return Accepted(message="Trop de liens demandés récemment pour ce compte : le dernier envoyé reste valable.")
    return Accepted(message=f"Un lien de réinitialisation part vers {user.email}.")
