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
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from gusp import errors
from gusp.config import Settings
from gusp.models.throttle import RateCounter

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def key_of(kind: str, value: str) -> str:
    """A counter key; the value (an address, an e-mail) is hashed: counters hold no personal data."""
    return f"{kind}:{hashlib.sha256(value.strip().lower().encode()).hexdigest()}"


# The window's start is computed by PostgreSQL from its own clock: one statement per count or peek.
# Windows are aligned on multiples of their length since 1970 (so on 2000-01-01 too, as before).
_WINDOW_START = "to_timestamp(floor(extract(epoch FROM now()) / {seconds}) * {seconds})"


def window_start_sql(seconds: int) -> str:
    """SQL for the start of the current window of that many seconds."""
    return _WINDOW_START.format(seconds=int(seconds))


def hit_sql(*, key_param: str, seconds: int) -> str:
    """The counting upsert, to run alone or inside a larger statement (a CTE): returns the count,
    the window's start and the database's clock."""
    start = _WINDOW_START.format(seconds=int(seconds))
    return (
        f"INSERT INTO rate_counters (key, window_start, count) VALUES (:{key_param}, {start}, 1) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 "
        "RETURNING count, window_start, now() AS now"
    )


def verdict(*, count: int, start: datetime, now: datetime, limit: int, window: timedelta, message: str,
            code: str = "trop_de_demandes", field: str | None = None) -> int:
    """429 when a counted event made more than `limit` in its window; else the count."""
    if count > limit:
        raise _refused(code, message, seconds=max(1, math.ceil((start + window - now).total_seconds())), field=field)
    return count


def hit(*, session: Session, key: str, limit: int, window: timedelta, message: str,
        code: str = "trop_de_demandes", field: str | None = None) -> int:
    """Count one event under `key` in the current window; 429 when that makes more than `limit`."""
    row = session.execute(text(hit_sql(key_param="key", seconds=int(window.total_seconds()))), {"key": key}).one()
    return verdict(count=row.count, start=row.window_start, now=row.now, limit=limit, window=window,
                   message=message, code=code, field=field)


def peek(*, session: Session, key: str, limit: int, window: timedelta, message: str,
         code: str = "trop_de_demandes") -> None:
    """429 already if the window is full, without counting nor locking (see `hit` for counting)."""
    start = _WINDOW_START.format(seconds=int(window.total_seconds()))
    row = session.execute(
        text(f"SELECT now() AS now, {start} AS start, "
             f"(SELECT count FROM rate_counters WHERE key = :key AND window_start = {start}) AS count"),
        {"key": key},
    ).one()
    if row.count is not None and row.count >= limit:
        raise _refused(code, message, seconds=max(1, math.ceil((row.start + window - row.now).total_seconds())),
                       field=None)


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


INTAKE_MESSAGE = "Trop de signalements envoyés depuis cette connexion."


def before_anonymous_intake(*, session: Session, settings: Settings, client: str | None) -> None:
    """Refuse at once an address whose hour is full, before photos are decoded (counts nothing)."""
    if client:
        peek(session=session, key=key_of("intake-ip", client), limit=settings.intake_per_ip_per_hour, window=HOUR,
             message=INTAKE_MESSAGE)


def anonymous_intake(*, session: Session, settings: Settings, client: str | None) -> None:
    """Count a report filed without signing in (form, API, Open311) from one client address, per hour:
    called once the report is written, just before the commit (the counter's row lock is short)."""
    if client:
        hit(session=session, key=key_of("intake-ip", client), limit=settings.intake_per_ip_per_hour, window=HOUR,
            message=INTAKE_MESSAGE)


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
