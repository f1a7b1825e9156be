"""What a reporting client needs before it reports: the perimeters and the categories."""

from __future__ import annotations

from fastapi import APIRouter, Response

from gusp import categories, schemas
from gusp.api import deps
from gusp.geo import perimeters

router = APIRouter(prefix="/api/v1", tags=["référentiels"])


@router.get(
    "/quartiers",
    summary="Périmètres des quartiers (GeoJSON)",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}, "description": "FeatureCollection GeoJSON."}},
)
def list_quartiers(session: deps.SessionDep) -> Response:
    """The quartiers as a GeoJSON FeatureCollection; a quartier without perimeter has a null geometry."""
    body = perimeters.feature_collection(session=session)
    return Response(content=body, media_type="application/geo+json")


@router.get("/categories", response_model=schemas.ListOf[schemas.CategoryPublic], summary="Catégories")
def list_categories(session: deps.SessionDep) -> schemas.ListOf[schemas.CategoryPublic]:
    rows = categories.list_active(session=session)
    data = [schemas.CategoryPublic.model_validate(c, from_attributes=True) for c in rows]
    return schemas.ListOf[schemas.CategoryPublic](data=data, count=len(data))
