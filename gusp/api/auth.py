"""Staff sign-in: login/logout with a session cookie, who am I, password reset, API tokens."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from gusp import accounts, bounds, credentials, db, errors, known_clients, localtime, schemas, throttle
from gusp.api import auth_deps, contract, deps
from gusp.models import ApiToken, User

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/auth", tags=["authentification"])

_NO_STORE = {"Cache-Control": "no-store"}
_CSRF = Depends(auth_deps.csrf_protected)
_ERROR = {"model": schemas.ErrorBody}


@contract.raises(415)
def json_only(request: Request) -> None:
    """Writes here take JSON only: a cross-site HTML form cannot send it without a CORS preflight."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise errors.UnsupportedMediaType(
            "json_requis", "Envoyez les données en JSON (Content-Type: application/json)."
        )


_JSON = Depends(json_only)


class LoginIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=4 * accounts.PASSWORD_MAX)


class UserRead(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    partner_id: int | None
    quartier_ids: list[int]
    last_login_at: localtime.LocalDatetime | None


class Me(BaseModel):
    user: UserRead
    csrf_token: str | None = Field(description="À renvoyer dans l'en-tête X-CSRF-Token ; absent avec un jeton d'API.")


class ResetRequestIn(BaseModel):
    email: str = Field(max_length=320)


class ResetConfirmIn(BaseModel):
    token: str = Field(max_length=200)
    password: str = Field(max_length=4 * accounts.PASSWORD_MAX)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=4 * accounts.PASSWORD_MAX)
    new_password: str = Field(max_length=4 * accounts.PASSWORD_MAX)


class Message(BaseModel):
    message: str


class TokenCreateIn(BaseModel):
    name: str = Field(max_length=200, description="À quoi sert ce jeton (par exemple « Import SIG »).")
    days: int | None = Field(None, ge=1, le=3650, description="Durée de validité en jours ; vide : GUSP_API_TOKEN_DAYS.")


class TokenRead(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="Début du jeton, pour le reconnaître.")
    created_at: localtime.LocalDatetime
    last_used_at: localtime.LocalDatetime | None
    expires_at: localtime.LocalDatetime
    revoked_at: localtime.LocalDatetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="Valeur du jeton : affichée cette fois seulement.")


class TokenList(BaseModel):
    data: list[TokenRead]
    count: int


def _user_read(user: User, *, session: Session) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        partner_id=user.partner_id,
        quartier_ids=accounts.quartier_ids(session=session, user=user),
        last_login_at=user.last_login_at,
    )


