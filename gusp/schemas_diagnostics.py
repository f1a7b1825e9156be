"""Request and response shapes of walking diagnostics and their findings."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from gusp import bounds, schemas, states
from gusp.models.diagnostics import FindingKind

ROUTE_MAX_POINTS = 5000


class DiagnosticCreate(BaseModel):
    """A walk to come (or just done): where, when, who."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quartier: str = Field(max_length=64, description="Code du quartier parcouru.")
    date: dt.date = Field(description="Jour de la marche.")
    title: str = Field(min_length=1, max_length=200, examples=["Diagnostic en marchant — secteur Corsy nord"])
    participants: str = Field("", max_length=4000, description="Habitants, associations, élus présents (texte libre).")
    partner_ids: list[bounds.Id] = Field(default_factory=list, max_length=50, description="Partenaires invités.")
    route: dict | None = Field(
        None, description="Parcours prévu ou enregistré : une LineString GeoJSON en WGS84 (facultatif)."
    )


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    route: dict | None = Field(description="LineString GeoJSON en WGS84 ; null pour l'effacer.")


class FindingCreate(BaseModel):
    """A finding captured on a phone during the walk (multipart form fields)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    kind: FindingKind = Field(description="`probleme` (devient un signalement) ou `point_positif`.")
    category: schemas.OptionalText = Field(None, max_length=64, description="Catégorie : obligatoire pour un problème.")
    description: str = Field("", max_length=schemas.DESCRIPTION_MAX)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0, le=100_000)


class PartnerRef(BaseModel):
    id: int
    name: str


class Progress(BaseModel):
    """Where the problems found stand in the normal workflow."""

    problems: int
    open: int
    resolved: int  # résolus
    closed: int  # clos après résolution
    rejected: int
    treated: int = Field(description="Résolus ou clos : ce qui est réglé.")
    positive_points: int


class FindingRead(BaseModel):
    number: int
    kind: FindingKind
    kind_label: str
    description: str
    lat: float
    lon: float
    category: schemas.CategoryPublic | None = None
    report_reference: str | None = None
    status: states.ReportStatus | None = None
    status_label: str | None = None
    partner: PartnerRef | None = None
    photos: list[schemas.PhotoPublic] = Field(default_factory=list)
    created_at: dt.datetime


class DiagnosticRead(BaseModel):
    id: int
    quartier: schemas.QuartierRef
    date: dt.date
    title: str
    participants: str
    partners: list[PartnerRef]
    route: dict | None = None
    created_at: dt.datetime
    closed_at: dt.datetime | None = None
    progress: Progress


class DiagnosticDetail(DiagnosticRead):
    findings: list[FindingRead]
