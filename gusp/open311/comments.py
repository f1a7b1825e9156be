"""`POST servicerequestupdates` (mySociety's extension): a resident's comment sent by a client.

The comment lands as a public comment event of the report and every coordinator is told by mail.
Its text is stored as sent (staff read it whole) and reaches the public only through the public
views (`gusp.public`, which the Open311 GETs use too) — which is where public text is redacted: no
redaction function of its own here, so that the one public view layer applies to it like to any
public note. A client has
no say on the workflow: the `status` it sends (FixMyStreet sends the state of its own copy) is
recorded for staff, never applied. Photos (file parts or `media_url`) join the report's photos
while there is room. The author's names, e-mail and phone are not kept: there is no consent
for them here, and they are not the reporter's (whose details have their own table and retention).

Each comment is recorded once: by the client's `update_id`, by its `Idempotency-Key`, or as the
same form again within the dedupe window (`gusp.open311.idempotency`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import errors, intake, notify, schemas, triage
from gusp.config import Settings
from gusp.models import Report
from gusp.models.open311 import Open311UpdateReceipt
from gusp.open311 import clients, idempotency, media, query, submit
from gusp.storage import PhotoStorage

ID_MAX = 100
STATUS_MAX = 64
_CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")


@dataclass(frozen=True)
class Comment:
    client_id: int
    client_name: str
    report_id: int
    text: str
    media_urls: list[str]
    photos: list[bytes]
    update_id: str | None
    idempotency_key: str | None
    fingerprint: str
    data: dict[str, object] = field(default_factory=dict)  # for the event: client, its status, what was left out


def check(
    *, session: Session, settings: Settings, form: submit.Form, query_api_key: str | None = None,
    idempotency_key: str | None = None,
) -> Comment:
    """The client (403), the request (404), then the fields (400)."""
    fields = {name: _single(form.fields, name) for name in (
        "api_key", "service_request_id", "update_id", "status", "description", "updated_datetime",
        *_CONTACT_FIELDS)}
    client = clients.resolve_key(session=session, value=fields["api_key"] or query_api_key)
    if client is None:
        raise errors.Forbidden(
            "cle_api_invalide", "Clé d'API (api_key) absente ou invalide : impossible d'ajouter la mise à jour.",
            field="api_key",
        )
    key = idempotency.scoped_key(client.id, idempotency_key)
    reference = fields["service_request_id"]
    if not reference:
        raise errors.BadRequest("service_request_id_manquant", "Le champ service_request_id est obligatoire.",
                                field="service_request_id")
    report = session.scalars(select(Report).where(Report.reference == reference.upper())).first()
    if report is None:
        raise errors.NotFound("service_request_introuvable", f"Aucune demande ne porte l'identifiant « {reference} ».",
                              field="service_request_id")
    text = fields["description"] or ""
    media_urls = list(dict.fromkeys(v.strip() for n in ("media_url", "media_url[]")
                                    for v in form.fields.get(n, []) if v.strip()))
    photos = form.photos()
    problems = _problems(fields, text=text, has_photo=bool(photos or media_urls), settings=settings)
    if problems:
        raise errors.InvalidFields(problems)
    data: dict[str, object] = {"open311_client": client.name, "open311_client_id": client.id}
    for name, label in (("update_id", "open311_update_id"), ("status", "open311_status"),
                        ("updated_datetime", "open311_updated_datetime")):
        if fields[name]:
            data[label] = fields[name]
    if any(fields[n] for n in _CONTACT_FIELDS):
        data["contact_dropped"] = True
    if ignored := sorted({m.group(1) for n in form.fields if (m := submit.ATTRIBUTE.match(n))}):
        data["ignored_attributes"] = ignored[:submit.RECORDED_MAX]
    room = max(0, settings.max_photos - len(report.photos))
    kept = photos[:room]
    urls = media_urls[:room - len(kept)]
    if len(photos) + len(media_urls) > len(kept) + len(urls):
        data["photos_ignored"] = len(photos) + len(media_urls) - len(kept) - len(urls)
    return Comment(
        client_id=client.id, client_name=client.name, report_id=report.id, text=text.strip(), media_urls=urls,
        photos=kept, update_id=fields["update_id"], idempotency_key=key,
        fingerprint=idempotency.fingerprint(form.fields, [d for _, d in form.files]), data=data,
    )


def earlier(*, session: Session, settings: Settings, comment: Comment) -> Open311UpdateReceipt | None:
    """The receipt of a first try of this comment, if it is a retry (same update_id, key or form)."""
    receipts = select(Open311UpdateReceipt).where(Open311UpdateReceipt.client_id == comment.client_id)
    for column, value in ((Open311UpdateReceipt.update_id, comment.update_id),
                          (Open311UpdateReceipt.idempotency_key, comment.idempotency_key)):
        if value is not None:
            found = session.scalars(receipts.where(column == value)).first()
            if found is not None and found.fingerprint != comment.fingerprint:
                raise idempotency.conflict()
            if found is not None:
                return found
    if comment.update_id is not None or comment.idempotency_key is not None or not settings.open311_dedupe_minutes:
        return None
    since = session.scalar(select(func.now())) - timedelta(minutes=settings.open311_dedupe_minutes)
    return session.scalars(receipts.where(Open311UpdateReceipt.fingerprint == comment.fingerprint,
                                          Open311UpdateReceipt.received_at >= since)).first()


def fetch_media(comment: Comment, *, settings: Settings) -> list[bytes]:
    """Called outside any transaction, like the photos of a new request."""
    return [media.fetch(url, settings=settings) for url in comment.media_urls]


def create(*, session: Session, settings: Settings, storage: PhotoStorage, comment: Comment,
           photos: Sequence[bytes]) -> Open311UpdateReceipt:
    """The public comment event, its photos, the coordinators' mail and the receipt, in one transaction."""
    by_update = f"open311:{comment.client_id}:update:{comment.update_id}" if comment.update_id else None
    idempotency.lock(session, client_id=comment.client_id, key=comment.idempotency_key or by_update,
                     digest=comment.fingerprint)
    if (receipt := earlier(session=session, settings=settings, comment=comment)) is not None:
        return receipt
    session.execute(select(Report.id).where(Report.id == comment.report_id).with_for_update())  # photo positions
    report = session.get(Report, comment.report_id)
    processed = intake.process_uploads([io.BytesIO(p) for p in [*comment.photos, *photos]], settings=settings)
    data = {**comment.data, "photos": len(processed)} if processed else comment.data
    event = triage.comment(session=session, report=report, actor=None, public=True, event_data=data,
                           note=comment.text or "Photo ajoutée par le déclarant.")
    intake.store_files(session=session, storage=storage, processed=processed)
    intake.add_photo_rows(session=session, report=report, processed=processed, now=event.at)
    receipt = Open311UpdateReceipt(
        client_id=comment.client_id, report_id=report.id, event_id=event.id, update_id=comment.update_id,
        idempotency_key=comment.idempotency_key, fingerprint=comment.fingerprint, received_at=event.at,
    )
    session.add(receipt)
    session.flush()
    notify.staff_notice(session=session, settings=settings, report=report,
                        intro=f"nouveau commentaire reçu de {comment.client_name}", text=comment.text or None,
                        text_label="Commentaire (public)", data={"event_id": event.id})
    return receipt


