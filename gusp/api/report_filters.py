"""The triage list's filters as one dependency: the list and the map tiles read the same query."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from gusp import bounds, errors, report_search, states


def _csv(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if not raw:
        return None
    try:
        parts = tuple(float(p) for p in raw.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise errors.Unprocessable("bbox_invalide", "La zone doit être « lon min, lat min, lon max, lat max ».",
                                   field="bbox")
    return parts  # type: ignore[return-value]


# `async def` although it does no I/O: a plain `def` dependency would cost a hop to the thread pool and back
# on every request of the list, each map tile and the map's counts (see gusp.api.deps).
async def report_filters(
    status: Annotated[list[states.ReportStatus] | None, Query()] = None,
    quartier: Annotated[list[str] | None, Query(description="Codes de quartier.")] = None,
    category: Annotated[list[str] | None, Query()] = None,
    partner: Annotated[list[bounds.Id] | None, Query()] = None,
    priority: Annotated[list[states.Priority] | None, Query()] = None,
    overdue: bool | None = None,
    hors_perimetre: bool | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Recherche dans la description.")] = None,
    bbox: Annotated[str | None, Query(description="lon min, lat min, lon max, lat max")] = None,
) -> report_search.Filters:
    return report_search.Filters(
        status=tuple(status or ()), quartier=_csv(quartier), category=_csv(category), partner=tuple(partner or ()),
        priority=tuple(priority or ()), overdue=overdue, hors_perimetre=hors_perimetre,
        created_from=created_from, created_to=created_to, q=q or None, bbox=_bbox(bbox),
    )


FiltersDep = Annotated[report_search.Filters, Depends(report_filters)]
