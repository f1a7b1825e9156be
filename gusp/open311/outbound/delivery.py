"""The worker's side of an Open311 message: POST the report to the partner's server, record the id.

Called by `gusp.worker` inside the message's claim transaction, like a mail: success writes the
transmission and an internal note on the report with the partner's id; `remote.Unavailable` is
retried with the outbox's back-off; `Refused` marks the message `failed` at once (visible on the
partner's link, retried by an admin after fixing the key or the mapping). The message's own
Message-ID is sent as `Idempotency-Key`, so a retry after a lost answer creates nothing twice on
a server that honours it (GUSP does).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import storage as photo_storage
from gusp import triage
from gusp.config import Settings
from gusp.models import OutboxMessage, Partner, Report
from gusp.models.open311 import Open311Transmission, PartnerOpen311
from gusp.open311.outbound import remote, sending

KIND = sending.KIND
Refused = remote.Refused


def deliver(*, session: Session, message: OutboxMessage, settings: Settings) -> None:
    """Send one message; raises `Refused` (for good) or anything else (try again)."""
    partner_id = int(message.data["partner_id"])
    link = session.get(PartnerOpen311, partner_id)
    if link is None or not link.active:
        raise Refused("le partenaire ne reçoit plus ses signalements par Open311")
    report = session.get(Report, message.report_id)
    if report.partner_id != partner_id:
        message.data = {**message.data, "skipped": "signalement confié à un autre partenaire entre-temps"}
        return
    photos = _photos(settings, report) if link.photos == "upload" else []
    created = remote.post_request(link=link, fields=message.data["fields"], photos=photos,
                                  idempotency_key=message.message_id, timeout=settings.open311_client_timeout_s)
    session.add(Open311Transmission(report_id=report.id, partner_id=partner_id, remote_id=created.remote_id,
                                    token=created.token, sent_at=session.scalar(select(func.clock_timestamp()))))
    partner = session.get(Partner, partner_id)
    remote_name = f"demande n° {created.remote_id}" if created.remote_id else f"jeton {created.token}"
    triage.comment(session=session, report=report, actor=None,
                   note=f"Transmis à {partner.name} par Open311 ({remote_name}).",
                   event_data={"open311_partner": partner.name, "open311_remote_id": created.remote_id,
                               "open311_token": created.token})
    message.data = {**message.data, "remote_id": created.remote_id, "token": created.token}


def _photos(settings: Settings, report: Report) -> list[bytes]:
    """The display renditions of the resident's photos (never the originals, which GUSP does not keep)."""
    store = photo_storage.from_settings(settings)
    found = []
    for photo in report.photos:
        if photo.kind == "signalement":
            with store.open(photo.display_key) as stream:
                found.append(stream.read())
    return found
