"""The staff's view of the outbox: mails (and Open311 messages) waiting or given up, and "renvoyer".

A message that failed for good stays `failed` until someone looks: after a relay outage of a
weekend, the coordinators see the count on their console and send the lot again from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.models import OutboxMessage, Report

# What each kind of message is, in the staff's words.
KIND_LABELS: dict[str, str] = {
    "report_received": "Accusé de réception au déclarant",
    "report_acknowledged": "Prise en compte, au déclarant",
    "report_commented": "Message public au déclarant",
    "report_assigned": "Signalement confié à un partenaire",
    "report_closed": "Clôture, au déclarant",
    "overdue_digest": "Récapitulatif des retards",
    "password_reset": "Réinitialisation de mot de passe",
    "staff_notice": "Avis aux coordinateurs",
    "open311_request": "Envoi Open311 à un partenaire",
}
WAITING = (states.OutboxStatus.FAILED, states.OutboxStatus.PENDING)


@dataclass(frozen=True)
class Counts:
    failed: int
    pending: int


def counts(*, session: Session) -> Counts:
    rows = dict(session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status.in_(WAITING))
        .group_by(OutboxMessage.status)
    ).all())
    return Counts(failed=rows.get(states.OutboxStatus.FAILED, 0), pending=rows.get(states.OutboxStatus.PENDING, 0))


def waiting(
    *, session: Session, status: states.OutboxStatus | None = None, limit: int = 200
) -> list[tuple[OutboxMessage, str | None]]:
    """Failed then pending messages (or one status), newest first, with their report's reference."""
    wanted = [status] if status else list(WAITING)
    order = (OutboxMessage.status == states.OutboxStatus.PENDING).asc()  # failed first
    return list(session.execute(
        select(OutboxMessage, Report.reference)
        .outerjoin(Report, Report.id == OutboxMessage.report_id)
        .where(OutboxMessage.status.in_([s.value for s in wanted]))
        .order_by(order, OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    ).tuples())


def resend(*, session: Session, message_id: int) -> OutboxMessage:
    """Put a failed (or waiting) message back in the queue, due now, with a fresh count of attempts."""
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
        .execution_options(populate_existing=True)  # as locked, not as this session last saw it
    ).first()
    if message is None:
        raise errors.NotFound("message_introuvable", f"Aucun message n° {message_id} dans la file d'envoi.")
    if message.status == states.OutboxStatus.SENT:
        raise errors.Conflict("message_deja_envoye", "Ce message est déjà parti : il n'y a rien à renvoyer.")
    now: datetime = session.scalar(text("SELECT now()"))
    message.status = states.OutboxStatus.PENDING
    message.available_at = now
    message.attempts = 0
    session.flush()
    return message
