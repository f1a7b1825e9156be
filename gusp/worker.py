"""The sending side of the outbox: claim a due message, send it, record the outcome.

Delivery is *at least once*, and once in practice. Each message is claimed, sent and marked in
one transaction of its own (`SELECT … FOR UPDATE SKIP LOCKED LIMIT 1`):

- a worker that dies anywhere before its commit loses nothing: PostgreSQL rolls the transaction
  back and releases the row lock, the message is still `pending`, and the next run sends it;
- concurrent workers never send the same message: a locked row is skipped, not waited for;
- the only duplicate left is a worker dying (or losing the database) after the SMTP server said
  250 and before the commit; the message is then sent again with the same Message-ID header, so
  the copy is recognisable. Closing that window would need the SMTP server to take part in our
  transaction, which it cannot.

A failure schedules a retry with exponential back-off and jitter; after
`settings.outbox_max_attempts` attempts, or at once when the server refuses the message for good
(5xx on the recipient or the content), the row becomes `failed` — kept and visible, never deleted.

Open311 messages (a report for a partner's server, `gusp.open311.outbound`) take the same path:
claimed, sent over HTTP instead of SMTP, retried, failed for good when the server refuses them.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import utils
from email.message import EmailMessage
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker as SessionMaker

from gusp import db, notify, retention, states, storage
from gusp.config import Settings
from gusp.ops import health
from gusp.models import OutboxMessage
from gusp.open311.outbound import delivery as open311_delivery
from gusp.open311.outbound import polling as open311_polling
from gusp.storage import sweep

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
DIGEST_HOUR = 7  # the overdue digest goes out at or after this hour, Paris time
_ERROR_MAX = 2000
_SCRUBBED = "[contenu effacé après envoi]"


class Sender(Protocol):
    def send(self, email: EmailMessage) -> None:
        """Deliver one message or raise; `PermanentFailure` means: do not retry."""


class PermanentFailure(Exception):
    """The message can never be delivered as it is (refused recipient, refused content, bad header)."""


@dataclass(frozen=True)
class WorkerResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def processed(self) -> int:
        return self.sent + self.retried + self.failed


class SmtpSender:
    """Sends through the SMTP relay of the settings: one connection per message, STARTTLS/SSL and login if set."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, email: EmailMessage) -> None:
        s = self.settings
        if s.smtp_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        with smtp:
            if s.smtp_starttls and not s.smtp_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            try:
                smtp.send_message(email)
            except smtplib.SMTPRecipientsRefused as error:
                if all(code >= 500 for code, _ in error.recipients.values()):
                    raise PermanentFailure(f"destinataire refusé : {error.recipients}") from error
                raise
            except smtplib.SMTPDataError as error:
                if error.smtp_code >= 500:
                    raise PermanentFailure(f"message refusé : {error.smtp_code} {error.smtp_error!r}") from error
                raise


