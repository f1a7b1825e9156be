"""Taking a report in: validate, process photos, store their files, attribute, write the first event.

All or nothing: the report, its contact, its photos and its `created` event are written in the
caller's transaction. The photo files are written first, before any row names them, and never
removed by a failing request: a failed intake leaves no row, and at worst files that no row
names, which the media sweep removes (gusp.storage.sweep). A commit whose answer is lost thus
never costs a saved report its photos.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from geoalchemy2.elements import WKTElement
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp import categories, db, duplicates, errors, notify, photos, routing, states
from gusp.config import Settings
from gusp.geo import attribution
from gusp.ops import metrics
from gusp.photos import blur
from gusp.models import Report, ReporterContact, ReportEvent, ReportPhoto, User
from gusp.schemas import ReportCreate
from gusp.storage import PhotoStorage, sweep

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_CHUNK = 1024 * 1024


def create_report(
    *,
    session: Session,
    settings: Settings,
    storage: PhotoStorage,
    data: ReportCreate,
    uploads: Sequence[BinaryIO] = (),
    idempotency_key: str | None = None,
    created_at: datetime | None = None,
    author: User | None = None,
    source: states.Source | None = None,
    open311_client_id: int | None = None,
    event_data: Mapping[str, object] | None = None,
    request_fingerprint: str | None = None,
) -> tuple[Report, bool]:
    """Create a report, or return the one this idempotency key already created (second item True).

    A signed-in member of staff reporting from the field is the report's author: source `agent`.
    Other channels (Open311) name their `source` and client; `event_data` joins the created event;
    `request_fingerprint` replaces the fields-and-photos one when the request says more (media URLs).
    """
    check_idempotency_key(idempotency_key)
    _check_request(session=session, settings=settings, data=data, uploads=uploads)
    fingerprint = request_fingerprint or (fingerprint_of(data, uploads) if idempotency_key else None)
    if idempotency_key and (existing := replay(session, idempotency_key, fingerprint)):
        return existing, True
    require_in_territory(session=session, settings=settings, lat=data.lat, lon=data.lon)
    processed = process_uploads(uploads, settings=settings)

    if idempotency_key:
        # A phone may resend while its first attempt is still running: serialise on the key.
        db.advisory_xact_lock(session, f"idempotency:{idempotency_key}")
        if existing := replay(session, idempotency_key, fingerprint):
            return existing, True
    store_files(session=session, storage=storage, processed=processed)
    similar = duplicates.likely_duplicates_at(
        session=session, settings=settings, category_code=data.category, lat=data.lat, lon=data.lon,
        now=created_at, limit=5,
    )
    report = _insert(
        session=session,
        settings=settings,
        data=data,
        similar=[r.reference for r, _ in similar],
        photo_count=len(processed),
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        created_at=created_at,
        author=author,
        source=source,
        open311_client_id=open311_client_id,
        event_data=event_data,
    )
    add_photo_rows(session=session, report=report, processed=processed, now=report.created_at)
    # Routing proposes the partner in charge; it is handed over when a coordinator qualifies it.
    partner = routing.partner_for(session=session, report=report)
    if partner is not None:
        report.partner_id = partner.id
        session.flush()
    notify.report_received(session=session, settings=settings, report=report)
    metrics.REPORTS_CREATED.labels(report.source).inc()
    return report, False


def require_in_territory(*, session: Session, settings: Settings, lat: float, lon: float) -> None:
    """Refuse a place outside the service area (422 `hors_territoire`): a wrong GPS fix, usually."""
    if not attribution.in_service_area(session=session, lat=lat, lon=lon, margin_m=settings.service_area_margin_m):
        raise errors.Unprocessable(
            "hors_territoire",
            "Ce lieu est en dehors du territoire couvert par le service : vérifiez la position.",
            field="location",
        )


def check_idempotency_key(key: str | None) -> None:
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise errors.BadRequest(
            "cle_idempotence_invalide",
            "L'en-tête Idempotency-Key doit compter 1 à 128 caractères ASCII visibles.",
            field="Idempotency-Key",
        )


def _check_request(*, session: Session, settings: Settings, data: ReportCreate, uploads: Sequence[BinaryIO]) -> None:
    problems: list[errors.GuspError] = []
    if categories.get_active(session=session, code=data.category) is None:
        problems.append(
            errors.Unprocessable(
                "categorie_inconnue", "Cette catégorie n'existe pas : choisissez-en une dans la liste.", field="category"
            )
        )
    if not data.description and not uploads:
        problems.append(
            errors.Unprocessable(
                "description_manquante",
                "Décrivez le problème en quelques mots, ou joignez une photo.",
                field="description",
            )
        )
    if len(uploads) > settings.max_photos:
        problems.append(
            errors.Unprocessable(
                "trop_de_photos", f"Vous pouvez joindre au plus {settings.max_photos} photos.", field="photos"
            )
        )
    if problems:
        raise errors.InvalidFields(problems)


def fingerprint_of(data: ReportCreate, uploads: Sequence[BinaryIO]) -> str:
    """What a retry must repeat: the fields and the bytes of every photo."""
    digest = hashlib.sha256(data.model_dump_json().encode())
    for upload in uploads:
        upload.seek(0)
        photo = hashlib.sha256()
        while chunk := upload.read(_CHUNK):
            photo.update(chunk)
        upload.seek(0)
        digest.update(photo.digest())
    return digest.hexdigest()


def replay(session: Session, key: str, fingerprint: str | None) -> Report | None:
    """The report this key already created, if the request repeats it; 422 if the key served another."""
    report = session.scalars(select(Report).where(Report.idempotency_key == key)).first()
    if report is not None and report.request_fingerprint != fingerprint:
        raise errors.Unprocessable(
            "idempotence_conflit",
            "Cette clé Idempotency-Key a déjà servi pour un autre signalement : utilisez-en une nouvelle.",
            field="Idempotency-Key",
        )
    return report


def process_uploads(uploads: Sequence[BinaryIO], *, settings: Settings) -> list[photos.ProcessedPhoto]:
    """Decode every photo before anything is written; a refusal names the photo by its index."""
    processed = []
    for index, upload in enumerate(uploads):
        upload.seek(0)
        try:
            processed.append(photos.process(upload, settings=settings, field="photos"))
        except errors.GuspError as error:
            error.details.setdefault("index", index)
            raise
    return processed


def _reference(session: Session, created_at: datetime, tz: ZoneInfo) -> str:
    number = session.scalar(text("SELECT nextval('report_reference_seq')"))
    return f"GUSP-{created_at.astimezone(tz).year}-{number:06d}"


def _insert(
    *,
    session: Session,
    settings: Settings,
    data: ReportCreate,
    similar: list[str],
    photo_count: int,
    idempotency_key: str | None,
    fingerprint: str | None,
    created_at: datetime | None,
    author: User | None,
    source: states.Source | None,
    open311_client_id: int | None,
    event_data: Mapping[str, object] | None,
) -> Report:
    tz = ZoneInfo(settings.timezone)
    now = created_at or session.scalar(text("SELECT now()"))
    where = attribution.attribute(session=session, lat=data.lat, lon=data.lon)
    source = states.Source.AGENT if author is not None else source or data.source
    report = Report(
        reference=_reference(session, now, tz),
        status=states.ReportStatus.NOUVEAU,
        source=source,
        created_by_user_id=author.id if author else None,
        category_code=data.category,
        description=data.description,
        location=WKTElement(f"POINT({data.lon!r} {data.lat!r})", srid=4326),
        accuracy_m=data.accuracy_m,
        attribution=where.kind,
        quartier_id=where.quartier_id,
        nearest_quartier_id=where.nearest_quartier_id,
        nearest_distance_m=where.nearest_distance_m,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        open311_client_id=open311_client_id,
        # GUSP_PUBLIC_MODERATION=before: a resident's text and photos wait for a coordinator; staff's do not
        published=settings.public_moderation == "after" or author is not None,
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    session.flush()
    if data.has_contact:
        session.add(
            ReporterContact(
                report_id=report.id,
                name=data.contact_name,
                email=data.contact_email,
                phone=data.contact_phone,
                consent=data.contact_consent,
                created_at=now,
            )
        )
    session.add(
        ReportEvent(
            report_id=report.id,
            kind=states.EventKind.CREATED,
            at=now,
            source=source,
            actor=author.full_name if author else None,
            actor_user_id=author.id if author else None,
            data={
                "status": states.ReportStatus.NOUVEAU.value,
                "category": data.category,
                "attribution": where.kind.value,
                "quartier_id": where.quartier_id,
                "photos": photo_count,
                "likely_duplicates": similar,  # for the coordinator who triages it
                **(event_data or {}),
            },
            note_public=True,
        )
    )
    session.flush()
    return report


def add_photo_rows(
    *,
    session: Session,
    report: Report,
    processed: Sequence[photos.ProcessedPhoto],
    now: datetime,
    kind: str = "signalement",
) -> None:
    """The rows of photos whose files `store_files` wrote."""
    first = len(report.photos)
    for offset, photo in enumerate(processed):
        session.add(ReportPhoto(report_id=report.id, kind=kind, created_at=now,
                                original_key=photo.original.key if photo.original else None,
                                blur_regions=blur.as_json(photo.regions, source=blur.FACE),
                                **ReportPhoto.columns(photo, position=first + offset)))
    session.flush()
    session.refresh(report)


def store_files(
    *, session: Session, storage: PhotoStorage, processed: Sequence[photos.ProcessedPhoto], originals: bool = True
) -> None:
    """Write the files of processed photos before any row names them; never undone (see the module's docstring).

    The keys are held against the media sweep until the transaction ends, so a file this
    request reuses cannot be swept before its row is committed. `originals`: also the unblurred
    originals (report photos keep theirs for staff; rows that cannot name one pass False).
    """
    renditions = [r for photo in processed for r in (photo.display, photo.thumbnail)]
    if originals:
        renditions += [photo.original for photo in processed if photo.original is not None]
    sweep.hold(session, [r.key for r in renditions])
    for rendition in renditions:
        storage.put(rendition.key, rendition.data)
