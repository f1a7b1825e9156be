"""Secrets that stand for a user outside a web session: personal API tokens and password reset links.

Each is random, shown once and stored as a SHA-256 hash only (see `gusp.accounts`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gusp import accounts, db, errors
from gusp.config import Settings
from gusp.models import ApiToken, LoginFailure, PasswordReset, User


# --- API tokens --------------------------------------------------------------------------------


DEFAULT_TOKEN_DAYS = 365


def create_api_token(*, session: Session, user: User, name: str, days: int = DEFAULT_TOKEN_DAYS) -> tuple[str, ApiToken]:
    """A personal token for a machine client, valid `days`; its value is returned here and never again."""
    label = " ".join(name.split())
    if not label or len(label) > 200:
        raise errors.Unprocessable("nom_invalide", "Donnez au jeton un nom de 1 à 200 caractères.", field="name")
    if not 1 <= days <= 3650:
        raise errors.Unprocessable("duree_invalide", "Un jeton vaut de 1 à 3650 jours.", field="days")
    now = accounts._now()
    value = accounts.TOKEN_PREFIX + "".join(secrets.choice(accounts._TOKEN_ALPHABET) for _ in range(accounts.TOKEN_RANDOM_CHARS))
    row = ApiToken(
        user_id=user.id, name=label, token_hash=accounts._digest(value), prefix=value[:accounts.TOKEN_SHOWN_CHARS],
        created_at=now, expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return value, row


def resolve_api_token(*, session: Session, value: str) -> tuple[User, ApiToken] | None:
    """The active user behind a token that is neither revoked, expired nor malformed."""
    if not value.startswith(accounts.TOKEN_PREFIX) or len(value) != len(accounts.TOKEN_PREFIX) + accounts.TOKEN_RANDOM_CHARS:
        return None
    found = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                            .where(ApiToken.token_hash == accounts._digest(value))).first()  # one round trip
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None:
        return None
    now = accounts._now()
    if now >= row.expires_at:
        return None
    if not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= accounts._TOUCH_EVERY:
        row.last_used_at = now
        session.flush()
    return user, row


def list_api_tokens(*, session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
    )


def revoke_api_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; revoking twice is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise errors.NotFound("jeton_introuvable", f"Vous n'avez pas de jeton d'API n° {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = accounts._now()
        session.flush()
    return row


# --- password reset ----------------------------------------------------------------------------


def request_password_reset(*, session: Session, settings: Settings, email: str) -> PasswordReset | None:
    """A pending reset for the account, or None (unknown or inactive address, too many requests).

    The caller answers the same either way. A new link supersedes the previous ones (marked used).
    No usable token exists yet: the row holds the hash of a secret thrown away at once, and the
    worker makes the real token when it sends the mail (`issue_reset_token`). So neither the
    outbox nor the `password_resets` table ever holds what it takes to use the link.
    """
    user = accounts.user_by_email(session=session, email=email)
    if user is None or not user.active:
        return None
    db.advisory_xact_lock(session, f"gusp-reset:{user.id}")
    now = accounts._now()
    window = timedelta(minutes=settings.password_reset_minutes)
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - window)
    )
    if recent >= accounts.RESETS_PER_WINDOW:
        return None
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    row = PasswordReset(token_hash=accounts._digest(secrets.token_urlsafe(32)), user_id=user.id, created_at=now,
                        expires_at=now + window)
    session.add(row)
    session.flush()
    return row


def issue_reset_token(*, session: Session, reset_hash: str) -> tuple[str, str] | None:
    """At sending time: a new random token for a pending reset, whose hash replaces the row's.

    Returns (token, its hash), or None when the link was used, superseded or expired. Any earlier
    token of the row stops working: if a send is retried, only the last mail's link works.
    """
    row = session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == reset_hash).with_for_update()
    ).first()
    if row is None or row.used_at is not None or accounts._now() >= row.expires_at:
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = accounts._digest(token)
    session.flush()
    return token, row.token_hash


def reset_password(*, session: Session, settings: Settings, token: str, new_password: str) -> User:
    """Set a new password from a mailed link: once, before expiry; every session is closed."""
    row = None
    if token and len(token) <= accounts._MAX_SECRET_CHARS:
        row = session.scalars(
            select(PasswordReset)
            .where(PasswordReset.token_hash == accounts._digest(token))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or row.used_at is not None or accounts._now() >= row.expires_at or user is None or not user.active:
        raise errors.BadRequest(
            "lien_invalide", "Ce lien de réinitialisation n'est pas ou plus valable : demandez-en un nouveau."
        )
    user.password_hash = accounts.hash_password(new_password)  # a refused password leaves the link usable
    row.used_at = accounts._now()
    accounts.close_user_sessions(session=session, user=user)
    # The owner proved it with the mailed link: strangers' failures no longer pause the account.
    session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    session.flush()
    return user
