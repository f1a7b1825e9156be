"""Reports per 1,000 inhabitants by quartier, outside the QPV and for the whole commune, with the
share resolved: same scope and rules as `gusp.stats`.

- A quartier without a loaded perimeter has no rate (no report can be attributed to it: a rate
  would read as "no problem"); totals use only the populations of quartiers that have one.
- With the commune's population (`GUSP_COMMUNE_POPULATION`), the reports hors périmètre are rated
  per 1,000 of those living outside every perimeter, and the whole commune gets a row.
- Figures are unrounded: they are rounded once, where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import access, states, stats
from gusp.models import Report, User

TOTAL_LABEL = "Ensemble des quartiers"
NO_PERIMETER_NOTE = "Périmètre non chargé : aucun signalement ne peut y être rattaché, pas de taux."
NO_POPULATION_NOTE = "Population inconnue : pas de taux."
OUTSIDE_NOTE = "Signalements hors des périmètres : population de la commune non renseignée, pas de taux."
OUTSIDE_RATE_NOTE = ("Hors périmètre (hors QPV) : population de la commune moins celle des quartiers qui ont un "
                     "périmètre.")
COMMUNE_LABEL = "Ensemble de la commune"


@dataclass(frozen=True)
class RateRow:
    quartier_code: str | None
    quartier_name: str
    population: int | None
    count: int
    per_1000: float | None  # reports per 1,000 inhabitants, unrounded; None without a population or perimeter
    resolved: int  # of `count`, resolved to date (resolved_at set)
    rejected: int
    open: int  # of `count`, still open now
    share_resolved: float | None  # resolved / count, unrounded, between 0 and 1: the one "% résolus"
    note: str | None = None  # why there is no rate ("périmètre non chargé"…)


@dataclass(frozen=True)
class Rates:
    meta: stats.Meta
    data: list[RateRow]
    total: RateRow  # the quartiers that have a perimeter and a population together (reports outside them not in the rate)
    commune: RateRow | None = None  # the whole commune, when its population is set and no quartier filter applies
    comparison: Rates | None = None


def rates(*, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, now: datetime,
          commune_population: int | None = None) -> Rates:
    """By quartier: reports per 1,000 inhabitants, and the share resolved, of the reports created in the period.

    With the commune's population, the reports hors périmètre get a rate too: per 1,000 of those
    living outside every loaded perimeter (the commune less the quartiers that have one), and the
    whole commune a row of its own (without a quartier filter).
    """
    stats.tune(session)
    resolved = Report.resolved_at.is_not(None)
    query = select(
        Report.quartier_id,
        func.count().label("n"),
        func.count().filter(resolved).label("resolved"),
        func.count().filter(Report.status == states.ReportStatus.REJETE.value).label("rejected"),
        func.count().filter(Report.status.in_([s.value for s in states.OPEN])).label("open"),
    ).where(*stats.conditions(session=session, scope=scope, tz=tz))
    found = {row.quartier_id: row for row in session.execute(stats.visible(user, query).group_by(Report.quartier_id))}
    labels = stats.Labels.load(session)
    restricted = access.role(user) not in access.STAFF_ALL
    wanted = set(scope.quartier)
    data = []
    for q in labels.quartiers.values():
        if (wanted and q.code not in wanted) or (restricted and q.id not in found):
            continue
        data.append(_rate_row(q.code, q.nom, q.population, found.get(q.id), has_perimeter=q.geom is not None))
    counted = [r for r in data if r.per_1000 is not None]
    total = _sum_rates(counted)
    outside_population = None
    if commune_population:
        inside = sum(q.population or 0 for q in labels.quartiers.values() if q.geom is not None)
        outside_population = max(commune_population - inside, 0) or None
    if None in found or (outside_population and (not wanted or stats.OUTSIDE in wanted) and not restricted):
        data.append(_rate_row(None, stats.OUTSIDE_LABEL, outside_population, found.get(None),
                              note=OUTSIDE_RATE_NOTE if outside_population else OUTSIDE_NOTE))
    commune = None
    if commune_population and not wanted and not restricted:
        commune = _sum_rates([*data], name=COMMUNE_LABEL)
        commune = replace(commune, population=commune_population, per_1000=commune.count * 1000 / commune_population,
                          note="Tous les signalements de la commune ÷ sa population (Insee).")
    return Rates(
        meta=stats.meta(scope=scope, user=user, tz=tz, now=now,
                        basis="Signalements créés pendant la période ; population des quartiers (périmètres chargés)."),
        data=data, total=total, commune=commune,
    )


def _rate_row(code: str | None, name: str, population: int | None, row, *, has_perimeter: bool = True,
              note: str | None = None) -> RateRow:
    """Unrounded figures: they are rounded once, where they are shown."""
    n = row.n if row else 0
    resolved = row.resolved if row else 0
    if not has_perimeter:
        note = NO_PERIMETER_NOTE  # no report can be attributed to it: a rate would read as "no problem"
    elif not population:
        note = note or NO_POPULATION_NOTE
    rated = has_perimeter and bool(population)
    return RateRow(
        quartier_code=code, quartier_name=name, population=population, count=n,
        per_1000=n * 1000 / population if rated else None,
        resolved=resolved, rejected=row.rejected if row else 0, open=row.open if row else 0,
        share_resolved=resolved / n if n else None, note=note,
    )


def _sum_rates(rows: list[RateRow], name: str = TOTAL_LABEL) -> RateRow:
    """The rows together; `rows` are those that have a rate (a perimeter and a population)."""
    population = sum(r.population or 0 for r in rows)
    n = sum(r.count for r in rows)
    resolved = sum(r.resolved for r in rows)
    return RateRow(
        quartier_code=None, quartier_name=name, population=population or None, count=n,
        per_1000=n * 1000 / population if population else None, resolved=resolved,
        rejected=sum(r.rejected for r in rows), open=sum(r.open for r in rows),
        share_resolved=resolved / n if n else None,
        note="Quartiers ayant un périmètre et une population ; hors périmètre exclus.",
    )
