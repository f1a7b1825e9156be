"""Staff accounts: passwords, sign-in with throttling, web sessions (tokens and reset links:
`gusp.credentials`).

Every secret handed to a client (session id, API token, reset link) is random, shown once and
stored as a SHA-256 hash only: a copy of the database lets nobody in. Services flush; the caller
commits — except that a failed sign-in must be committed even though it raises (see `authenticate`).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import string
import threading
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import argon2
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gusp import db, errors, known_clients, states, throttle
from gusp.config import Settings
from gusp.models import LoginFailure, Partner, PasswordReset, Quartier, User, UserQuartier, UserSession

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
TOKEN_PREFIX = "gusp_"
TOKEN_RANDOM_CHARS = 40
TOKEN_SHOWN_CHARS = 12  # "gusp_" and 7 random characters: enough to recognise a token in a list
RESETS_PER_WINDOW = 3  # reset mails per account per validity window: no mail-bombing through the form
_TOKEN_ALPHABET = string.ascii_letters + string.digits
_TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at / last_used_at: one write a minute, not one per request
_MAX_SECRET_CHARS = 100  # longer cookies or links are not ours: refused before hashing

# argon2id with the RFC 9106 low-memory profile (t=3, 64 MiB, p=4), argon2-cffi's default.
_HASHER = argon2.PasswordHasher()
# Each hash takes 64 MiB: a flood of sign-ins must not take the server's memory with it.
_HASH_SLOTS = threading.BoundedSemaphore(4)
# Checked when the address is unknown, so that it costs what a known one does (same parameters).
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$QcC26sAG06DoRk7B4+hW4A$8iuPrMzngkikmvEqHILp+Xv1M12E/DwPy0Y+zsLD6ik"


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- passwords ---------------------------------------------------------------------------------


def _normalised(password: str) -> str:
    """NFKC, as NIST SP 800-63B asks: the same password typed on a Mac or a phone must match."""
    return unicodedata.normalize("NFKC", password)


def check_password_rules(password: str) -> None:
    """Length is the only rule (NIST SP 800-63B): at least 12 characters, up to 1024."""
    length = len(_normalised(password))
    if length < PASSWORD_MIN:
        raise errors.Unprocessable(
            "mot_de_passe_trop_court",
            f"Le mot de passe doit compter au moins {PASSWORD_MIN} caractères.",
            field="password",
        )
    if length > PASSWORD_MAX:
        raise errors.Unprocessable(
            "mot_de_passe_trop_long",
            f"Le mot de passe ne doit pas dépasser {PASSWORD_MAX} caractères.",
            field="password",
        )


def _hash(password: str) -> str:
    with _HASH_SLOTS:
        return _HASHER.hash(_normalised(password))


def hash_password(password: str) -> str:
    """An argon2id hash of a password that follows the rules."""
    check_password_rules(password)
    return _hash(password)


def verify_password(*, password_hash: str, password: str) -> bool:
    """True when the password matches; oversized input is refused before hashing."""
    if len(password) > 4 * PASSWORD_MAX:
        return False
    try:
        with _HASH_SLOTS:
            return _HASHER.verify(password_hash, _normalised(password))
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


# --- users -------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """The address as stored: validated, Unicode- and IDNA-normalised, lower case."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise errors.Unprocessable("email_invalide", "Adresse e-mail invalide.", field="email") from None


def _lookup_key(email: str) -> str:
    """The key an address is looked up and throttled under, even when it is not a valid one."""
    try:
        return normalise_email(email)
    except errors.Unprocessable:
        return email.strip().lower()[:320]


def user_by_email(*, session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == _lookup_key(email))).first()


def quartier_ids(*, session: Session, user: User) -> list[int]:
    return list(
        session.scalars(
            select(UserQuartier.quartier_id).where(UserQuartier.user_id == user.id).order_by(UserQuartier.quartier_id)
        )
    )


def _duplicate(address: str) -> errors.Conflict:
    return errors.Conflict("utilisateur_existant", f"Un compte existe déjà pour {address}.", field="email")


