"""Request and response shapes of the API: XCreate for input, XPublic for public views.

Validation errors raised here are `PydanticCustomError`s whose type is our stable error code
and whose message is French; `gusp.api.errors` turns them into `{"code", "message", "field"}`.
"""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gusp import localtime, states

DESCRIPTION_MAX = 4000
_PHONE_FR = re.compile(r"^(?:\+33|0033|0)[1-9]\d{8}$")
_PHONE_INTL = re.compile(r"^\+\d{7,15}$")
_PHONE_ANY = re.compile(r"^\+?[\d\s.\-()/]{4,32}$")  # digits and the usual separators, as written abroad


def _blank_to_none(value: object) -> object:
    """HTML forms send empty strings for untouched fields: treat them as absent."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]


def normalise_phone(raw: str) -> str:
    compact = re.sub(r"[\s.\-()/]", "", raw)
    if _PHONE_FR.match(compact):
        return "0" + compact[-9:]
    if _PHONE_INTL.match(compact):
        return compact
    raise PydanticCustomError(
        "telephone_invalide", "Numéro de téléphone invalide : indiquez par exemple 06 12 34 56 78."
    )


def lenient_phone(raw: str) -> str:
    """A French or international number normalised; any other plausible number kept as written."""
    try:
        return normalise_phone(raw)
    except PydanticCustomError:
        if _PHONE_ANY.match(raw) and 4 <= sum(c.isdigit() for c in raw) <= 20:
            return " ".join(raw.split())
        raise


class ReportCreate(BaseModel):
    """The fields of a new report, as sent by the multipart form of `POST /api/v1/reports`."""

    model_config = ConfigDict(str_strip_whitespace=True)

    category: str = Field(description="Code d'une catégorie (voir `GET /api/v1/categories`).", max_length=64)
    description: str = Field(
        "",
        max_length=DESCRIPTION_MAX,
        description="Ce qui ne va pas, en quelques mots (obligatoire sans photo).",
    )
    lat: float = Field(ge=-90, le=90, description="Latitude WGS84 (degrés décimaux).")
    lon: float = Field(ge=-180, le=180, description="Longitude WGS84 (degrés décimaux).")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="Précision de la position, en mètres.")
    contact_name: OptionalText = Field(None, max_length=200, description="Nom du déclarant (facultatif).")
    contact_email: OptionalText = Field(None, max_length=320, description="E-mail du déclarant (facultatif).")
    contact_phone: OptionalText = Field(None, max_length=32, description="Téléphone du déclarant (facultatif).")
    contact_consent: bool = Field(
        False, description="Le déclarant accepte que ses coordonnées soient conservées pour le suivi."
    )
    source: states.Source = Field(states.Source.API, description="`web` (page publique) ou `api`.")

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise PydanticCustomError("email_invalide", "Adresse e-mail invalide.") from None

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if (info.context or {}).get("any_phone"):  # Open311: a client abroad sends its own national format
            return lenient_phone(value)
        return normalise_phone(value)

    @field_validator("source")
    @classmethod
    def _source(cls, value: states.Source) -> states.Source:
        if value is states.Source.AGENT:
            raise PydanticCustomError(
                "source_invalide", "La source « agent » est réservée aux agents connectés."
            )
        if value is states.Source.OPEN311:  # bound to a client's API key: see gusp.open311
            raise PydanticCustomError(
                "source_invalide", "La source « open311 » est réservée à l'interface Open311 (/open311/v2)."
            )
        return value

    @model_validator(mode="after")
    def _consent(self) -> ReportCreate:
        if self.has_contact and not self.contact_consent:
            raise PydanticCustomError(
                "consentement_manquant",
                "Pour laisser vos coordonnées, cochez la case qui autorise leur conservation.",
                {"field": "contact_consent"},
            )
        return self

    @property
    def has_contact(self) -> bool:
        return any((self.contact_name, self.contact_email, self.contact_phone))


class CategoryPublic(BaseModel):
    code: str
    label: str
    description: str | None = None
    icon: str | None = None
    photos_public: bool = Field(True, description="Faux : les photos de cette catégorie ne sont jamais publiques.")
    location_public: str = Field(
        "exact", description="`exact`, ou `quartier` : le lieu n'est publié que par son quartier (pas de coordonnées)."
    )


class QuartierRef(BaseModel):
    code: str
    nom: str


class AttributionPublic(BaseModel):
    kind: states.Attribution = Field(description="`perimetre` ou `hors_perimetre`.")
    quartier: QuartierRef | None = Field(None, description="Le quartier dont le périmètre contient le point.")
    nearest_quartier: QuartierRef | None = Field(None, description="Hors périmètre : le quartier le plus proche.")
    distance_m: float | None = Field(None, description="Hors périmètre : distance géodésique au plus proche (m).")


class LocationPublic(BaseModel):
    lat: float
    lon: float
    accuracy_m: float | None = None


class PhotoPublic(BaseModel):
    url: str
    thumbnail_url: str
    width: int
    height: int
    thumbnail_width: int
    thumbnail_height: int


class PublicEvent(BaseModel):
    """A step of the public timeline: status changes and notes meant for the reporter."""

    at: localtime.LocalDatetime
    kind: str
    status: states.ReportStatus | None = None
    status_label: str | None = None
    note: str | None = None


class ReportPublic(BaseModel):
    """What anyone may see of a report: never the reporter's contact details nor internal notes."""

    reference: str = Field(examples=["GUSP-2026-000123"])
    status: states.ReportStatus
    status_label: str
    category: CategoryPublic
    description: str = Field(description="Texte du déclarant, numéros de téléphone et adresses e-mail masqués.")
    location: LocationPublic | None = Field(
        description="Null pour une catégorie sensible : le lieu n'est public que par son quartier (`attribution`)."
    )
    published: bool = Field(
        True, description="Faux tant qu'un coordinateur n'a pas publié la description et les photos (modération a priori)."
    )
    attribution: AttributionPublic
    photos: list[PhotoPublic]
    after_photos: list[PhotoPublic] = Field(default_factory=list, description="Photos « après » du partenaire.")
    similar_count: int = Field(0, description="Signalements similaires rattachés à celui-ci.")
    duplicate_of: str | None = Field(None, description="Référence du signalement suivi à la place de celui-ci.")
    timeline: list[PublicEvent] = Field(default_factory=list)
    created_at: localtime.LocalDatetime
    follow_url: str
    handled_by: str | None = Field(None, description="Nom du partenaire chargé du signalement, s'il y en a un.")
    expected_by: localtime.LocalDatetime | None = Field(None, description="Échéance de traitement, tant que le signalement est ouvert.")


T = TypeVar("T")


class NearbyReport(BaseModel):
    """An open report of the same category close by: perhaps the very problem one is about to report."""

    reference: str
    status: states.ReportStatus
    status_label: str
    description: str
    distance_m: float
    created_at: localtime.LocalDatetime
    thumbnail_url: str | None


class ListOf(BaseModel, Generic[T]):
    data: list[T]
    count: int


class ErrorBody(BaseModel):
    code: str = Field(description="Code stable, à tester par les clients.")
    message: str = Field(description="Message en français, à montrer à l'utilisateur.")
    field: str | None = Field(None, description="Le champ concerné, s'il y en a un.")
