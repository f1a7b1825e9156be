"""Open311 client applications and their API keys, managed by admins.

A key is random, shown once at creation and stored as a SHA-256 hash only, like personal API
tokens: a copy of the database lets nobody post as a client. A deactivated client's key is
refused (403) but its reports keep pointing to it, for the statistics.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import errors
from gusp.models import Report
from gusp.models.open311 import Open311Client

KEY_PREFIX = "o311_"
KEY_RANDOM_CHARS = 40
KEY_SHOWN_CHARS = 12  # "o311_" and 7 random characters: enough to recognise a key in a list
NAME_MAX = 200
_ALPHABET = string.ascii_letters + string.digits
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at: one write a minute, not one per request


@dataclass(frozen=True)
class ClientUsage:
    client: Open311Client
    report_count: int


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _clean_name(name: str) -> str:
    label = " ".join(name.split())
    if not label or len(label) > NAME_MAX:
        raise errors.Unprocessable(
            "nom_invalide", f"Donnez à l'application cliente un nom de 1 à {NAME_MAX} caractères.", field="name"
        )
    return label


def create_client(*, session: Session, name: str) -> tuple[str, Open311Client]:
    """A new client application; its key is returned here and never again."""
    label = _clean_name(name)
    if session.scalars(select(Open311Client).where(func.lower(Open311Client.name) == label.lower())).first():
        raise errors.Conflict(
            "client_open311_existe", f"Une application cliente s'appelle déjà « {label} ».", field="name"
        )
    value = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(KEY_RANDOM_CHARS))
    client = Open311Client(
        name=label, key_hash=_digest(value), prefix=value[:KEY_SHOWN_CHARS], active=True,
        created_at=datetime.now(UTC),
    )
    session.add(client)
    session.flush()
    return value, client


def resolve_key(*, session: Session, value: str | None) -> Open311Client | None:
    """The active client behind a well-formed key; None for anything else."""
    if not value or not value.startswith(KEY_PREFIX) or len(value) != len(KEY_PREFIX) + KEY_RANDOM_CHARS:
        return None
    client = session.scalars(select(Open311Client).where(Open311Client.key_hash == _digest(value))).first()
    if client is None or not client.active:
        return None
    now = datetime.now(UTC)
    if client.last_used_at is None or now - client.last_used_at >= _TOUCH_EVERY:
        client.last_used_at = now
        session.flush()
    return client


def list_clients(*, session: Session) -> list[ClientUsage]:
    """Every client with the number of reports it brought in, newest first."""
    counts = (
        select(Report.open311_client_id, func.count().label("n"))
        .where(Report.open311_client_id.is_not(None))
        .group_by(Report.open311_client_id)
        .subquery()
    )
    rows = session.execute(
        select(Open311Client, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.open311_client_id == Open311Client.id)
        .order_by(Open311Client.id.desc())
    ).all()
    return [ClientUsage(client=c, report_count=int(n)) for c, n in rows]


def get_client(*, session: Session, client_id: int) -> Open311Client:
    client = session.get(Open311Client, client_id)
    if client is None:
        raise errors.NotFound("client_open311_introuvable", f"Aucune application cliente Open311 n° {client_id}.")
    return client


def update_client(
    *, session: Session, client_id: int, name: str | None = None, active: bool | None = None
) -> Open311Client:
    """Rename, deactivate (its key is refused from now on) or reactivate a client."""
    client = get_client(session=session, client_id=client_id)
    if name is not None:
        label = _clean_name(name)
        clash = session.scalars(
            select(Open311Client).where(func.lower(Open311Client.name) == label.lower(), Open311Client.id != client.id)
        ).first()
        if clash is not None:
            raise errors.Conflict(
                "client_open311_existe", f"Une application cliente s'appelle déjà « {label} ».", field="name"
            )
        client.name = label
    if active is not None:
        client.active = active
    session.flush()
    return client


def report_count(*, session: Session, client: Open311Client) -> int:
    return session.scalar(select(func.count()).select_from(Report).where(Report.open311_client_id == client.id)) or 0