def create_user(
    *,
    session: Session,
    email: str,
    full_name: str,
    password: str,
    role: states.Role | str,
    partner_id: int | None = None,
    quartier_ids: Iterable[int] = (),
) -> User:
    """A new active account; a partenaire belongs to exactly one partner, no other role does."""
    address = normalise_email(email)
    name = " ".join(full_name.split())
    if not name or len(name) > 200:
        raise errors.Unprocessable("nom_invalide", "Indiquez un nom de 1 à 200 caractères.", field="full_name")
    try:
        role = states.Role(role)
    except ValueError:
        raise errors.Unprocessable(
            "role_inconnu", f"Rôle inconnu ; rôles possibles : {', '.join(states.Role)}.", field="role"
        ) from None
    if role is states.Role.PARTENAIRE and partner_id is None:
        raise errors.Unprocessable(
            "partenaire_requis", "Un compte partenaire doit être rattaché à un partenaire.", field="partner_id"
        )
    if role is not states.Role.PARTENAIRE and partner_id is not None:
        raise errors.Unprocessable(
            "partenaire_inattendu", "Seul un compte partenaire est rattaché à un partenaire.", field="partner_id"
        )
    if partner_id is not None and session.get(Partner, partner_id) is None:
        raise errors.Unprocessable("partenaire_inconnu", f"Aucun partenaire n° {partner_id}.", field="partner_id")
    wanted = set(quartier_ids)
    missing = wanted - set(session.scalars(select(Quartier.id).where(Quartier.id.in_(wanted))))
    if missing:
        raise errors.Unprocessable(
            "quartier_inconnu", f"Quartier inconnu : n° {', '.join(map(str, sorted(missing)))}.", field="quartier_ids"
        )
    check_password_rules(password)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise _duplicate(address)

    user = User(
        email=address, full_name=name, password_hash=_hash(password), role=role.value, partner_id=partner_id, active=True
    )
    try:
        with session.begin_nested():  # a concurrent creation of the same address loses here
            session.add(user)
            session.flush()
    except IntegrityError:
        raise _duplicate(address) from None
    session.add_all(UserQuartier(user_id=user.id, quartier_id=q) for q in sorted(wanted))
    session.flush()
    return user


# --- sign-in -----------------------------------------------------------------------------------


def _blocked_until(
    *, session: Session, settings: Settings, match: ColumnElement[bool], limit: int, now: datetime
) -> datetime | None:
    """When enough of the failures in the window will have aged out for one more attempt."""
    window = timedelta(minutes=settings.login_failure_window_minutes)
    recent = select(LoginFailure.at).where(match, LoginFailure.at > now - window)
    count = session.scalar(select(func.count()).select_from(recent.subquery()))
    if count < limit:
        return None
    oldest = session.scalar(recent.order_by(LoginFailure.at).offset(count - limit).limit(1))
    return oldest + window


def _check_throttle(
    *, session: Session, settings: Settings, email: str, ip: str | None, known: bool, now: datetime
) -> None:
    """Three limits. Per (e-mail, client address): a few guesses, then a pause for that address only.
    Per e-mail from anywhere, higher: many addresses guessing one account; the owner's known
    devices and addresses pass it, so strangers cannot keep the owner out. Per address, higher
    again: a whole town hall may share one public address."""
    pair = (LoginFailure.email == email) & (LoginFailure.ip == ip if ip is not None else LoginFailure.ip.is_(None))
    blocked = [_blocked_until(session=session, settings=settings, match=pair, limit=settings.login_max_failures,
                              now=now)]
    if not known:
        blocked.append(_blocked_until(session=session, settings=settings, match=LoginFailure.email == email,
                                      limit=settings.login_max_failures_per_account, now=now))
    if ip is not None:
        blocked.append(_blocked_until(session=session, settings=settings, match=LoginFailure.ip == ip,
                                      limit=settings.login_max_failures_per_ip, now=now))
    until = max((b for b in blocked if b is not None), default=None)
    if until is None:
        return
    seconds = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(seconds / 60)
    clock = until.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M")
    raise errors.TooManyRequests(
        "trop_de_tentatives",
        f"Trop de tentatives de connexion. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''} "
        f"(à partir de {clock}).",
        retry_after=seconds,
    )


