"""Statistics for the meetings (`/api/v1/stats/...`), report exports (`/api/v1/exports/...`) and the
dashboard page `/statistiques`. Staff only; each figure counts what the caller may see."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import bounds, errors, exports, exports_tables, schemas, states, stats, stats_delays, stats_places, stats_rates, stats_tables
from gusp.api import auth_deps, deps, pages
from gusp.models import User

router = APIRouter(tags=["statistiques"])

Compare = Annotated[
    Literal["previous_year"] | None,
    Query(description="`previous_year` : la même période un an plus tôt, dans `comparison`."),
]


def _csv(values: list[str] | None) -> tuple[str, ...]:
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


class Context:
    """The scope of the request (period and filters), its caller, the time zone and the database's now."""

    def __init__(
        self,
        session: deps.SessionDep,
        settings: deps.SettingsDep,
        user: auth_deps.CurrentUser,
        date_from: Annotated[bounds.Day | None, Query(description="Premier jour (heure locale) ; par défaut "
                                                            "le début du mois il y a onze mois.")] = None,
        date_to: Annotated[bounds.Day | None, Query(description="Dernier jour inclus ; par défaut aujourd'hui.")] = None,
        quartier: Annotated[list[str] | None, Query(description="Codes de quartier (`hors_perimetre` pour les "
                                                                "signalements hors des périmètres).")] = None,
        category: Annotated[list[str] | None, Query(description="Codes de catégorie.")] = None,
        partner: Annotated[list[bounds.Id] | None, Query(description="Identifiants de partenaire.")] = None,
        source: Annotated[list[states.Source] | None, Query(description="Canaux : web, agent, api, open311.")] = None,
        include_duplicates: Annotated[bool, Query(description="Compter aussi les doublons fusionnés "
                                                              "(exclus par défaut).")] = False,
    ) -> None:
        self.session: Session = session
        self.user: User = user
        self.tz = ZoneInfo(settings.timezone)
        self.commune_population = settings.commune_population
        self.now: datetime = session.scalar(text("SELECT now()"))
        default = stats.default_period(self.now.astimezone(self.tz).date())
        period = stats.Period(start=date_from or default.start, end=date_to or default.end)
        if period.start > period.end:
            raise errors.Unprocessable("periode_invalide", "La date de début est après la date de fin.",
                                       field="date_from")
        self.scope = stats.Scope(
            period=period, quartier=_csv(quartier), category=_csv(category), partner=tuple(partner or ()),
            source=tuple(s.value for s in source or ()), include_duplicates=include_duplicates,
        )

    def ask(self) -> stats_tables.Ask:
        return stats_tables.Ask(session=self.session, user=self.user, scope=self.scope, tz=self.tz, now=self.now,
                                commune_population=self.commune_population)

    def args(self, scope: stats.Scope | None = None) -> dict:
        return {"session": self.session, "user": self.user, "scope": scope or self.scope, "tz": self.tz,
                "now": self.now}


ContextDep = Annotated[Context, Depends()]


@router.get("/api/v1/stats/volumes", response_model=stats.Volumes, summary="Volumes par quartier, catégorie, statut, mois")
def volumes(
    ctx: ContextDep,
    compare: Compare = None,
    group_by: Annotated[list[str] | None, Query(description="Parmi quartier, category, status, partner, source "
                                                            "(par défaut quartier, category, status).")] = None,
    interval: Annotated[Literal["month", "quarter", "year", "none"], Query(
        description="Découpage de la période en heure locale.")] = "month",
) -> stats.Volumes:
    """Signalements créés pendant la période, comptés par les regroupements choisis."""
    dims = _csv(group_by) or ("quartier", "category", "status")
    result = stats.volumes(**ctx.args(), group_by=dims, interval=interval)
    if compare:
        previous = stats.volumes(**ctx.args(ctx.scope.previous_year()), group_by=dims, interval=interval)
        result = _with(result, previous)
    return result


@router.get("/api/v1/stats/rates", response_model=stats_rates.Rates, summary="Signalements pour 1 000 habitants, part résolue")
def rates(ctx: ContextDep, compare: Compare = None) -> stats_rates.Rates:
    """Par quartier : signalements créés pendant la période pour 1 000 habitants, et part résolue."""
    population = ctx.commune_population
    result = stats_rates.rates(**ctx.args(), commune_population=population)
    if compare:
        result = _with(result, stats_rates.rates(**ctx.args(ctx.scope.previous_year()), commune_population=population))
    return result


@router.get("/api/v1/stats/delays", response_model=stats_delays.Delays, summary="Délais de traitement")
def delays(
    ctx: ContextDep,
    compare: Compare = None,
    group_by: Annotated[list[str] | None, Query(description="Parmi partner, category, quartier "
                                                            "(par défaut partner).")] = None,
) -> stats_delays.Delays:
    """Médiane, 90ᵉ centile et moyenne (jours) de la création et de l'affectation à la résolution,
    pour les signalements résolus pendant la période."""
    dims = _csv(group_by) or ("partner",)
    result = stats_delays.delays(**ctx.args(), group_by=dims)
    if compare:
        result = _with(result, stats_delays.delays(**ctx.args(ctx.scope.previous_year()), group_by=dims))
    return result


@router.get("/api/v1/stats/backlog", response_model=stats_delays.Backlog, summary="Stock de signalements ouverts par âge")
def backlog(
    ctx: ContextDep,
    group_by: Annotated[Literal["quartier", "category", "partner", "status"], Query()] = "quartier",
) -> stats_delays.Backlog:
    """Instantané : les signalements ouverts maintenant, par ancienneté (moins de 7 jours, 7–30, 30–90,
    90 et plus) et en retard ; la période ne s'applique pas, les autres filtres oui."""
    return stats_delays.backlog(**ctx.args(), group_by=group_by)


