"""The outbox for coordinators: failed and pending messages, their count, and "renvoyer"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from gusp import bounds, db, localtime, outbox, schemas, states
from gusp.api import auth_deps, deps
from gusp.models import OutboxMessage, Report

router = APIRouter(
    prefix="/api/v1/gestion/outbox", tags=["courriers"],
    dependencies=[Depends(auth_deps.require_roles(states.Role.COORDINATEUR, states.Role.ADMIN))],
)
_ERROR = {"model": schemas.ErrorBody}


class OutboxRead(BaseModel):
    id: int
    kind: str
    kind_label: str
    recipient: str
    subject: str
    status: states.OutboxStatus
    attempts: int
    last_error: str | None
    report_reference: str | None
    created_at: localtime.LocalDatetime
    available_at: localtime.LocalDatetime
    sent_at: localtime.LocalDatetime | None


class OutboxCounts(BaseModel):
    failed: int = Field(description="Messages abandonnés après leurs tentatives : à renvoyer.")
    pending: int = Field(description="Messages en attente d'envoi (ou de nouvelle tentative).")


class OutboxPage(BaseModel):
    data: list[OutboxRead]
    count: int
    totals: OutboxCounts


def _read(message: OutboxMessage, reference: str | None) -> OutboxRead:
    return OutboxRead(
        id=message.id, kind=message.kind, kind_label=outbox.KIND_LABELS.get(message.kind, message.kind),
        recipient=message.recipient, subject=message.subject, status=states.OutboxStatus(message.status),
        attempts=message.attempts, last_error=message.last_error, report_reference=reference,
        created_at=message.created_at, available_at=message.available_at, sent_at=message.sent_at,
    )


def _totals(session) -> OutboxCounts:
    found = outbox.counts(session=session)
    return OutboxCounts(failed=found.failed, pending=found.pending)


@router.get("", response_model=OutboxPage, summary="Courriers en échec et en attente")
def list_waiting(
    session: deps.SessionDep,
    status: Annotated[states.OutboxStatus | None, Query(description="failed ou pending ; vide : les deux.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> OutboxPage:
    if status is states.OutboxStatus.SENT:
        status = None  # sent messages are not listed here: nothing to do about them
    rows = outbox.waiting(session=session, status=status, limit=limit)
    data = [_read(m, ref) for m, ref in rows]
    return OutboxPage(data=data, count=len(data), totals=_totals(session))


@router.get("/counts", response_model=OutboxCounts, summary="Nombre de courriers en échec et en attente")
def counts(session: deps.SessionDep) -> OutboxCounts:
    return _totals(session)


@router.post("/{message_id}/resend", response_model=OutboxRead, responses={404: _ERROR, 409: _ERROR},
             dependencies=[Depends(auth_deps.csrf_protected)], summary="Renvoyer un courrier")
def resend(message_id: bounds.Id, session: deps.SessionDep) -> OutboxRead:
    with db.transaction(session):
        message = outbox.resend(session=session, message_id=message_id)
    reference = session.scalar(select(Report.reference).where(Report.id == message.report_id))
    return _read(message, reference)