def invalid_credentials() -> errors.Unauthenticated:
    return errors.Unauthenticated("identifiants_invalides", "Adresse e-mail ou mot de passe incorrect.")


def authenticate(
    *, session: Session, settings: Settings, email: str, password: str, ip: str | None, device: str | None = None
) -> User:
    """The user behind these credentials, or 401 (one answer for every cause) / 429 when throttled.

    A failure is flushed as a `login_failures` row before the error is raised: the caller must
    commit it even so, or throttling never triggers. Throttling applies before the password is
    checked, so a right password does not get through during the pause either.
    """
    key = _lookup_key(email)
    ip = ip[:64] if ip else None  # as stored in login_failures
    now = _now()
    db.advisory_xact_lock(session, f"gusp-login:{key}")  # concurrent guesses on one address are counted
    user = session.scalars(select(User).where(User.email == key)).first()
    known = user is not None and known_clients.is_known(session=session, user=user, ip=ip, device=device, now=now)
    _check_throttle(session=session, settings=settings, email=key, ip=ip, known=known, now=now)
    matches = verify_password(password_hash=user.password_hash if user else _DUMMY_HASH, password=password)
    if user is None or not matches or not user.active:
        session.add(LoginFailure(email=key, ip=ip, at=now))
        session.flush()
        raise invalid_credentials()
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    user.last_login_at = now
    session.flush()
    return user


# --- web sessions ------------------------------------------------------------------------------


def open_session(*, session: Session, settings: Settings, user: User) -> tuple[str, UserSession]:
    """A new random session id at every sign-in (no fixation); only its hash is stored."""
    value = secrets.token_urlsafe(32)
    now = _now()
    row = UserSession(
        id_hash=_digest(value),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
    )
    session.add(row)
    session.flush()
    return value, row


def resolve_session(*, session: Session, settings: Settings, cookie_value: str) -> tuple[User, UserSession] | None:
    """The live session a cookie names; an idle, expired or deactivated one is deleted on sight."""
    if not cookie_value or len(cookie_value) > _MAX_SECRET_CHARS:
        return None
    found = session.execute(select(UserSession, User).outerjoin(User, User.id == UserSession.user_id)
                            .where(UserSession.id_hash == _digest(cookie_value))).first()  # one round trip
    if found is None:
        return None
    row, user = found
    now = _now()
    idle = now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes)
    if idle or now >= row.expires_at or user is None or not user.active:
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return user, row


def close_session(*, session: Session, cookie_value: str) -> None:
    """Sign out: the session the cookie names stops working, whoever it belonged to."""
    if cookie_value and len(cookie_value) <= _MAX_SECRET_CHARS:
        session.execute(delete(UserSession).where(UserSession.id_hash == _digest(cookie_value)))


def close_user_sessions(*, session: Session, user: User) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))


# --- housekeeping ------------------------------------------------------------------------------


def purge_expired(*, session: Session, settings: Settings) -> int:
    """Delete what no longer counts: old failures, dead sessions, expired links. Rows deleted."""
    now = _now()
    failure_horizon = now - timedelta(minutes=settings.login_failure_window_minutes)
    idle_horizon = now - timedelta(minutes=settings.session_idle_minutes)
    purged = known_clients.purge(session=session, now=now) + throttle.purge(session=session)
    statements = [
        delete(LoginFailure).where(LoginFailure.at <= failure_horizon),
        delete(UserSession).where(or_(UserSession.expires_at <= now, UserSession.last_seen_at <= idle_horizon)),
        delete(PasswordReset).where(PasswordReset.expires_at <= now),
    ]
    return purged + sum(session.execute(s).rowcount for s in statements)
