"""`POST requests`: an Open311 form checked, its photo fetched, then the ordinary intake.

Three steps, so that no transaction stays open while a remote server sends a photo: `check`
(the key, the service, every field; reads only), `fetch_media` (outside the database), `create`
(`intake.create_report`, the path every report takes: validation, attribution, duplicates,
routing, receipt). Contact details are kept only with the `consentement` attribute, as on the
public form; `device_id` and `account_id` are not kept at all.
"""

from __future__ import annotations

import io
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pydantic
from sqlalchemy.orm import Session

from gusp import errors, intake, schemas, states
from gusp.config import Settings
from gusp.models import Report
from gusp.open311 import clients, media, services
from gusp.storage import PhotoStorage

SERVICE_NOTICE = (
    "Signalement reçu : la coordination GUSP va le qualifier puis le confier au partenaire compétent. "
    "Suivez-le avec son identifiant."
)
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
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
           "device_id", "account_id", "first_name", "last_name", "phone", "description", "media_url")


@dataclass(frozen=True)
class Submission:
    client_id: int
    client_name: str
    data: schemas.ReportCreate
    media_url: str | None
    address_string: str | None


def check(*, session: Session, form: Mapping[str, Sequence[str]], query_api_key: str | None = None) -> Submission:
    """The client behind `api_key` (403 otherwise), the service (404), then every field at once (400)."""
    fields, attributes, problems = _split(form)
    client = clients.resolve_key(session=session, value=fields.get("api_key") or query_api_key)
    if client is None:
        raise errors.Forbidden(
            "cle_api_invalide", "Clé d'API (api_key) absente ou invalide : impossible de créer la demande.",
            field="api_key",
        )
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
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p) or None
    try:
        data = schemas.ReportCreate.model_validate({
            "category": code,
            "description": fields.get("description") or "",
            "lat": lat,
            "lon": lon,
            "accuracy_m": parsed.accuracy_m,
            "contact_name": name,
            "contact_email": fields.get("email"),
            "contact_phone": fields.get("phone"),
            "contact_consent": parsed.consent,
        })
    except pydantic.ValidationError as invalid:
        raise errors.InvalidFields([_from_pydantic(e) for e in invalid.errors()]) from None
    return Submission(
        client_id=client.id, client_name=client.name, data=data, media_url=fields.get("media_url"),
        address_string=fields.get("address_string"),
    )


def fetch_media(submission: Submission, *, settings: Settings) -> list[bytes]:
    """The photo of `media_url`, if any; called outside any transaction."""
    if not submission.media_url:
        return []
    return [media.fetch(submission.media_url, settings=settings)]


def create(
    *, session: Session, settings: Settings, storage: PhotoStorage, submission: Submission, photos: Sequence[bytes]
) -> Report:
    """The ordinary intake, with source `open311` and the client in the report and its first event."""
    extra: dict[str, object] = {"open311_client": submission.client_name, "open311_client_id": submission.client_id}
    if submission.address_string:
        extra["address_string"] = submission.address_string  # for staff; never shown by GET
    if submission.media_url:
        extra["media_url"] = submission.media_url
    report, _ = intake.create_report(
        session=session,
        settings=settings,
        storage=storage,
        data=submission.data,
        uploads=[io.BytesIO(p) for p in photos],
        source=states.Source.OPEN311,
        open311_client_id=submission.client_id,
        event_data=extra,
    )
    report.open311_token = uuid.uuid4().hex
    session.flush()
    return report


def created(report: Report) -> list[dict[str, object]]:
    """The answer to POST: the id at once (service type `realtime`), and a token for `GET tokens`."""
    return [{
        "service_request_id": report.reference,
        "token": report.open311_token,
        "service_notice": SERVICE_NOTICE,
        "account_id": None,
    }]


def _split(form: Mapping[str, Sequence[str]]) -> tuple[dict[str, str], dict[str, list[str]], list[errors.GuspError]]:
    """Plain fields (each at most once, blank = absent) and `attribute[code]` / `attribute[code][]` values."""
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    problems: list[errors.GuspError] = []
    for key, values in form.items():
        if match := _ATTRIBUTE.match(key):
            attributes.setdefault(match.group(1), []).extend(values)
            continue
        if key not in _SINGLE:
            continue  # other clients' extra fields are ignored, as "optional" asks
        present = [v.strip() for v in values if v and v.strip()]
        if len(present) > 1:
            problems.append(errors.BadRequest("champ_en_double", f"Le champ {key} est envoyé plusieurs fois.",
                                              field=key))
        elif present:
            fields[key] = present[0]
    return fields, attributes, problems


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
    if kind == "consentement_manquant":
        return errors.BadRequest(
            kind, "Pour transmettre e-mail, nom ou téléphone du déclarant, envoyez "
            f"attribute[{services.CONSENT}]=oui : il accepte qu'ils soient conservés pour le suivi.", field=field,
        )
    if kind in ("email_invalide", "telephone_invalide", "source_invalide"):
        return errors.BadRequest(kind, f"{field} : {error['msg']}", field=field)
    return errors.BadRequest("champ_invalide", f"{field} : valeur invalide.", field=field)
