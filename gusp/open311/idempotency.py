"""A client retrying a POST gets its first answer again, never a second report or comment.

Two ways to recognise a retry. With an `Idempotency-Key` header, the key (scoped to the client
application) names the request: the same key with the same form replays, with another form it is
refused. Without one, the same form from the same client within `open311_dedupe_minutes` is the
same request: FixMyStreet, for one, sends no key and tries again 5 then 30 minutes after a failure.
"The same form" is every field but `api_key`, in any order, and the bytes of every file part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import db, errors, intake
from gusp.config import Settings
from gusp.models import Report

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"  # answer header, as on POST /api/v1/reports


def fingerprint(form: Mapping[str, Sequence[str]], files: Sequence[bytes]) -> str:
    """The SHA-256 of the form without its key, fields sorted, and of each file's bytes in order."""
    pairs = sorted((name, value) for name, values in form.items() if name != "api_key" for value in values)
    digest = hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode())
    for data in files:
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def scoped_key(client_id: int, key: str | None) -> str | None:
    """The client's key, checked, made unique across clients and short enough for the column."""
    if key is None:
        return None
    intake.check_idempotency_key(key)
    return f"open311:{client_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def conflict() -> errors.Unprocessable:
    return errors.Unprocessable(
        "idempotence_conflit",
        "Cette clé Idempotency-Key a déjà servi pour une autre demande : utilisez-en une nouvelle.",
        field=HEADER,
    )


def earlier_report(
    *, session: Session, settings: Settings, client_id: int, key: str | None, digest: str, now: datetime
) -> Report | None:
    """The report this request already created: by its key, else by the same form recently."""
    if key is not None:
        report = session.scalars(select(Report).where(Report.idempotency_key == key)).first()
        if report is not None and report.request_fingerprint != digest:
            raise conflict()
        return report
    if settings.open311_dedupe_minutes == 0:
        return None
    return session.scalars(
        select(Report)
        .where(Report.open311_client_id == client_id, Report.request_fingerprint == digest,
               Report.created_at >= now - timedelta(minutes=settings.open311_dedupe_minutes))
        .order_by(Report.id)
        .limit(1)
    ).first()


def lock(session: Session, *, client_id: int, key: str | None, digest: str) -> None:
    """Serialise concurrent retries of one request until the transaction ends."""
    db.advisory_xact_lock(session, key or f"open311:{client_id}:form:{digest}")