def created(receipt: Open311UpdateReceipt) -> list[dict[str, object]]:
    """The answer FixMyStreet reads: `request_update[0].update_id`, GUSP's id of the comment."""
    return [{"update_id": str(receipt.event_id)}]


def _single(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v.strip() for v in form.get(name, []) if v and v.strip()]
    return values[0] if values else None


def _problems(fields: dict[str, str | None], *, text: str, has_photo: bool, settings: Settings
              ) -> list[errors.GuspError]:
    problems: list[errors.GuspError] = []
    if not text.strip() and not has_photo:
        problems.append(errors.BadRequest("commentaire_vide", "La mise à jour est vide : envoyez description "
                                          "(ou une photo).", field="description"))
    if len(text) > schemas.DESCRIPTION_MAX:
        problems.append(errors.BadRequest("texte_trop_long", f"description : texte trop long "
                                          f"({schemas.DESCRIPTION_MAX} caractères au plus).", field="description"))
    for name, limit in (("update_id", ID_MAX), ("status", STATUS_MAX)):
        if fields[name] and len(fields[name]) > limit:
            problems.append(errors.BadRequest("champ_invalide", f"{name} : {limit} caractères au plus.", field=name))
    if fields["updated_datetime"]:
        try:
            query.parse_datetime(fields["updated_datetime"], field="updated_datetime", tz=ZoneInfo(settings.timezone))
        except errors.GuspError as error:
            problems.append(error)
    return problems
