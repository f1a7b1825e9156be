"""`POST requests`: an Open311 form checked, its photos fetched, then the ordinary intake.

Three steps, so that no transaction stays open while a remote server sends a photo: `check`
(the key, the service, every field; reads only) and `earlier` (is it a retry?), `fetch_media`
(outside the database), `create` (`intake.create_report`, the path every report takes:
validation, attribution, duplicates, routing, receipt).

What real clients send is taken, not refused: photos as file parts (`photo1`, `photo2`…, as
FixMyStreet uploads them) and several `media_url`; attributes GUSP does not define are ignored
(their names recorded on the created event, never their values: GUSP cannot tell whether they are
personal data); a phone in another country's format is kept as written. Contact details are kept
only with the `consentement` attribute, as on the public form; without it the report is taken and
the contact details are dropped. `device_id` and `account_id` are not kept (`account_id` is only
echoed in the answer).
"""

from __future__ import annotations

import io
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pydantic
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import errors, intake, schemas, states
from gusp.config import Settings
from gusp.models import Report
from gusp.open311 import clients, idempotency, media, services
from gusp.storage import PhotoStorage

SERVICE_NOTICE = (
    "Signalement reçu : la coordination GUSP va le qualifier puis le confier au partenaire compétent. "
    "Suivez-le avec son identifiant."
)
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_MEDIA_URL = frozenset({"media_url", "media_url[]"})
_PHOTO_PART = re.compile(r"^(?:photo|media)(\d{0,2})$")  # FixMyStreet: photo1, photo2…
RECORDED_MAX = 20  # names of ignored attributes or files recorded on the event
# GUSP's field names, as the Open311 client knows them.
_FIELDS = {
    "category": "service_code",
    "description": "description",
    "lat": "lat",
    "lon": "long",
    "accuracy_m": f"attribute[{services.ACCURACY}]",
    "contact_name": "first_name",
    "contact_email": "email",
    "contact_phone": "phone",
    "contact_consent": f"attribute[{services.CONSENT}]",
}
_SINGLE = ("api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id", "email",
           "device_id", "account_id", "first_name", "last_name", "phone", "description")


@dataclass(frozen=True)
class Form:
    """A POST body: its text fields by name (a name may repeat) and its file parts."""

    fields: Mapping[str, Sequence[str]]
    files: Sequence[tuple[str, bytes]] = ()  # (part name, bytes) in the order sent

    def photos(self) -> list[bytes]:
        """`photo`, `photo1`, `photo2`… (and `media…`), by their number."""
        found = [(int(m.group(1) or 0), i, data) for i, (name, data) in enumerate(self.files)
                 if (m := _PHOTO_PART.match(name))]
        return [data for _, _, data in sorted(found)]

    def other_files(self) -> list[str]:
        return [name for name, _ in self.files if not _PHOTO_PART.match(name)]


@dataclass(frozen=True)
class Submission:
    client_id: int
    client_name: str
    data: schemas.ReportCreate
    media_urls: list[str]  # those there is room for, after the file parts
    photos: list[bytes]  # file parts, within the photo count
    address_string: str | None
    account_id: str | None
    idempotency_key: str | None  # scoped to the client
    fingerprint: str
    notes: dict[str, object] = field(default_factory=dict)  # what was left out, for staff


def check(
    *, session: Session, settings: Settings, form: Form, query_api_key: str | None = None,
    idempotency_key: str | None = None,
) -> Submission:
    """The client behind `api_key` (403 otherwise), the service (404), then every field at once (400)."""
    fields, attributes, media_urls, problems = _split(form.fields)
    client = clients.resolve_key(session=session, value=fields.get("api_key") or query_api_key)
    if client is None:
        raise errors.Forbidden(
            "cle_api_invalide", "Clé d'API (api_key) absente ou invalide : impossible de créer la demande.",
            field="api_key",
        )
    key = idempotency.scoped_key(client.id, idempotency_key)
    code = fields.get("service_code")
    if not code:
        raise errors.BadRequest("service_code_manquant", "Le champ service_code est obligatoire.", field="service_code")
    services.get_service(session=session, code=code)
    lat, lon = _location(fields, problems)
    try:
        parsed = services.parse_attributes(attributes)
    except errors.InvalidFields as invalid:
        problems.extend(invalid.errors)
        parsed = services.Attributes()
    if problems:
        raise errors.InvalidFields(problems)
    notes: dict[str, object] = {}
    contact = {
        "contact_name": " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p) or None,
        "contact_email": fields.get("email"),
        "contact_phone": fields.get("phone"),
    }
    if not parsed.consent and any(contact.values()):
        contact = dict.fromkeys(contact)  # no consent: the report is taken, its contact details are not
        notes["contact_dropped"] = True
    try:
        data = schemas.ReportCreate.model_validate(
            {"category": code, "description": fields.get("description") or "", "lat": lat, "lon": lon,
             "accuracy_m": parsed.accuracy_m, "contact_consent": parsed.consent, **contact},
            context={"any_phone": True},
        )
    except pydantic.ValidationError as invalid:
        raise errors.InvalidFields([_from_pydantic(e) for e in invalid.errors()]) from None
    photos = form.photos()
    kept_photos = photos[:settings.max_photos]
    room = settings.max_photos - len(kept_photos)
    if parsed.ignored:
        notes["ignored_attributes"] = parsed.ignored[:RECORDED_MAX]
    if other := form.other_files():
        notes["ignored_files"] = other[:RECORDED_MAX]
    if len(photos) > len(kept_photos):
        notes["photos_ignored"] = len(photos) - len(kept_photos)
    if len(media_urls) > room:
        notes["media_url_ignored"] = len(media_urls) - room
    return Submission(
        client_id=client.id, client_name=client.name, data=data, media_urls=media_urls[:room], photos=kept_photos,
        address_string=fields.get("address_string"), account_id=fields.get("account_id"), idempotency_key=key,
        fingerprint=idempotency.fingerprint(form.fields, [d for _, d in form.files]), notes=notes,
    )


