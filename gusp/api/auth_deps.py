"""Who is calling: a web session (cookie, plus its CSRF token on writes) or an API token (Bearer).

On a state-changing method, a cookie session without its CSRF token does not count: `CurrentUser`
answers 403 `csrf_invalide` (so a router that forgets `csrf_protected` is still protected) and
`OptionalUser` sees an anonymous caller (the public report form keeps working, but a cross-site
form cannot file a report as the signed-in agent). An `Authorization: Bearer` header is never
sent by a browser on its own: requests carrying one need no CSRF token, and an invalid one is
refused outright rather than falling back to the cookie.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from gusp import accounts, credentials, db, errors, states
from gusp.api import contract, deps
from gusp.config import Settings
from gusp.models import ApiToken, User, UserSession

SESSION_COOKIE = "gusp_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The user and the credential that proved it: exactly one of session / token is set."""

    user: User
    user_session: UserSession | None = None
    api_token: ApiToken | None = None
    csrf_valid: bool = True  # False: a cookie session whose request lacks the session's CSRF token
    write: bool = False  # the request's method changes state


def _csrf_refused() -> errors.Forbidden:
    return errors.Forbidden(
        "csrf_invalide", "Jeton anti-falsification (CSRF) absent ou invalide : rechargez la page et recommencez."
    )


def _csrf_matches(request: Request, user_session: UserSession) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    return hmac.compare_digest(sent.encode(), user_session.csrf_token.encode())


def _not_signed_in(message: str = "Vous devez vous connecter.") -> errors.Unauthenticated:
    return errors.Unauthenticated("non_authentifie", message)


@contract.raises(401)
async def get_principal(request: Request, session: deps.SessionDep, settings: deps.SettingsDep) -> Principal | None:
    """The caller, or None when anonymous; CSRF is judged here, enforced by the aliases below.

    Resolving commits the last-seen touch (at most once a minute) or the deletion of a dead session at once,
    before the route's own work; when it wrote nothing, its transaction stays open for the route. An anonymous
    caller (no Authorization header, no session cookie) is known without the database nor a thread.
    """
    if request.headers.get("authorization") is None and not request.cookies.get(SESSION_COOKIE):
        return None
    return await run_in_threadpool(_resolve_principal, request, session, settings)


def _resolve_principal(request: Request, session: Session, settings: Settings) -> Principal | None:
    write = request.method not in _SAFE_METHODS
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _not_signed_in("En-tête Authorization invalide : attendu « Bearer <jeton d'API> ».")
        with db.transaction_if_written(session):
            found = credentials.resolve_api_token(session=session, value=value.strip())
        if found is None:
            raise _not_signed_in("Jeton d'API invalide ou révoqué.")
        return Principal(user=found[0], api_token=found[1], write=write)

    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with db.transaction_if_written(session):
        found = accounts.resolve_session(session=session, settings=settings, cookie_value=cookie)
    if found is None:
        return None
    user, user_session = found
    return Principal(
        user=user, user_session=user_session, csrf_valid=_csrf_matches(request, user_session), write=write
    )


OptionalPrincipal = Annotated[Principal | None, Depends(get_principal)]


@contract.raises(401, 403)
async def get_current_principal(principal: OptionalPrincipal) -> Principal:
    """The signed-in caller: 401 when anonymous, 403 on a cookie write without its CSRF token."""
    if principal is None:
        raise _not_signed_in()
    if principal.write and not principal.csrf_valid:
        raise _csrf_refused()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


async def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


async def get_optional_user(principal: OptionalPrincipal) -> User | None:
    """The caller if any; a cookie write without its CSRF token counts as anonymous."""
    if principal is None or (principal.write and not principal.csrf_valid):
        return None
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


@contract.raises(403)
async def csrf_protected(principal: OptionalPrincipal) -> None:
    """For `dependencies=[Depends(csrf_protected)]` on every state-changing route: 403 without the token."""
    if principal is not None and not principal.csrf_valid:
        raise _csrf_refused()


def require_roles(*roles: states.Role | str) -> Callable[[User], User]:
    """A dependency letting through signed-in users with one of these roles; 403 otherwise."""
    allowed = frozenset(states.Role(r) for r in roles)
    if not allowed:
        raise ValueError("require_roles needs at least one role")

    @contract.raises(403)
    async def dependency(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise errors.Forbidden("interdit", "Vous n'avez pas le droit de faire cela.")
        return user

    return dependency
