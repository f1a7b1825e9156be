"""Read-only aggregates for the meetings (NPRU, Contrat de Ville): the scope every figure shares,
and volumes by quartier × category × status × month.

Rules every statistic follows:
- who: only the reports `access.visible_reports` lets the user see (a partner its own, a group
  its quartiers);
- when: periods are whole local days in `settings.timezone`; months, quarters and years are
  cut in local time (a report made on 31 December at 23:30 in Paris counts in December);
- what: merged duplicates (`master_report_id` set) are the same problem as their master, so they
  are left out of volumes unless asked for (`include_duplicates`), and every answer says so.

Rates per 1,000 inhabitants are in `stats_rates`, delays, backlog and deadlines in `stats_delays`,
hotspots in `stats_places`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal_column, select, text
from sqlalchemy.orm import Session

from gusp import access, errors, states
from gusp.models import Category, Partner, Quartier, Report, User

INTERVALS = ("month", "quarter", "year", "none")
VOLUME_DIMENSIONS = ("quartier", "category", "status", "partner", "source")
OUTSIDE = "hors_perimetre"  # the quartier "code" of reports outside every perimeter
OUTSIDE_LABEL = "Hors périmètre"
UNASSIGNED_LABEL = "Sans partenaire"
WORK_MEM = "64MB"


@dataclass(frozen=True)
class Period:
    """Whole local days, both ends included."""

    start: date
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as instants: local midnight of the first day, local midnight after the last."""
        return datetime.combine(self.start, time.min, tz), datetime.combine(self.end + timedelta(days=1), time.min, tz)

    def previous_year(self) -> Period:
        return Period(start=_year_before(self.start), end=_year_before(self.end))


@dataclass(frozen=True)
class Scope:
    """What the figures are about: a period and the dimension filters of the dashboard."""

    period: Period
    quartier: tuple[str, ...] = ()  # quartier codes; `hors_perimetre` for reports outside every perimeter
    category: tuple[str, ...] = ()
    partner: tuple[int, ...] = ()
    source: tuple[str, ...] = ()
    include_duplicates: bool = False

    def previous_year(self) -> Scope:
        return replace(self, period=self.period.previous_year())


