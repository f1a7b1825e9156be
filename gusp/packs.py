"""Meeting packs (dossiers de séance): their key figures, the record of packs issued, what changed since.

Figures follow `gusp.stats` (its scope, its period in local days, merged duplicates left out,
the user's visibility), so the pack and the dashboard never disagree. Each pack issued is
recorded with its figures, so the next pack of the same quartiers can say what changed since.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gusp import access, errors, states, stats, triage
from gusp.models import Quartier, Report, User, UserQuartier
from gusp.models.diagnostics import MeetingPack

MAX_PERIOD_DAYS = 3 * 366
MAX_QUARTIERS = 20
# The headline figures, in the order the pack prints them; the snapshot keeps them by key.
HEADLINES: dict[str, str] = {
    "received": "Signalements reçus sur la période",
    "received_resolved": "Reçus sur la période et résolus à ce jour",
    "resolved": "Signalements résolus sur la période",
    "open_now": "Signalements ouverts à ce jour",
    "overdue_now": "Signalements en retard à ce jour",
    "median_resolution_days": "Délai médian de résolution (jours)",
}
# One line under each figure: what is counted, on which date.
DEFINITIONS: dict[str, str] = {
    "received": "Signalements créés entre le premier et le dernier jour de la période (heure de Paris), "
                "doublons fusionnés exclus.",
    "received_resolved": "Parmi les reçus sur la période, ceux qui ont une date de résolution ; "
                         "% résolus = ce nombre ÷ reçus (jamais plus de 100 %).",
    "resolved": "Signalements dont la date de résolution tombe dans la période, quelle que soit leur date de "
                "réception (ce n'est pas une part des reçus).",
    "open_now": "Signalements ouverts au moment de l'édition, quelle que soit leur date de réception.",
    "overdue_now": "Parmi les ouverts à ce jour, ceux dont l'échéance est dépassée.",
    "median_resolution_days": "Médiane (percentile_cont 0,5) des délais création → résolution des "
                              "signalements résolus sur la période, en jours.",
}
_OPEN = [s.value for s in states.OPEN]
NOT_ASSIGNED = "Pas encore confiés à un partenaire"


@dataclass(frozen=True)
class KeyFigures:
    received: int  # created in the period
    received_resolved: int  # of those, resolved to date: "% résolus" is this ÷ received
    resolved: int  # resolved in the period (whenever created)
    open_now: int
    overdue_now: int
    median_resolution_days: float | None  # of those resolved in the period, creation → resolution
    by_category: list[tuple[str, int]]  # (label, count) of those received, largest first
    by_month: list[tuple[date, int]]  # every month of the period, received
    by_quartier: list[stats.RateRow]
    quartier_total: stats.RateRow | None = None  # the quartiers with a rate together

    def snapshot(self) -> dict[str, object]:
        """What the record keeps: the headline figures and the counts by category."""
        return {**{key: getattr(self, key) for key in HEADLINES}, "by_category": dict(self.by_category)}


@dataclass(frozen=True)
class Changes:
    """Since the previous pack of the same quartiers."""

    previous: MeetingPack
    new_reports: int  # created since it was issued
    resolved: int  # resolved since it was issued
    figures: list[tuple[str, float | int | None, float | int | None]]  # (label, then, now)


def quartiers(*, session: Session, codes: list[str]) -> list[Quartier]:
    """The quartiers named, in name order; an unknown code is refused, naming it."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        raise errors.Unprocessable("quartier_manquant", "Choisissez au moins un quartier.", field="quartier")
    if len(wanted) > MAX_QUARTIERS:
        raise errors.Unprocessable("trop_de_quartiers", f"Un dossier couvre au plus {MAX_QUARTIERS} quartiers.",
                                   field="quartier")
    found = list(session.scalars(select(Quartier).where(Quartier.code.in_(wanted)).order_by(Quartier.nom)))
    unknown = sorted(set(wanted) - {q.code for q in found})
    if unknown:
        raise errors.Unprocessable("quartier_inconnu", f"Quartier inconnu : {', '.join(unknown)}.", field="quartier")
    return found


def check_period(start: date, end: date) -> stats.Period:
    if start > end:
        raise errors.Unprocessable("periode_invalide", "La date de début doit précéder la date de fin.", field="from")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise errors.Unprocessable("periode_trop_longue", "Un dossier couvre au plus trois ans.", field="from")
    return stats.Period(start=start, end=end)


def require_pack(*, session: Session, user: User, quartier_list: list[Quartier]) -> None:
    """Coordinators and admins: any quartier; an operational group: its own quartiers; nobody else.

    A pack lists every partner's reports, so a partner (who sees only its own) or an agent may not.
    """
    role = access.role(user)
    if role in access.STAFF_ALL:
        return
    if role is states.Role.GROUPE:
        mine = set(session.scalars(select(UserQuartier.quartier_id).where(UserQuartier.user_id == user.id)))
        if all(q.id in mine for q in quartier_list):
            return
        raise errors.Forbidden("quartier_interdit", "Vous ne pouvez éditer un dossier que pour vos quartiers.",
                               field="quartier")
    raise errors.Forbidden("interdit", "Seuls les coordinateurs et les groupes opérationnels éditent les dossiers.")


def now(session: Session) -> datetime:
    """The wall clock, not the transaction's start: a pack is dated when it is made."""
    return session.scalar(text("SELECT clock_timestamp()"))


