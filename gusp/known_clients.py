"""The clients a user signed in from before: a long-lived device cookie, or the client address.

Sign-in throttling lets them through the per-account limit (so that a stranger's wrong passwords
cannot keep the owner out); they still obey the limit per (account, address). Both are stored as
SHA-256 hashes: the cookie is a random secret, and addresses are personal data.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gusp.models import User
from gusp.models.throttle import KnownClient

DEVICE_COOKIE = "gusp_appareil"
DEVICE_MAX_AGE = timedelta(days=400)  # browsers cap cookies at 400 days
_MAX_DEVICE_CHARS = 100


def _hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _values(ip: str | None, device: str | None) -> list[tuple[str, str]]:
    values = []
    if device and len(device) <= _MAX_DEVICE_CHARS:
        values.append(("device", _hash("device", device)))
    if ip:
        values.append(("ip", _hash("ip", ip)))
    return values


def is_known(*, session: Session, user: User, ip: str | None, device: str | None, now: datetime) -> bool:
    """Whether this device or address signed in to this account within the cookie's lifetime."""
    values = _values(ip, device)
    if not values:
        return False
    match = or_(*[(KnownClient.kind == kind) & (KnownClient.value_hash == value) for kind, value in values])
    found = session.scalar(
        select(KnownClient.id).where(KnownClient.user_id == user.id, match,
                                     KnownClient.last_seen_at > now - DEVICE_MAX_AGE).limit(1)
    )
    return found is not None


def remember(*, session: Session, user: User, ip: str | None, device: str | None, now: datetime) -> str:
    """Record a successful sign-in's device and address; the device cookie value to (re)set."""
    if not device or len(device) > _MAX_DEVICE_CHARS:
        device = secrets.token_urlsafe(32)
    for kind, value in _values(ip, device):
        session.execute(
            insert(KnownClient)
            .values(user_id=user.id, kind=kind, value_hash=value, last_seen_at=now)
            .on_conflict_do_update(index_elements=["user_id", "kind", "value_hash"], set_={"last_seen_at": now})
        )
    return device


def purge(*, session: Session, now: datetime) -> int:
    return session.execute(delete(KnownClient).where(KnownClient.last_seen_at <= now - DEVICE_MAX_AGE)).rowcount