@dataclass(frozen=True)
class Meta:
    """What a figure means: the period, its basis, the filters, and who it is restricted to."""

    period_start: date | None
    period_end: date | None
    timezone: str
    basis: str
    duplicates: str
    include_duplicates: bool
    restricted: bool
    restriction: str | None
    generated_at: datetime
    filters: dict[str, list[str] | list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeRow:
    count: int
    period: str | None = None  # "2026-03", "2026-T1", "2026"
    period_start: date | None = None
    quartier_code: str | None = None
    quartier_name: str | None = None
    category_code: str | None = None
    category_label: str | None = None
    status: str | None = None
    status_label: str | None = None
    partner_id: int | None = None
    partner_name: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Volumes:
    meta: Meta
    interval: str
    group_by: list[str]
    total: int
    data: list[VolumeRow]
    periods: list[str] = field(default_factory=list)  # every period of the range, with or without reports
    comparison: Volumes | None = None


@dataclass
class Labels:
    """Names of quartiers, categories and partners, read once: far cheaper than joining a million rows."""

    quartiers: dict[int, Quartier]
    categories: dict[str, str]
    partners: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> Labels:
        quartiers = {q.id: q for q in session.scalars(select(Quartier).order_by(Quartier.nom))}
        categories = dict(session.execute(select(Category.code, Category.label).order_by(Category.position)).all())
        partners = dict(session.execute(select(Partner.id, Partner.name).order_by(Partner.name)).all())
        return cls(quartiers=quartiers, categories=categories, partners=partners)

    def quartier(self, quartier_id: int | None) -> tuple[str | None, str]:
        if quartier_id is None:
            return None, OUTSIDE_LABEL
        q = self.quartiers[quartier_id]
        return q.code, q.nom

    def partner(self, partner_id: int | None) -> str:
        return UNASSIGNED_LABEL if partner_id is None else self.partners.get(partner_id, str(partner_id))


def conditions(*, session: Session, scope: Scope, tz: ZoneInfo, by: str = "created_at") -> list:
    """The WHERE clauses of a scope; the period applies to `by` (created_at, resolved_at) or to nothing."""
    where: list = []
    if by != "none":
        start, end = scope.period.bounds(tz)
        column = getattr(Report, by)
        where += [column >= start, column < end]
    if scope.quartier:
        where.append(_quartier_condition(session, scope.quartier))
    if scope.category:
        where.append(Report.category_code.in_(scope.category))
    if scope.partner:  # the partner in charge: one only proposed by routing has not been given the report
        where += [Report.partner_id.in_(scope.partner), Report.assigned_at.is_not(None)]
    if scope.source:
        where.append(Report.source.in_(scope.source))
    if not scope.include_duplicates:
        where.append(Report.master_report_id.is_(None))
    return where


def partner_in_charge():
    """The partner a report was given (assigned); NULL while routing has only proposed one.

    Every partner figure uses it, as the partner's own view does (`access.visible_reports`).
    """
    return case((Report.assigned_at.is_not(None), Report.partner_id))


def _quartier_condition(session: Session, codes: tuple[str, ...]):
    known = dict(session.execute(select(Quartier.code, Quartier.id).where(Quartier.code.in_(codes))).all())
    unknown = [c for c in codes if c not in known and c != OUTSIDE]
    if unknown:
        raise errors.Unprocessable("quartier_inconnu", f"Quartier inconnu : {', '.join(unknown)}.", field="quartier")
    ids = list(known.values())
    inside = Report.quartier_id.in_(ids)
    return inside | Report.quartier_id.is_(None) if OUTSIDE in codes else inside


def tune(session: Session) -> None:
    """For this transaction: sorts and hashes of a year of reports in memory, and no JIT.

    With the default 4 MB, percentiles and the hotspots' partitions spill to disk; PostgreSQL's
    JIT compiles for ~0.4 s queries that run in less (docs/benchmarks.md).
    """
    session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    session.execute(text("SET LOCAL jit = off"))


def visible(user: User, query):
    """The query narrowed to the reports this user may see (the rule of the whole API)."""
    return access.visible_reports(user, query)


def meta(*, scope: Scope, user: User, tz: ZoneInfo, now: datetime, basis: str, period: bool = True) -> Meta:
    restricted = access.role(user) not in access.STAFF_ALL
    return Meta(
        period_start=scope.period.start if period else None,
        period_end=scope.period.end if period else None,
        timezone=tz.key,
        basis=basis,
        include_duplicates=scope.include_duplicates,
        duplicates=(
            "Doublons fusionnés inclus : chaque signalement rattaché à un autre compte pour lui-même."
            if scope.include_duplicates else
            "Doublons fusionnés exclus : un signalement rattaché à un autre est le même problème "
            "(include_duplicates=true pour les compter)."
        ),
        restricted=restricted,
        restriction=_restriction(user) if restricted else None,
        generated_at=now,
        filters={k: list(v) for k, v in (("quartier", scope.quartier), ("category", scope.category),
                                          ("partner", scope.partner), ("source", scope.source)) if v},
    )


def _restriction(user: User) -> str:
    match access.role(user):
        case states.Role.PARTENAIRE:
            return "Limité aux signalements confiés à votre organisation."
        case states.Role.GROUPE:
            return "Limité aux signalements de vos quartiers."
        case states.Role.AGENT:
            return "Limité aux signalements que vous avez faits."
    return "Limité aux signalements que vous pouvez voir."


def volumes(
    *,
    session: Session,
    user: User,
    scope: Scope,
    tz: ZoneInfo,
    now: datetime,
    group_by: tuple[str, ...] = ("quartier", "category", "status"),
    interval: str = "month",
) -> Volumes:
    """Reports created in the period, counted by the chosen dimensions and by local month, quarter or year."""
    unknown = [d for d in group_by if d not in VOLUME_DIMENSIONS]
    if unknown or len(set(group_by)) != len(group_by):
        raise errors.Unprocessable(
            "regroupement_invalide", f"Regroupements possibles : {', '.join(VOLUME_DIMENSIONS)}.", field="group_by"
        )
    if interval not in INTERVALS:
        raise errors.Unprocessable("intervalle_invalide", f"Intervalles possibles : {', '.join(INTERVALS)}.",
                                   field="interval")
    columns = {"quartier": Report.quartier_id, "category": Report.category_code, "status": Report.status,
               "partner": partner_in_charge(), "source": Report.source}
    keys = [columns[d].label(d) for d in group_by]
    if interval != "none":
        keys.insert(0, cast(func.date_trunc(interval, func.timezone(tz.key, Report.created_at)), Date).label("bucket"))
    tune(session)
    query = select(*keys, func.count().label("n")).where(*conditions(session=session, scope=scope, tz=tz))
    positions = [literal_column(str(i)) for i in range(1, len(keys) + 1)]  # the bucket has a bound time zone
    query = visible(user, query).group_by(*positions).order_by(*positions)
    labels = Labels.load(session)
    rows = [_volume_row(row._mapping, labels, interval) for row in session.execute(query)]
    return Volumes(
        meta=meta(scope=scope, user=user, tz=tz, now=now, basis="Signalements créés pendant la période."),
        interval=interval, group_by=list(group_by), total=sum(r.count for r in rows), data=rows,
        periods=[period_label(start, interval) for start in buckets(scope.period, interval)],
    )


def buckets(period: Period, interval: str) -> list[date]:
    """The first day of every month, quarter or year the period touches (tables list them all, even empty)."""
    if interval == "none":
        return []
    step = {"month": 1, "quarter": 3, "year": 12}[interval]
    first_month = {"month": period.start.month, "quarter": (period.start.month - 1) // 3 * 3 + 1, "year": 1}[interval]
    current, out = date(period.start.year, first_month, 1), []
    while current <= period.end:
        out.append(current)
        index = current.month - 1 + step
        current = date(current.year + index // 12, index % 12 + 1, 1)
    return out


def _volume_row(row, labels: Labels, interval: str) -> VolumeRow:
    values: dict = {"count": row["n"]}
    if "bucket" in row:
        values["period_start"] = row["bucket"]
        values["period"] = period_label(row["bucket"], interval)
    if "quartier" in row:
        values["quartier_code"], values["quartier_name"] = labels.quartier(row["quartier"])
    if "category" in row:
        values["category_code"] = row["category"]
        values["category_label"] = labels.categories.get(row["category"], row["category"])
    if "status" in row:
        values["status"] = row["status"]
        values["status_label"] = states.STATUS_LABELS[states.ReportStatus(row["status"])]
    if "partner" in row:
        values["partner_id"] = row["partner"]
        values["partner_name"] = labels.partner(row["partner"])
    if "source" in row:
        values["source"] = row["source"]
    return VolumeRow(**values)


def period_label(start: date, interval: str) -> str:
    match interval:
        case "month":
            return f"{start.year}-{start.month:02d}"
        case "quarter":
            return f"{start.year}-T{(start.month - 1) // 3 + 1}"
        case "year":
            return str(start.year)
    return start.isoformat()


def default_period(today: date) -> Period:
    """The twelve months up to today: from the first day of the month eleven months back."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return Period(start=date(year, month, 1), end=today)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)