@router.get("/api/v1/stats/overdue", response_model=stats_delays.Deadlines, summary="Délais tenus et dépassés")
def overdue(
    ctx: ContextDep,
    compare: Compare = None,
    group_by: Annotated[Literal["quartier", "category", "partner", "status"], Query()] = "partner",
) -> stats_delays.Deadlines:
    """Signalements créés pendant la période et munis d'une échéance : résolus à temps, en retard,
    ouverts dans le délai, ouverts en retard (à ce jour)."""
    result = stats_delays.deadlines(**ctx.args(), group_by=group_by)
    if compare:
        result = _with(result, stats_delays.deadlines(**ctx.args(ctx.scope.previous_year()), group_by=group_by))
    return result


@router.get("/api/v1/stats/hotspots", response_model=stats_places.Hotspots, summary="Points chauds récurrents")
def hotspots(
    ctx: ContextDep,
    compare: Compare = None,
    eps_m: Annotated[float, Query(gt=0, le=stats_places.MAX_EPS_M, description="Rayon (m).")] = 50.0,
    min_points: Annotated[int, Query(ge=2, le=1000, description="Signalements au moins.")] = 3,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> stats_places.Hotspots:
    """Lieux où reviennent des signalements d'une même catégorie (ST_ClusterDBSCAN en Lambert-93)."""
    kwargs = {"eps_m": eps_m, "min_points": min_points, "limit": limit}
    result = stats_places.hotspots(**ctx.args(), **kwargs)
    if compare:
        result = _with(result, stats_places.hotspots(**ctx.args(ctx.scope.previous_year()), **kwargs))
    return result


def _with(result, previous):
    return dataclasses.replace(result, comparison=previous)


_EXPORT_DOC = ("Signalements créés pendant la période, visibles par l'appelant, sans donnée personnelle "
               "(ni coordonnées, ni description libre, ni note interne).")


def _filename(ctx: Context, extension: str) -> str:
    return f"signalements_{ctx.scope.period.start.isoformat()}_{ctx.scope.period.end.isoformat()}.{extension}"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _records(ctx: Context):
    return exports.rows(session=ctx.session, user=ctx.user, scope=ctx.scope, tz=ctx.tz, now=ctx.now)


@router.get("/api/v1/exports/reports.csv", summary="Export CSV (UTF-8 avec BOM, « ; »)", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}}, description=_EXPORT_DOC)
def export_csv(ctx: ContextDep) -> StreamingResponse:
    return StreamingResponse(exports.csv_chunks(_records(ctx)), media_type="text/csv; charset=utf-8",
                             headers=_attachment(_filename(ctx, "csv")))


@router.get("/api/v1/exports/reports.xlsx", summary="Export XLSX", response_class=Response, description=_EXPORT_DOC,
            responses={200: {"content": {exports.XLSX_TYPE: {}}}})
def export_xlsx(ctx: ContextDep) -> Response:
    exports.check_spreadsheet_size(session=ctx.session, user=ctx.user, scope=ctx.scope, tz=ctx.tz)
    tables = stats_tables.dashboard(ctx.ask())
    return Response(exports.xlsx_bytes(_records(ctx), lambda book: exports_tables.xlsx_sheets(book, tables)),
                    media_type=exports.XLSX_TYPE,
                    headers=_attachment(_filename(ctx, "xlsx")))


@router.get("/api/v1/exports/reports.ods", summary="Export ODS (OpenDocument)", response_class=Response,
            description=_EXPORT_DOC, responses={200: {"content": {exports.ODS_TYPE: {}}}})
def export_ods(ctx: ContextDep) -> Response:
    exports.check_spreadsheet_size(session=ctx.session, user=ctx.user, scope=ctx.scope, tz=ctx.tz)
    tables = stats_tables.dashboard(ctx.ask())
    return Response(exports.ods_bytes(_records(ctx), lambda doc: exports_tables.ods_sheets(doc, tables)),
                    media_type=exports.ODS_TYPE,
                    headers=_attachment(_filename(ctx, "ods")))


@router.get("/api/v1/exports/reports.geojson", summary="Export GeoJSON", response_class=StreamingResponse,
            description=_EXPORT_DOC, responses={200: {"content": {"application/geo+json": {}}}})
def export_geojson(ctx: ContextDep) -> StreamingResponse:
    return StreamingResponse(exports.geojson_chunks(_records(ctx)), media_type="application/geo+json",
                             headers=_attachment(_filename(ctx, "geojson")))


@router.get("/api/v1/exports/tables/{key}.csv", summary="Un tableau du tableau de bord en CSV",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}, 404: {"model": schemas.ErrorBody}},
            description="Les tableaux de la page Statistiques (periodes, categories, quartiers, delais, echeances, "
                        "stock), mêmes filtres, avec leur ligne de total et leur définition ; UTF-8 avec BOM, « ; ».")
def export_table(ctx: ContextDep, key: Annotated[Literal[stats_tables.KEYS], Path()]) -> Response:  # type: ignore[valid-type]
    table = stats_tables.one(ctx.ask(), key)
    name = f"{key}_{ctx.scope.period.start.isoformat()}_{ctx.scope.period.end.isoformat()}.csv"
    return Response(exports_tables.csv_bytes(table), media_type="text/csv; charset=utf-8", headers=_attachment(name))


@router.get("/statistiques", include_in_schema=False)
def dashboard(request: Request) -> Response:
    """The page itself is public (it holds no data); its figures come from the API, signed in."""
    return pages.html_page(request, "statistiques.html")
