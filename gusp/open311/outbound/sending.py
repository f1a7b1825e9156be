"""A report handed to a partner reached by Open311 becomes an outbox message, in the transaction of
the assignment: if the assignment is rolled back, nothing is sent; once committed, it will be.

The form is decided now (the partner's service code, the place, the description with GUSP's
reference) and kept on the message, so the outbox shows what goes out. Never the reporter's
contact details: partners get what they need to act, as by mail. Photos are read when sending.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from gusp import notify, states
from gusp.config import Settings
from gusp.models import Category, OutboxMessage, Partner, Report
from gusp.models.open311 import Open311Transmission, PartnerOpen311
from gusp.public import visibility

KIND = "open311_request"


def of_partner(partner_id: int) -> tuple[ColumnElement[bool], ...]:
    """The where-clauses of this partner's Open311 messages."""
    return (OutboxMessage.kind == KIND, OutboxMessage.data["partner_id"].as_integer() == partner_id)


def report_assigned(*, session: Session, settings: Settings, report: Report, partner: Partner
                    ) -> OutboxMessage | None:
    """Queue the report for the partner's server, unless it has no active link or has it already."""
    link = session.get(PartnerOpen311, partner.id)
    if link is None or not link.active:
        return None
    already = session.scalar(select(func.count()).select_from(Open311Transmission).where(
        Open311Transmission.report_id == report.id, Open311Transmission.partner_id == partner.id))
    waiting = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        *of_partner(partner.id), OutboxMessage.report_id == report.id,
        OutboxMessage.status == states.OutboxStatus.PENDING))
    if already or waiting:
        return None
    fields = request_fields(session=session, settings=settings, report=report, link=link)
    return notify.enqueue(
        session=session, kind=KIND, recipient=link.endpoint,
        subject=f"Open311 : {report.reference} vers {partner.name}",
        text=json.dumps(fields, ensure_ascii=False, indent=1), html=None, report_id=report.id,
        data={"partner_id": partner.id, "fields": fields}, message_id=f"<open311-{uuid.uuid4().hex}@gusp>",
    )


def request_fields(*, session: Session, settings: Settings, report: Report, link: PartnerOpen311
                   ) -> list[list[str]]:
    """The form of `POST requests` (without the key, added when sending), as name/value pairs."""
    lat, lon = session.execute(select(func.ST_Y(Report.location), func.ST_X(Report.location))
                               .where(Report.id == report.id)).one()
    code = (link.service_codes or {}).get(report.category_code, report.category_code)
    place = _place(report)
    category = session.get(Category, report.category_code)
    text = "\n\n".join(p for p in (
        report.description.strip(),
        f"Signalement GUSP {report.reference} ({category.label if category else report.category_code}, {place}).",
    ) if p)
    fields = [["service_code", code], ["lat", f"{lat:.7f}"], ["long", f"{lon:.7f}"], ["description", text],
              ["address_string", place]]
    if link.jurisdiction_id:
        fields.insert(0, ["jurisdiction_id", link.jurisdiction_id])
    if link.photos == "media_url" and settings.public_url:
        base = settings.public_url.rstrip("/")
        # the partner's server fetches them without signing in: only photos the public may see
        fields += [["media_url", f"{base}/media/{p.display_key}"]
                   for p in visibility.public_photos(report, "signalement")]
    return fields


def _place(report: Report) -> str:
    """The quartier and commune: a help for the partner, never an address a client wrote."""
    if report.quartier is not None:
        return ", ".join(p for p in (report.quartier.nom, report.quartier.commune) if p)
    if report.nearest_quartier is not None:
        return f"hors périmètre, près de {report.nearest_quartier.nom}"
    return "hors périmètre"
