"""Rate limits on what a stranger can make GUSP do: file reports, and have mail sent to an address.

Counters live in PostgreSQL (`rate_counters`), one row per key and fixed window, incremented with
`INSERT … ON CONFLICT DO UPDATE`: concurrent requests are counted exactly, with no other service.
An increment belongs to the caller's transaction: a refused or failed request (nothing stored, no
mail) does not count. The upsert locks its row until the transaction ends, so long requests (a
report with photos) only peek at the counter first and count themselves at their end: requests
sharing an address (a town hall, a mobile carrier's NAT) are never queued behind each other. Beyond the limit: 429 with a French message and `retry_after` (the end of
the window), which becomes the `Retry-After` header.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gusp import errors
from gusp.config import Settings
from gusp.models.throttle import RateCounter

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _window_start(now: datetime, window: timedelta) -> datetime:
    return _EPOCH + ((now - _EPOCH) // window) * window


def key_of(kind: str, value: str) -> str:
    """A counter key; the value (an address, an e-mail) is hashed: counters hold no personal data."""
    return f"{kind}:{hashlib.sha256(value.strip().lower().encode()).hexdigest()}"


def hit(*, session: Session, key: str, limit: int, window: timedelta, message: str,
        code: str = "trop_de_demandes", field: str | None = None) -> int:
    """Count one event under `key` in the current window; 429 when that makes more than `limit`."""
    now = session.scalar(select(func.now()))
    start = _window_start(now, window)
    statement = (
        insert(RateCounter)
        .values(key=key, window_start=start, count=1)
        .on_conflict_do_update(index_elements=[RateCounter.key, RateCounter.window_start],
                               set_={"count": RateCounter.count + 1})
        .returning(RateCounter.count)
    )
    count = session.scalar(statement)
    if count > limit:
        raise _refused(code, message, seconds=max(1, math.ceil((start + window - now).total_seconds())), field=field)
    return count


def peek(*, session: Session, key: str, limit: int, window: timedelta, message: str,
         code: str = "trop_de_demandes") -> None:
    """429 already if the window is full, without counting nor locking (see `hit` for counting)."""
    now = session.scalar(select(func.now()))
    start = _window_start(now, window)
    count = session.scalar(select(RateCounter.count).where(RateCounter.key == key, RateCounter.window_start == start))
    if count is not None and count >= limit:
        raise _refused(code, message, seconds=max(1, math.ceil((start + window - now).total_seconds())), field=None)


def _refused(code: str, message: str, *, seconds: int, field: str | None) -> errors.TooManyRequests:
    return errors.TooManyRequests(code, f"{message} Réessayez dans {_delay(seconds)}.", field=field,
                                  retry_after=seconds)


def _delay(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} secondes"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} heures"


# --- the limits of GUSP ------------------------------------------------------------------------


_INTAKE_MESSAGE = "Trop de signalements envoyés depuis cette connexion."


def before_anonymous_intake(*, session: Session, settings: Settings, client: str | None) -> None:
    """Refuse at once an address whose hour is full, before photos are decoded (counts nothing)."""
    if client:
        peek(session=session, key=key_of("intake-ip", client), limit=settings.intake_per_ip_per_hour, window=HOUR,
             message=_INTAKE_MESSAGE)


def anonymous_intake(*, session: Session, settings: Settings, client: str | None) -> None:
    """Count a report filed without signing in (form, API, Open311) from one client address, per hour:
    called once the report is written, just before the commit (the counter's row lock is short)."""
    if client:
        hit(session=session, key=key_of("intake-ip", client), limit=settings.intake_per_ip_per_hour, window=HOUR,
            message=_INTAKE_MESSAGE)


def mail_request(*, session: Session, settings: Settings, client: str | None) -> None:
    """Requests that make GUSP write to an address given by the caller, from one client address per hour."""
    if client:
        hit(session=session, key=key_of("mail-ip", client), limit=settings.mail_requests_per_ip_per_hour,
            window=HOUR, message="Trop de demandes d'envoi de message depuis cette connexion.")


def mail_to(*, session: Session, settings: Settings, address: str) -> None:
    """Mails a stranger can cause to one address (receipts, reset links) per day."""
    hit(session=session, key=key_of("mail-to", address), limit=settings.mails_per_recipient_per_day, window=DAY,
        message="Trop de messages ont été demandés pour cette adresse e-mail aujourd'hui.", field="contact_email")


def purge(*, session: Session) -> int:
    """Delete counters of windows over for more than a day; rows deleted."""
    horizon = session.scalar(text("SELECT now() - interval '2 days'"))
    return session.execute(delete(RateCounter).where(RateCounter.window_start < horizon)).rowcount
