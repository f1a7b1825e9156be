"""Partners, routing rules and management zones: managed by admins and coordinators."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select

from gusp import bounds, db, partners, schemas, states
from gusp.api import auth_deps, deps
from gusp.geo import zones
from gusp.models import ManagementZone

router = APIRouter(prefix="/api/v1", tags=["partenaires et routage"])
_CONFLICT = {409: {"model": schemas.ErrorBody, "description": "Nom déjà pris, ou règle à égalité avec une autre."}}
Managers = Depends(auth_deps.require_roles(states.Role.ADMIN, states.Role.COORDINATEUR))
Csrf = Depends(auth_deps.csrf_protected)


class PartnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    kind: states.PartnerKind
    emails: list[str] = Field(default_factory=list, max_length=20)
    delay_days: int | None = Field(None, ge=1, le=365)


class PartnerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    kind: states.PartnerKind | None = None
    emails: list[str] | None = Field(None, max_length=20)
    delay_days: int | None = Field(None, ge=1, le=365)
    active: bool | None = None

    @field_validator("name", "kind", "emails", "active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """Leave a field out to keep it; `null` is no value for it (only `delay_days` may be emptied)."""
        if value is None:
            raise PydanticCustomError("valeur_nulle", "Ce champ ne peut pas être vide (null) : omettez-le pour le garder.")
        return value


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: states.PartnerKind
    emails: list[str]
    delay_days: int | None
    active: bool


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category_code: str = Field(max_length=64)
    partner_id: bounds.Id
    quartier_id: bounds.Id | None = None
    zone_id: bounds.Id | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    category_code: str
    partner_id: int
    quartier_id: int | None
    zone_id: int | None


class ZonesLoaded(BaseModel):
    created: int
    updated: int
    unchanged: int
    not_in_file: list[str]


@router.get("/partners", response_model=list[PartnerOut], dependencies=[Managers], summary="Partenaires")
def list_partners(session: deps.SessionDep) -> list[PartnerOut]:
    return [PartnerOut.model_validate(p) for p in partners.list_partners(session=session)]


@router.post("/partners", response_model=PartnerOut, status_code=status.HTTP_201_CREATED,
             dependencies=[Managers, Csrf], responses=_CONFLICT, summary="Créer un partenaire")
def create_partner(body: PartnerIn, session: deps.SessionDep) -> PartnerOut:
    with db.transaction(session):
        partner = partners.create_partner(session=session, **body.model_dump())
    return PartnerOut.model_validate(partner)


@router.patch("/partners/{partner_id}", response_model=PartnerOut, dependencies=[Managers, Csrf],
              responses=_CONFLICT, summary="Modifier un partenaire")
def update_partner(partner_id: bounds.Id, body: PartnerPatch, session: deps.SessionDep) -> PartnerOut:
    with db.transaction(session):
        partner = partners.update_partner(session=session, partner_id=partner_id, **body.model_dump(exclude_unset=True))
    return PartnerOut.model_validate(partner)


@router.get("/routing-rules", response_model=list[RuleOut], dependencies=[Managers], summary="Règles de routage")
def list_rules(session: deps.SessionDep) -> list[RuleOut]:
    return [RuleOut.model_validate(r) for r in partners.list_rules(session=session)]


@router.post("/routing-rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED,
             dependencies=[Managers, Csrf], responses=_CONFLICT, summary="Créer une règle (les égalités sont refusées)")
def create_rule(body: RuleIn, session: deps.SessionDep) -> RuleOut:
    with db.transaction(session):
        rule = partners.create_rule(session=session, **body.model_dump())
    return RuleOut.model_validate(rule)


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT,
               dependencies=[Managers, Csrf], summary="Supprimer une règle")
def delete_rule(rule_id: bounds.Id, session: deps.SessionDep) -> Response:
    with db.transaction(session):
        partners.delete_rule(session=session, rule_id=rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/zones", dependencies=[Managers], summary="Zones de gestion (GeoJSON)",
            responses={200: {"content": {"application/geo+json": {}}}})
def list_zones(session: deps.SessionDep) -> Response:
    rows = session.execute(
        select(ManagementZone.id, ManagementZone.code, ManagementZone.name, ManagementZone.partner_id,
               func.ST_AsGeoJSON(ManagementZone.geom, 6)).order_by(ManagementZone.code)
    ).all()
    features = [
        {"type": "Feature", "id": r.id, "geometry": json.loads(r[4]),
         "properties": {"code": r.code, "nom": r.name, "partner_id": r.partner_id}}
        for r in rows
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return Response(body, media_type="application/geo+json")


@router.post("/zones", response_model=ZonesLoaded, dependencies=[Managers, Csrf],
             summary="Importer des zones de gestion (fichier GeoJSON)")
def load_zones(session: deps.SessionDep, file: Annotated[UploadFile, File()]) -> ZonesLoaded:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "zones.geojson"
        with path.open("wb") as out:
            while chunk := file.file.read(1024 * 1024):
                out.write(chunk)
        with db.transaction(session):
            result = zones.load(session=session, path=path)
    return ZonesLoaded(created=result.created, updated=result.updated, unchanged=result.unchanged,
                       not_in_file=result.not_in_file)
