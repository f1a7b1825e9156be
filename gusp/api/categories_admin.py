"""Admins mark a category as sensitive: photos never public, place public only as its quartier.

The categories file (data/categories.json) sets the minimum at each `gusp db upgrade`: it can make a
category more private, never less (gusp.categories.seed); what an admin tightened here stays tight.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from gusp import db, errors, schemas, states
from gusp.api import auth_deps, deps
from gusp.models import Category

router = APIRouter(prefix="/api/v1/categories", tags=["référentiels"])
Admins = Depends(auth_deps.require_roles(states.Role.ADMIN))
Csrf = Depends(auth_deps.csrf_protected)


class CategoryPrivacyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    photos_public: bool | None = Field(None, description="Faux : aucune photo de cette catégorie n'est publique.")
    location_public: Literal["exact", "quartier"] | None = Field(
        None, description="`quartier` : le public ne voit que le quartier, jamais les coordonnées."
    )

    @field_validator("photos_public", "location_public", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("valeur_nulle", "Ce champ ne peut pas être vide (null) : omettez-le pour le garder.")
        return value


@router.patch("/{code}", response_model=schemas.CategoryPublic, dependencies=[Admins, Csrf],
              responses={404: {"model": schemas.ErrorBody}}, summary="Rendre une catégorie sensible (ou non)")
def patch_category(body: CategoryPrivacyPatch, session: deps.SessionDep,
                   code: str = Path(max_length=64)) -> schemas.CategoryPublic:
    """Takes effect at once on every public surface, for the category's past and future reports."""
    category = session.get(Category, code)
    if category is None:
        raise errors.NotFound("categorie_introuvable", f"Aucune catégorie ne porte le code « {code} ».")
    with db.transaction(session):
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(category, name, value)
    return schemas.CategoryPublic.model_validate(category, from_attributes=True)