def key_figures(*, session: Session, user: User, quartier_list: list[Quartier], period: stats.Period,
                tz: ZoneInfo, at: datetime) -> KeyFigures:
    scope = stats.Scope(period=period, quartier=tuple(q.code for q in quartier_list))
    by_category = stats.volumes(session=session, user=user, scope=scope, tz=tz, now=at, group_by=("category",),
                                interval="none")
    by_month = stats.volumes(session=session, user=user, scope=scope, tz=tz, now=at, group_by=(), interval="month")
    rates = stats.rates(session=session, user=user, scope=scope, tz=tz, now=at)
    counted = {row.period_start: row.count for row in by_month.data}
    return KeyFigures(
        received=by_category.total,
        received_resolved=sum(r.resolved for r in rates.data),
        resolved=_count(session, user, scope, tz, by="resolved_at"),
        open_now=_count(session, user, scope, tz, by="none", extra=[Report.status.in_(_OPEN)]),
        overdue_now=_count(session, user, scope, tz, by="none",
                           extra=[Report.status.in_(_OPEN), Report.due_at < at]),
        median_resolution_days=_median_days(session, user, scope, tz),
        by_category=sorted(((r.category_label or "", r.count) for r in by_category.data), key=lambda x: (-x[1], x[0])),
        by_month=[(m, counted.get(m, 0)) for m in stats.buckets(period, "month")],
        by_quartier=list(rates.data),
        quartier_total=rates.total,
    )


def _count(session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, *, by: str, extra: list = ()) -> int:
    where = stats.conditions(session=session, scope=scope, tz=tz, by=by)
    return session.scalar(stats.visible(user, select(func.count()).select_from(Report).where(*where, *extra)))


def _median_days(session: Session, user: User, scope: stats.Scope, tz: ZoneInfo) -> float | None:
    where = stats.conditions(session=session, scope=scope, tz=tz, by="resolved_at")
    seconds = func.extract("epoch", Report.resolved_at - Report.created_at)
    values = list(session.scalars(stats.visible(user, select(seconds).where(*where))))
    return statistics.median(float(v) for v in values) / 86400 if values else None  # rounded where shown


def open_reports(*, session: Session, user: User, quartier_list: list[Quartier]) -> list[Report]:
    """Every open report of the quartiers, by partner (unassigned last), the most overdue first."""
    query = (select(Report).where(Report.quartier_id.in_([q.id for q in quartier_list]), Report.status.in_(_OPEN))
             .order_by(Report.due_at.asc().nulls_last(), Report.created_at))
    reports = list(session.scalars(stats.visible(user, query)).unique())
    return sorted(reports, key=lambda r: (in_charge(r) is None, in_charge(r) or ""))


def in_charge(report: Report) -> str | None:
    """The partner a report was handed to; one only proposed by routing is still the coordinators'."""
    return report.partner.name if report.partner is not None and report.assigned_at is not None else None


def resolved_with_photos(*, session: Session, user: User, quartier_list: list[Quartier], period: stats.Period,
                         tz: ZoneInfo, limit: int = 12) -> list[Report]:
    """The latest reports resolved in the period with an "after" photo: the before/after page."""
    scope = stats.Scope(period=period, quartier=tuple(q.code for q in quartier_list))
    where = stats.conditions(session=session, scope=scope, tz=tz, by="resolved_at")
    has_after = text("EXISTS (SELECT 1 FROM report_photos p WHERE p.report_id = reports.id AND p.kind = 'apres')")
    query = select(Report).where(*where, has_after).order_by(Report.resolved_at.desc()).limit(limit)
    return list(session.scalars(stats.visible(user, query)).unique())


def is_overdue(report: Report, at: datetime) -> bool:
    return triage.is_overdue(report, now=at)


def previous_pack(*, session: Session, quartier_list: list[Quartier]) -> MeetingPack | None:
    codes = sorted(q.code for q in quartier_list)
    query = (select(MeetingPack).where(MeetingPack.quartier_codes == codes)
             .order_by(MeetingPack.generated_at.desc(), MeetingPack.id.desc()).limit(1))
    return session.scalars(query).first()


def changes_since(*, session: Session, user: User, quartier_list: list[Quartier], previous: MeetingPack,
                  figures: KeyFigures) -> Changes:
    ids = [q.id for q in quartier_list]
    base = [Report.quartier_id.in_(ids), Report.master_report_id.is_(None)]
    new_reports = session.scalar(stats.visible(user, select(func.count()).select_from(Report).where(
        *base, Report.created_at > previous.generated_at)))
    resolved = session.scalar(stats.visible(user, select(func.count()).select_from(Report).where(
        *base, Report.resolved_at > previous.generated_at)))
    then = previous.figures or {}
    now_values = figures.snapshot()
    rows = [(label, then.get(key), now_values[key]) for key, label in HEADLINES.items()]
    return Changes(previous=previous, new_reports=new_reports, resolved=resolved, figures=rows)


def record(*, session: Session, user: User, quartier_list: list[Quartier], period: stats.Period,
           figures: KeyFigures, at: datetime) -> MeetingPack:
    pack = MeetingPack(
        quartier_codes=sorted(q.code for q in quartier_list), period_start=period.start, period_end=period.end,
        generated_at=at, generated_by_user_id=user.id, figures=figures.snapshot(),
    )
    session.add(pack)
    session.flush()
    return pack