def _token_read(row: ApiToken) -> TokenRead:
    return TokenRead(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _cookie_options(request: Request) -> dict[str, object]:
    return {"path": "/", "httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


@router.post(
    "/login",
    response_model=Me,
    dependencies=[_JSON],
    responses={401: _ERROR, 415: _ERROR, 429: _ERROR},
    summary="Se connecter",
)
def login(
    data: LoginIn, request: Request, response: Response, session: deps.SessionDep, settings: deps.SettingsDep
) -> Me:
    """Open a session: a fresh id at each sign-in, in an HttpOnly SameSite=Lax cookie."""
    failure: errors.Unauthenticated | None = None
    with db.transaction(session):
        try:
            user = accounts.authenticate(
                session=session,
                settings=settings,
                email=data.email,
                password=data.password,
                ip=request.client.host if request.client else None,
                device=request.cookies.get(known_clients.DEVICE_COOKIE),
            )
        except errors.Unauthenticated as error:
            failure = error  # the failed attempt is committed all the same: throttling counts it
        else:
            previous = request.cookies.get(auth_deps.SESSION_COOKIE)
            if previous:
                accounts.close_session(session=session, cookie_value=previous)
            value, user_session = accounts.open_session(session=session, settings=settings, user=user)
            device = known_clients.remember(session=session, user=user, ip=request.client.host if request.client
                                            else None, device=request.cookies.get(known_clients.DEVICE_COOKIE),
                                            now=user.last_login_at)
            me = Me(user=_user_read(user, session=session), csrf_token=user_session.csrf_token)
    if failure is not None:
        raise failure
    response.set_cookie(auth_deps.SESSION_COOKIE, value, **_cookie_options(request))
    response.set_cookie(known_clients.DEVICE_COOKIE, device, max_age=int(known_clients.DEVICE_MAX_AGE.total_seconds()),
                        **_cookie_options(request))
    response.headers.update(_NO_STORE)
    return me


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[_CSRF],
    responses={403: _ERROR},
    summary="Se déconnecter",
)
def logout(request: Request, session: deps.SessionDep, principal: auth_deps.OptionalPrincipal) -> Response:
    """Close the cookie's session (CSRF token required) and clear the cookie; signed out already: 204 too."""
    if principal is not None and principal.user_session is not None:
        with db.transaction(session):
            accounts.close_session(session=session, cookie_value=request.cookies[auth_deps.SESSION_COOKIE])
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(auth_deps.SESSION_COOKIE, **_cookie_options(request))
    return response


@router.get("/me", response_model=Me, responses={401: _ERROR}, summary="Qui suis-je ?")
def me(principal: auth_deps.CurrentPrincipal, session: deps.SessionDep, response: Response) -> Me:
    response.headers.update(_NO_STORE)
    csrf = principal.user_session.csrf_token if principal.user_session is not None else None
    return Me(user=_user_read(principal.user, session=session), csrf_token=csrf)


class SessionState(BaseModel):
    authenticated: bool
    user: UserRead | None = None
    csrf_token: str | None = None


@router.get("/session", response_model=SessionState, summary="Suis-je connecté ? (200 dans les deux cas)")
def session_state(principal: auth_deps.OptionalPrincipal, session: deps.SessionDep, response: Response) -> SessionState:
    """For pages that only ask: `{authenticated: false}` instead of a 401 that browsers log as an error."""
    response.headers.update(_NO_STORE)
    if principal is None:
        return SessionState(authenticated=False)
    csrf = principal.user_session.csrf_token if principal.user_session is not None else None
    return SessionState(authenticated=True, user=_user_read(principal.user, session=session), csrf_token=csrf)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    dependencies=[_JSON],
    responses={415: _ERROR, 429: _ERROR},
    summary="Demander un lien de réinitialisation du mot de passe",
)
def request_password_reset(
    data: ResetRequestIn, request: Request, session: deps.SessionDep, settings: deps.SettingsDep
) -> Message:
    """Always 202 with the same body: the answer must not tell whether an account exists.

    Only the per-address limit answers 429 (it says nothing of the account); the per-recipient one
    drops the mail silently."""
    with db.transaction(session):
        throttle.mail_request(session=session, settings=settings, client=request.client.host if request.client else None)
    try:
        with db.transaction(session):
            reset = credentials.request_password_reset(session=session, settings=settings, email=data.email)
            if reset is not None:
                # Imported here: the rest of sign-in does not depend on mail.
                from gusp import notify

                notify.password_reset(
                    session=session,
                    settings=settings,
                    user=accounts.user_by_email(session=session, email=data.email),
                    reset=reset,
                )
    except Exception:
        # A 500 for known addresses only would reveal them: log it, answer as usual.
        log.exception("password reset mail could not be queued")
    return Message(
        message=(
            "Si un compte actif correspond à cette adresse, un lien de réinitialisation vient de lui être envoyé ; "
            f"il est valable {settings.password_reset_minutes} minutes."
        )
    )


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[_JSON],
    responses={400: _ERROR, 415: _ERROR, 422: _ERROR},
    summary="Choisir un nouveau mot de passe",
)
def confirm_password_reset(data: ResetConfirmIn, session: deps.SessionDep, settings: deps.SettingsDep) -> Response:
    """Single-use link; every session of the account is closed."""
    with db.transaction(session):
        credentials.reset_password(session=session, settings=settings, token=data.token, new_password=data.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[_CSRF, _JSON],
    responses={401: _ERROR, 403: _ERROR, 415: _ERROR, 422: _ERROR},
    summary="Changer son mot de passe",
)
def change_password(data: PasswordChangeIn, principal: auth_deps.CurrentPrincipal, session: deps.SessionDep) -> Response:
    """From a password session only, with the current password; the other sessions of the account end."""
    if principal.user_session is None:
        raise errors.Forbidden("session_requise", "Le mot de passe se change depuis une session ouverte avec mot de passe.")
    from gusp import account_admin  # imported here: sign-in itself does not depend on account management

    with db.transaction(session):
        account_admin.change_own_password(session=session, user=principal.user, current=data.current_password,
                                          new=data.new_password, keep=principal.user_session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    dependencies=[_CSRF, _JSON],
    responses={401: _ERROR, 403: _ERROR, 415: _ERROR},
    summary="Créer un jeton d'API personnel",
)
def create_token(
    data: TokenCreateIn, principal: auth_deps.CurrentPrincipal, session: deps.SessionDep, response: Response,
    settings: deps.SettingsDep,
) -> TokenCreated:
    """Only from a password session: a stolen token must not be able to mint itself successors."""
    if principal.user_session is None:
        raise errors.Forbidden(
            "session_requise", "Un jeton d'API se crée depuis une session ouverte avec mot de passe."
        )
    with db.transaction(session):
        value, row = credentials.create_api_token(session=session, user=principal.user, name=data.name,
                                                  days=data.days or settings.api_token_days)
    response.headers.update(_NO_STORE)
    return TokenCreated(**_token_read(row).model_dump(), token=value)


@router.get("/tokens", response_model=TokenList, responses={401: _ERROR}, summary="Mes jetons d'API")
def list_tokens(user: auth_deps.CurrentUser, session: deps.SessionDep) -> TokenList:
    rows = credentials.list_api_tokens(session=session, user=user)
    return TokenList(data=[_token_read(r) for r in rows], count=len(rows))


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[_CSRF],
    responses={401: _ERROR, 403: _ERROR, 404: _ERROR},
    summary="Révoquer un jeton d'API",
)
def revoke_token(token_id: bounds.Id, user: auth_deps.CurrentUser, session: deps.SessionDep) -> Response:
    with db.transaction(session):
        credentials.revoke_api_token(session=session, user=user, token_id=token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
