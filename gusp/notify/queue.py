"""The outbox row: one pending message, in the caller's transaction (flushed, never committed)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy.orm import Session

from gusp import states
from gusp.models import OutboxMessage

SUBJECT_MAX = 300  # the column's length


class MailKind(StrEnum):
    """Which template a row was rendered from (`outbox.kind`)."""

    REPORT_RECEIVED = "report_received"
    REPORT_ACKNOWLEDGED = "report_acknowledged"
    REPORT_COMMENTED = "report_commented"
    REPORT_ASSIGNED = "report_assigned"
    REPORT_CLOSED = "report_closed"
    OVERDUE_DIGEST = "overdue_digest"
    PASSWORD_RESET = "password_reset"
    STAFF_NOTICE = "staff_notice"


def enqueue(
    *,
    session: Session,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    report_id: int | None = None,
    data: dict | None = None,
    message_id: str | None = None,
) -> OutboxMessage:
    """Add one pending message; its Message-ID is fixed now so that a resend is recognisable."""
    message = OutboxMessage(
        kind=str(kind),
        recipient=recipient.strip(),
        subject=one_line(subject),
        body_text=text,
        body_html=html,
        report_id=report_id,
        status=states.OutboxStatus.PENDING,
        attempts=0,
        message_id=message_id or f"<{uuid.uuid4().hex}@gusp>",
        data=data or {},
    )
    session.add(message)
    session.flush()
    return message




def one_line(subject: str) -> str:
    """A subject as it is stored: one line (no header injection), at most the column's length."""
    return " ".join(subject.split())[:SUBJECT_MAX]
