"""A partner's Open311 link: its server's address, our key there, how our categories map to its
services, how photos travel. Set by admins; the key is never shown back (only its first characters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import errors, partners, states
from gusp.config import Settings
from gusp.models import Category, OutboxMessage, Report
from gusp.models.open311 import Open311Transmission, PartnerOpen311
from gusp.open311.outbound import sending

PHOTO_MODES = ("upload", "media_url", "none")
ENDPOINT_MAX = 300
KEY_MAX = 200
CODE_MAX = 100
KEY_SHOWN = 6
FAILURES_SHOWN = 20


@dataclass(frozen=True)
class Failure:
    message_id: int
    reference: str | None
    attempts: int
    error: str | None
    at: datetime


@dataclass(frozen=True)
class LinkState:
    link: PartnerOpen311
    sent: int
    pending: int
    failures: list[Failure]


def get_link(*, session: Session, partner_id: int) -> PartnerOpen311:
    partners.get_partner(session=session, partner_id=partner_id)
    link = session.get(PartnerOpen311, partner_id)
    if link is None:
        raise errors.NotFound("liaison_open311_introuvable",
                              f"Le partenaire n° {partner_id} ne reçoit pas ses signalements par Open311.")
    return link


def set_link(
    *,
    session: Session,
    settings: Settings,
    partner_id: int,
    endpoint: str,
    api_key: str | None,
    jurisdiction_id: str | None = None,
    service_codes: Mapping[str, str] | None = None,
    photos: str = "upload",
    active: bool = True,
    poll_updates: bool = True,
) -> PartnerOpen311:
    """Create or replace the link; without `api_key` an existing link keeps its key."""
    partners.get_partner(session=session, partner_id=partner_id)
    link = session.get(PartnerOpen311, partner_id)
    problems: list[errors.GuspError] = []
    endpoint = _endpoint(endpoint, problems)
    if api_key is None and link is None:
        problems.append(_invalid("api_key", "La clé d'API du serveur du partenaire est obligatoire."))
    elif api_key is not None and not _printable(api_key, KEY_MAX):
        problems.append(_invalid("api_key", f"Clé d'API invalide : 1 à {KEY_MAX} caractères visibles."))
    codes = _service_codes(session, dict(service_codes or {}), problems)
    if photos not in PHOTO_MODES:
        problems.append(_invalid("photos", "Mode de photos inconnu : upload, media_url ou none."))
    elif photos == "media_url" and not settings.public_url:
        problems.append(_invalid("photos", "Le mode media_url demande GUSP_PUBLIC_URL : sans adresse publique, "
                                 "le partenaire ne peut pas télécharger les photos. Choisissez upload."))
    jurisdiction = (jurisdiction_id or "").strip() or None
    if jurisdiction and not _printable(jurisdiction, KEY_MAX):
        problems.append(_invalid("jurisdiction_id", f"jurisdiction_id : {KEY_MAX} caractères visibles au plus."))
    if problems:
        raise errors.InvalidFields(problems)
    if link is None:
        link = PartnerOpen311(partner_id=partner_id)
        session.add(link)
    link.endpoint = endpoint
    if api_key is not None:
        link.api_key = api_key
    link.jurisdiction_id = jurisdiction
    link.service_codes = codes
    link.photos = photos
    link.active = active
    link.poll_updates = poll_updates
    link.updated_at = datetime.now(UTC)
    session.flush()
    return link


def delete_link(*, session: Session, partner_id: int) -> None:
    """The partner goes back to mail only; what was sent stays recorded."""
    session.delete(get_link(session=session, partner_id=partner_id))
    session.flush()


def state(*, session: Session, partner_id: int) -> LinkState:
    """The link with what went out: sent, waiting, failed (visible until retried)."""
    link = get_link(session=session, partner_id=partner_id)
    sent = session.scalar(select(func.count()).select_from(Open311Transmission)
                          .where(Open311Transmission.partner_id == partner_id)) or 0
    pending = session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(*sending.of_partner(partner_id), OutboxMessage.status == states.OutboxStatus.PENDING)) or 0
    rows = session.execute(
        select(OutboxMessage, Report.reference)
        .outerjoin(Report, Report.id == OutboxMessage.report_id)
        .where(*sending.of_partner(partner_id), OutboxMessage.status == states.OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc()).limit(FAILURES_SHOWN)
    ).all()
    failures = [Failure(message_id=m.id, reference=ref, attempts=m.attempts, error=m.last_error,
                        at=m.available_at) for m, ref in rows]
    return LinkState(link=link, sent=sent, pending=pending, failures=failures)


def retry_failed(*, session: Session, partner_id: int) -> int:
    """Put the partner's failed messages back in the queue (after fixing the key or the mapping)."""
    get_link(session=session, partner_id=partner_id)
    failed = session.scalars(
        select(OutboxMessage).where(*sending.of_partner(partner_id),
                                    OutboxMessage.status == states.OutboxStatus.FAILED)
    ).all()
    now = datetime.now(UTC)
    for message in failed:
        message.status = states.OutboxStatus.PENDING
        message.attempts = 0
        message.available_at = now
    session.flush()
    return len(failed)


def shown_key(link: PartnerOpen311) -> str:
    return link.api_key[:KEY_SHOWN] + "…"


def _endpoint(value: str, problems: list[errors.GuspError]) -> str:
    value = (value or "").strip().rstrip("/")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username
            or parts.password or parts.query or parts.fragment or len(value) > ENDPOINT_MAX
            or any(c.isspace() for c in value)):
        problems.append(_invalid("endpoint", "Adresse du serveur Open311 invalide : une URL http(s) complète, sans "
                                 "identifiants ni paramètres, par exemple https://partenaire.example/open311/v2."))
    return value


def _service_codes(session: Session, codes: dict[str, str], problems: list[errors.GuspError]) -> dict[str, str]:
    known = set(session.scalars(select(Category.code).where(Category.code.in_(list(codes)))))
    cleaned: dict[str, str] = {}
    for category, remote in codes.items():
        if category not in known:
            problems.append(_invalid("service_codes", f"Catégorie inconnue : « {category} »."))
        elif not isinstance(remote, str) or not _printable(remote.strip(), CODE_MAX):
            problems.append(_invalid("service_codes", f"Code de service du partenaire invalide pour « {category} »."))
        else:
            cleaned[category] = remote.strip()
    return cleaned


def _printable(value: str, limit: int) -> bool:
    return 0 < len(value) <= limit and value.isprintable()


def _invalid(field: str, message: str) -> errors.Unprocessable:
    return errors.Unprocessable("liaison_open311_invalide", message, field=field)