def build_email(
    message: OutboxMessage, *, settings: Settings, bodies: tuple[str, str | None] | None = None
) -> EmailMessage:
    """The MIME message of a row: text and HTML alternatives, its own Message-ID, marked automatic."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = utils.format_datetime(message.created_at or datetime.now(UTC))
    email["Message-ID"] = message.message_id
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, no loops
    email["X-Auto-Response-Suppress"] = "All"
    text, html = bodies or (message.body_text, message.body_html)
    email.set_content(text)
    if html:
        email.add_alternative(html, subtype="html")
    return email


def send_pending(
    *,
    sessionmaker: SessionMaker[Session],
    settings: Settings,
    sender: Sender,
    now: datetime | None = None,
    batch: int = 20,
) -> WorkerResult:
    """Send up to `batch` due messages, each claimed, sent and marked in its own transaction."""
    sent = retried = failed = 0
    for _ in range(batch):
        with sessionmaker() as session, db.transaction(session):
            at = now or session.scalar(select(func.clock_timestamp()))
            message = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == states.OutboxStatus.PENDING, OutboxMessage.available_at <= at)
                .order_by(OutboxMessage.available_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if message is None:
                break
            _deliver(session=session, message=message, settings=settings, sender=sender, now=at)
            status = message.status
        if status == states.OutboxStatus.SENT:
            sent += 1
        elif status == states.OutboxStatus.FAILED:
            failed += 1
        else:
            retried += 1
    return WorkerResult(sent=sent, retried=retried, failed=failed)


def retry_delay(attempts: int) -> timedelta:
    """1 min × 2^(attempts-1), capped at 6 h, ±20 % jitter so that a backlog does not retry in step."""
    base = min(RETRY_BASE * 2 ** max(0, attempts - 1), RETRY_CAP)
    return base * random.uniform(0.8, 1.2)


def daily_digest(
    *, sessionmaker: SessionMaker[Session], settings: Settings, now: datetime, hour: int = DIGEST_HOUR
) -> int:
    """Queue the overdue digest when it is `hour` or later in Paris; idempotent per day."""
    if now.astimezone(ZoneInfo(settings.timezone)).hour < hour:
        return 0
    with sessionmaker() as session, db.transaction(session):
        return notify.overdue_digest(session=session, settings=settings, now=now)


def run_forever(
    *,
    sessionmaker: SessionMaker[Session],
    settings: Settings,
    sender: Sender,
    stop: threading.Event,
    poll_s: float = 5,
    batch: int = 20,
    digest_hour: int = DIGEST_HOUR,
) -> None:
    """Send the outbox until `stop` is set; every `open311_poll_minutes`, read partners' Open311
    updates; once a day, queue the overdue digest, delete the contact details and photos past their
    retention period and sweep the photo files no row names.

    A failing cycle (database down…) is logged and tried again after `poll_s`; a full batch is
    followed at once by the next one.
    """
    tz = ZoneInfo(settings.timezone)
    digest_day = None
    next_poll = datetime.now(UTC)
    worker = health.worker_name()
    while not stop.is_set():
        full = False
        try:
            now = datetime.now(UTC)
            if now >= next_poll:
                next_poll = now + timedelta(minutes=settings.open311_poll_minutes)
                polled = open311_polling.poll_all(sessionmaker=sessionmaker, settings=settings, now=now)
                if polled.applied or polled.noted or polled.failed:
                    log.info("open311: %d updates applied, %d noted, %d failed", polled.applied, polled.noted,
                             polled.failed)
            today = now.astimezone(tz).date()
            if digest_day != today and now.astimezone(tz).hour >= digest_hour:
                queued = daily_digest(sessionmaker=sessionmaker, settings=settings, now=now, hour=digest_hour)
                with sessionmaker() as session, db.transaction(session):
                    purged = retention.purge_contacts(session=session, settings=settings)
                digest_day = today
                photo_purge(sessionmaker=sessionmaker, settings=settings)
                media_sweep(sessionmaker=sessionmaker, settings=settings)
                if queued:
                    log.info("overdue digest queued for %d coordinator(s)", queued)
                if purged:
                    log.info("contact details past their retention period deleted: %d", purged)
            with sessionmaker() as session, db.transaction(session):
                health.beat(session, worker=worker)
            result = send_pending(sessionmaker=sessionmaker, settings=settings, sender=sender, batch=batch)
            if result.processed:
                log.info("outbox: %d sent, %d to retry, %d failed", result.sent, result.retried, result.failed)
            full = result.processed >= batch
        except Exception:
            log.exception("outbox worker: cycle failed, trying again in %s s", poll_s)
        if not full:
            stop.wait(poll_s)


def photo_purge(*, sessionmaker: SessionMaker[Session], settings: Settings) -> retention.PhotoPurge | None:
    """The daily photo retention step; a failure is logged and waits for the next day."""
    try:
        result = retention.purge_photos(sessionmaker=sessionmaker, storage=storage.from_settings(settings),
                                        settings=settings)
    except Exception:
        log.exception("photo retention failed; next try tomorrow")
        return None
    if result.photos or result.originals:
        log.info("photo retention: %d photos of %d reports deleted, %d originals forgotten, %d files deleted",
                 result.photos, result.reports, result.originals, result.files)
    return result


def media_sweep(*, sessionmaker: SessionMaker[Session], settings: Settings) -> sweep.SweepResult | None:
    """The daily media sweep; a failure (store out of reach…) is logged and waits for the next day."""
    try:
        result = sweep.sweep(sessionmaker=sessionmaker, store=storage.from_settings(settings),
                             grace=timedelta(hours=settings.media_sweep_grace_hours))
    except Exception:
        log.exception("media sweep failed; next try tomorrow")
        return None
    if result.deleted or result.incomplete:
        log.info("media sweep: %d unreferenced files deleted (%d bytes), %d interrupted writes cleared",
                 result.deleted, result.deleted_bytes, result.incomplete)
    return result


def _deliver(*, session: Session, message: OutboxMessage, settings: Settings, sender: Sender, now: datetime) -> None:
    message.attempts += 1
    try:
        if message.kind == open311_delivery.KIND:  # a report for a partner's Open311 server, not a mail
            open311_delivery.deliver(session=session, message=message, settings=settings)
        else:
            try:
                bodies = notify.final_bodies(session=session, settings=settings, message=message)  # reset links
                email = build_email(message, settings=settings, bodies=bodies)
            except (ValueError, TypeError) as error:  # e.g. a line break in an address
                raise PermanentFailure(f"message invalide : {error}") from error
            sender.send(email)
    except (PermanentFailure, open311_delivery.Refused) as error:
        message.status = states.OutboxStatus.FAILED
        message.last_error = _describe(error)
        log.error("outbox %s (%s) failed for good: %s", message.id, message.kind, message.last_error)
    except Exception as error:
        message.last_error = _describe(error)
        if message.attempts >= settings.outbox_max_attempts:
            message.status = states.OutboxStatus.FAILED
            log.error("outbox %s failed after %d attempts: %s", message.id, message.attempts, message.last_error)
        else:
            message.available_at = now + retry_delay(message.attempts)
            log.warning("outbox %s: attempt %d failed (%s)", message.id, message.attempts, message.last_error)
    else:
        message.status = states.OutboxStatus.SENT
        message.sent_at = now
        # Which message, never to whom nor what: a resident's address or a reset link stays out of logs.
        log.info("outbox %s sent: %s, report %s, attempt %d", message.id, message.kind,
                 message.report_id if message.report_id is not None else "-", message.attempts)
        if message.data.get("secret"):  # a reset link must not outlive its sending in clear
            message.body_text = _SCRUBBED
            message.body_html = None
    session.flush()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_ERROR_MAX]
