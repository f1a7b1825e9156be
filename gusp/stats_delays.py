"""Time in the workflow: handling times, the backlog by age, and deadlines kept or missed.

Same scope and rules as `gusp.stats` (visibility, local periods, merged duplicates left out).
- Handling times are those of the reports *resolved* in the period (the usual meeting figure:
  "reports handled this quarter took…"), from creation and from assignment to resolution, with
  PostgreSQL's `percentile_cont` (linear interpolation). By partner, a report counts for the
  partner it was assigned to (`stats.partner_in_charge`, as everywhere); never assigned (resolved
  by the coordinators, or only proposed by routing): "Sans partenaire".
- The backlog is a snapshot, now: the open reports by age since creation (under 7 days, 7–30,
  30–90, 90 and more), whatever the period.
- Deadlines: the reports created in the period that got one (at assignment): resolved on time,
  resolved late, still open within it, open past it (as of now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.orm import Session

from gusp import errors, states, stats
from gusp.models import Report, User

DELAY_DIMENSIONS = ("partner", "category", "quartier")
BACKLOG_DIMENSIONS = ("quartier", "category", "partner", "status")
AGE_BUCKETS = (("under_7", "Moins de 7 jours"), ("from_7_to_30", "7 à 30 jours"),
               ("from_30_to_90", "30 à 90 jours"), ("over_90", "90 jours et plus"))
DAY = 86400.0


@dataclass(frozen=True)
class Durations:
    """Days (decimal) between two milestones, over `count` reports."""

    count: int
    median_days: float | None
    p90_days: float | None
    mean_days: float | None


@dataclass(frozen=True)
class DelayRow:
    resolved: int
    creation_to_resolution: Durations
    assignment_to_resolution: Durations
    partner_id: int | None = None
    partner_name: str | None = None
    category_code: str | None = None
    category_label: str | None = None
    quartier_code: str | None = None
    quartier_name: str | None = None


@dataclass(frozen=True)
class Delays:
    meta: stats.Meta
    group_by: list[str]
    data: list[DelayRow]
    total: DelayRow
    comparison: Delays | None = None


@dataclass(frozen=True)
class BacklogRow:
    open: int
    under_7: int
    from_7_to_30: int
    from_30_to_90: int
    over_90: int
    overdue: int  # open past their deadline
    key: str | None  # quartier code, category code, partner id or status, per `group_by`
    label: str


@dataclass(frozen=True)
class Backlog:
    meta: stats.Meta
    group_by: str
    buckets: dict[str, str]
    data: list[BacklogRow]
    total: BacklogRow


@dataclass(frozen=True)
class DeadlineRow:
    with_deadline: int
    resolved_on_time: int
    resolved_late: int
    open_on_time: int
    open_overdue: int
    closed_unresolved: int  # rejected after assignment
    share_late: float | None  # (resolved late + open overdue) / (those + resolved on time)
    key: str | None
    label: str


@dataclass(frozen=True)
class Deadlines:
    meta: stats.Meta
    group_by: str
    data: list[DeadlineRow]
    total: DeadlineRow
    comparison: Deadlines | None = None


def delays(
    *, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, now: datetime,
    group_by: tuple[str, ...] = ("partner",),
) -> Delays:
    """Median, 90th percentile and mean, creation → resolution and assignment → resolution."""
    if not group_by or any(d not in DELAY_DIMENSIONS for d in group_by) or len(set(group_by)) != len(group_by):
        raise errors.Unprocessable(
            "regroupement_invalide", f"Regroupements possibles : {', '.join(DELAY_DIMENSIONS)}.", field="group_by"
        )
    stats.tune(session)
    columns = {"partner": stats.partner_in_charge(), "category": Report.category_code, "quartier": Report.quartier_id}
    keys = [columns[d].label(d) for d in group_by]
    from_creation = func.extract("epoch", Report.resolved_at - Report.created_at) / DAY
    from_assignment = func.extract("epoch", Report.resolved_at - Report.assigned_at) / DAY
    query = select(
        *keys,
        func.grouping(*[k.element for k in keys]).label("is_total"),
        func.count().label("n"),
        *_durations(from_creation, "c"),
        func.count(Report.assigned_at).label("a_n"),
        *_durations(from_assignment, "a"),
    ).where(Report.resolved_at.is_not(None), *stats.conditions(session=session, scope=scope, tz=tz, by="resolved_at"))
    query = stats.visible(user, query).group_by(
        func.grouping_sets(tuple_(*[k.element for k in keys]), tuple_())
    )
    labels = stats.Labels.load(session)
    rows, total = [], None
    for row in session.execute(query).mappings():
        item = _delay_row(row, labels, group_by)
        if row["is_total"]:
            total = item
        else:
            rows.append(item)
    rows.sort(key=lambda r: (-r.resolved, r.partner_name or "", r.category_label or "", r.quartier_name or ""))
    empty = Durations(count=0, median_days=None, p90_days=None, mean_days=None)
    return Delays(
        meta=stats.meta(scope=scope, user=user, tz=tz, now=now,
                        basis="Signalements résolus pendant la période (date de résolution)."),
        group_by=list(group_by), data=rows,
        total=total or DelayRow(resolved=0, creation_to_resolution=empty, assignment_to_resolution=empty),
    )


def _durations(days, prefix: str) -> list:
    return [
        func.percentile_cont(0.5).within_group(days).label(f"{prefix}_median"),
        func.percentile_cont(0.9).within_group(days).label(f"{prefix}_p90"),
        func.avg(days).label(f"{prefix}_mean"),
    ]


def _days(value) -> float | None:
    """Unrounded: figures are rounded once, where they are shown."""
    return None if value is None else float(value)


def _delay_row(row, labels: stats.Labels, group_by: tuple[str, ...]) -> DelayRow:
    values: dict = {}
    if not row["is_total"]:
        if "partner" in group_by:
            values["partner_id"] = row["partner"]
            values["partner_name"] = labels.partner(row["partner"])
        if "category" in group_by:
            values["category_code"] = row["category"]
            values["category_label"] = labels.categories.get(row["category"], row["category"])
        if "quartier" in group_by:
            values["quartier_code"], values["quartier_name"] = labels.quartier(row["quartier"])
    return DelayRow(
        resolved=row["n"],
        creation_to_resolution=Durations(count=row["n"], median_days=_days(row["c_median"]),
                                         p90_days=_days(row["c_p90"]), mean_days=_days(row["c_mean"])),
        assignment_to_resolution=Durations(count=row["a_n"], median_days=_days(row["a_median"]),
                                           p90_days=_days(row["a_p90"]), mean_days=_days(row["a_mean"])),
        **values,
    )


def _key(dimension: str):
    return {"quartier": Report.quartier_id, "category": Report.category_code, "partner": stats.partner_in_charge(),
            "status": Report.status}[dimension]


def _label(labels: stats.Labels, dimension: str, value) -> tuple[str | None, str]:
    match dimension:
        case "quartier":
            return labels.quartier(value)
        case "category":
            return value, labels.categories.get(value, value)
        case "partner":
            return (None if value is None else str(value)), labels.partner(value)
    return value, states.STATUS_LABELS[states.ReportStatus(value)]


def backlog(
    *, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, now: datetime, group_by: str = "quartier",
) -> Backlog:
    """The reports open now, by age since creation; the period of the scope does not apply."""
    if group_by not in BACKLOG_DIMENSIONS:
        raise errors.Unprocessable(
            "regroupement_invalide", f"Regroupements possibles : {', '.join(BACKLOG_DIMENSIONS)}.", field="group_by"
        )
    stats.tune(session)
    key = _key(group_by).label("key")
    created = Report.created_at
    query = select(
        key,
        func.grouping(key.element).label("is_total"),
        func.count().label("open"),
        func.count().filter(created > now - timedelta(days=7)).label("under_7"),
        func.count().filter(created <= now - timedelta(days=7), created > now - timedelta(days=30)).label("from_7_to_30"),
        func.count().filter(created <= now - timedelta(days=30), created > now - timedelta(days=90)).label("from_30_to_90"),
        func.count().filter(created <= now - timedelta(days=90)).label("over_90"),
        func.count().filter(Report.due_at < now).label("overdue"),
    ).where(Report.status.in_([s.value for s in states.OPEN]),
            *stats.conditions(session=session, scope=scope, tz=tz, by="none"))
    query = stats.visible(user, query).group_by(func.grouping_sets(tuple_(key.element), tuple_()))
    labels = stats.Labels.load(session)
    rows, total = [], None
    for row in session.execute(query).mappings():
        code, label = ("total", "Total") if row["is_total"] else _label(labels, group_by, row["key"])
        item = BacklogRow(open=row["open"], under_7=row["under_7"], from_7_to_30=row["from_7_to_30"],
                          from_30_to_90=row["from_30_to_90"], over_90=row["over_90"], overdue=row["overdue"],
                          key=None if row["is_total"] else code, label=label)
        if row["is_total"]:
            total = item
        else:
            rows.append(item)
    rows.sort(key=lambda r: -r.open)
    return Backlog(
        meta=stats.meta(scope=scope, user=user, tz=tz, now=now, period=False,
                        basis="Instantané : signalements ouverts à la date de génération, âge depuis leur création."),
        group_by=group_by, buckets=dict(AGE_BUCKETS), data=rows,
        total=total or BacklogRow(open=0, under_7=0, from_7_to_30=0, from_30_to_90=0, over_90=0, overdue=0,
                                  key=None, label="Total"),
    )


def deadlines(
    *, session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, now: datetime, group_by: str = "partner",
) -> Deadlines:
    """Of the reports created in the period that got a deadline: kept, missed, pending, overdue now."""
    if group_by not in BACKLOG_DIMENSIONS:
        raise errors.Unprocessable(
            "regroupement_invalide", f"Regroupements possibles : {', '.join(BACKLOG_DIMENSIONS)}.", field="group_by"
        )
    stats.tune(session)
    key = _key(group_by).label("key")
    is_open = Report.status.in_([s.value for s in states.OPEN])
    resolved = Report.resolved_at.is_not(None)
    query = select(
        key,
        func.grouping(key.element).label("is_total"),
        func.count().label("with_deadline"),
        func.count().filter(resolved, Report.resolved_at <= Report.due_at).label("resolved_on_time"),
        func.count().filter(resolved, Report.resolved_at > Report.due_at).label("resolved_late"),
        func.count().filter(is_open, Report.due_at >= now).label("open_on_time"),
        func.count().filter(is_open, Report.due_at < now).label("open_overdue"),
        func.count().filter(and_(~is_open, ~resolved)).label("closed_unresolved"),
    ).where(Report.due_at.is_not(None), *stats.conditions(session=session, scope=scope, tz=tz))
    query = stats.visible(user, query).group_by(func.grouping_sets(tuple_(key.element), tuple_()))
    labels = stats.Labels.load(session)
    rows, total = [], None
    for row in session.execute(query).mappings():
        code, label = ("total", "Total") if row["is_total"] else _label(labels, group_by, row["key"])
        item = _deadline_row(row, None if row["is_total"] else code, label)
        if row["is_total"]:
            total = item
        else:
            rows.append(item)
    rows.sort(key=lambda r: -r.with_deadline)
    return Deadlines(
        meta=stats.meta(scope=scope, user=user, tz=tz, now=now,
                        basis="Signalements créés pendant la période et munis d'un délai (fixé à l'affectation) ; "
                              "retard des signalements ouverts apprécié à la date de génération."),
        group_by=group_by, data=rows,
        total=total or _deadline_row({k: 0 for k in _DEADLINE_COUNTS}, None, "Total"),
    )


_DEADLINE_COUNTS = ("with_deadline", "resolved_on_time", "resolved_late", "open_on_time", "open_overdue",
                    "closed_unresolved")


def _deadline_row(row, key: str | None, label: str) -> DeadlineRow:
    late = row["resolved_late"] + row["open_overdue"]
    known = late + row["resolved_on_time"]
    return DeadlineRow(**{k: row[k] for k in _DEADLINE_COUNTS}, share_late=round(late / known, 4) if known else None,
                       key=key, label=label)