def earlier(*, session: Session, settings: Settings, submission: Submission) -> Report | None:
    """The report a first try of this request created, if it is a retry."""
    return idempotency.earlier_report(
        session=session, settings=settings, client_id=submission.client_id, key=submission.idempotency_key,
        digest=submission.fingerprint, now=session.scalar(select(func.now())),
    )


def fetch_media(submission: Submission, *, settings: Settings) -> list[bytes]:
    """The photos of the `media_url`s there is room for; called outside any transaction."""
    return [media.fetch(url, settings=settings) for url in submission.media_urls]


def create(
    *, session: Session, settings: Settings, storage: PhotoStorage, submission: Submission, photos: Sequence[bytes]
) -> tuple[Report, bool]:
    """The ordinary intake, with source `open311` and the client in the report and its first event.

    The second item is True when a concurrent try created the report meanwhile.
    """
    idempotency.lock(session, client_id=submission.client_id, key=submission.idempotency_key,
                     digest=submission.fingerprint)
    if (report := earlier(session=session, settings=settings, submission=submission)) is not None:
        return report, True
    extra: dict[str, object] = {"open311_client": submission.client_name, "open311_client_id": submission.client_id}
    if submission.address_string:
        extra["address_string"] = submission.address_string  # for staff; never shown by GET
    if submission.media_urls:
        extra["media_url"] = submission.media_urls
    extra.update(submission.notes)
    report, replayed = intake.create_report(
        session=session,
        settings=settings,
        storage=storage,
        data=submission.data,
        uploads=[io.BytesIO(p) for p in [*submission.photos, *photos]],
        idempotency_key=submission.idempotency_key,
        source=states.Source.OPEN311,
        open311_client_id=submission.client_id,
        event_data=extra,
        request_fingerprint=submission.fingerprint,
    )
    if not replayed:
        report.open311_token = uuid.uuid4().hex
        session.flush()
    return report, replayed


def created(report: Report, submission: Submission) -> list[dict[str, object]]:
    """The answer to POST: the id at once (service type `realtime`), a token for `GET tokens`, and
    the client's own `account_id` back."""
    return [{
        "service_request_id": report.reference,
        "token": report.open311_token,
        "service_notice": SERVICE_NOTICE,
        "account_id": submission.account_id,
    }]


def _split(form: Mapping[str, Sequence[str]]
           ) -> tuple[dict[str, str], dict[str, list[str]], list[str], list[errors.GuspError]]:
    """Plain fields (each at most once, blank = absent), `attribute[code]` / `attribute[code][]`
    values and the `media_url`s (repeatable)."""
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    media_urls: list[str] = []
    problems: list[errors.GuspError] = []
    for key, values in form.items():
        if match := ATTRIBUTE.match(key):
            attributes.setdefault(match.group(1), []).extend(values)
            continue
        present = [v.strip() for v in values if v and v.strip()]
        if key in _MEDIA_URL:
            media_urls.extend(present)
            continue
        if key not in _SINGLE:
            continue  # other clients' extra fields are ignored, as "optional" asks
        if len(present) > 1:
            problems.append(errors.BadRequest("champ_en_double", f"Le champ {key} est envoyé plusieurs fois.",
                                              field=key))
        elif present:
            fields[key] = present[0]
    return fields, attributes, list(dict.fromkeys(media_urls)), problems


def _location(fields: dict[str, str], problems: list[errors.GuspError]) -> tuple[float | None, float | None]:
    """lat and long, both or neither; GUSP does not geocode an address_string or address_id."""
    raw_lat, raw_lon = fields.get("lat"), fields.get("long")
    if raw_lat is None and raw_lon is None:
        if fields.get("address_string") or fields.get("address_id"):
            message = ("GUSP ne sait pas situer une adresse : envoyez la position en lat et long (WGS84) ; "
                       "address_string peut l'accompagner.")
        else:
            message = "La position est obligatoire : envoyez lat et long (WGS84)."
        problems.append(errors.BadRequest("position_manquante", message, field="lat"))
        return None, None
    values = []
    for name, raw, bound in (("lat", raw_lat, 90), ("long", raw_lon, 180)):
        if raw is None:
            problems.append(errors.BadRequest("position_incomplete", "lat et long vont ensemble : envoyez les deux.",
                                              field=name))
            values.append(None)
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not -bound <= value <= bound:
            problems.append(errors.BadRequest(
                "position_invalide", f"{name} doit être un nombre en degrés décimaux, entre -{bound} et {bound}.",
                field=name,
            ))
            value = None
        values.append(value)
    return values[0], values[1]


def _from_pydantic(error: Mapping[str, object]) -> errors.BadRequest:
    """A pydantic error of ReportCreate in Open311 words: our own codes keep their French message."""
    ctx = error.get("ctx") or {}
    loc = [p for p in error.get("loc", ()) if isinstance(p, str)]
    gusp_field = str(ctx.get("field") or (loc[-1] if loc else ""))
    field = _FIELDS.get(gusp_field, gusp_field or None)
    kind = str(error["type"])
    if kind == "string_too_long":
        return errors.BadRequest("texte_trop_long", f"{field} : texte trop long ({ctx.get('max_length')} caractères "
                                 "au plus).", field=field)
    if kind in ("email_invalide", "telephone_invalide", "source_invalide"):
        return errors.BadRequest(kind, f"{field} : {error['msg']}", field=field)
    return errors.BadRequest("champ_invalide", f"{field} : valeur invalide.", field=field)
