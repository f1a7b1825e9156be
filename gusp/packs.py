"""Meeting packs (dossiers de séance): their key figures, the record of packs issued, what changed since.

Figures follow `gusp.stats` (its scope, its period in local days, merged duplicates left out,
the user's visibility), so the pack and the dashboard never disagree. Each pack issued is
recorded with its figures, so the next pack of the same quartiers can say what changed since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gusp import access, errors, states, stats, stats_rates, triage
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
    by_quartier: list[stats_rates.RateRow]
    quartier_total: stats_rates.RateRow | None = None  # the quartiers with a rate together
    received_before: int = 0  # the same period a year earlier
    category_before: list[int] = field(default_factory=list)  # aligned with by_category
    month_before: list[int] = field(default_factory=list)  # aligned with by_month
    commune: stats_rates.RateRow | None = None  # the whole commune (pack of the whole commune)

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


CITY = "ville"  # the code of a pack for the whole commune
CITY_LABEL = "Toute la commune"
OUTSIDE_LABEL = "Hors périmètre (commune hors QPV)"


@dataclass(frozen=True)
class Coverage:
    """What a pack covers: some quartiers, the whole commune, or the reports outside every perimeter."""

    codes: list[str]  # as recorded: sorted quartier codes, or ["ville"], or ["hors_perimetre"]
    quartiers: list[Quartier]  # the quartiers drawn (name order)
    label: str
    filter: tuple[str, ...]  # `stats.Scope.quartier`

    @property
    def kind(self) -> str:
        return self.codes[0] if self.codes in ([CITY], [stats.OUTSIDE]) else "quartiers"

    def scope(self, period: stats.Period) -> stats.Scope:
        return stats.Scope(period=period, quartier=self.filter)


def coverage(*, session: Session, codes: list[str]) -> Coverage:
    """The quartiers named, `ville` or `hors_perimetre`; an unknown code is refused, naming it."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    if not wanted:
        raise errors.Unprocessable("quartier_manquant", "Choisissez au moins un quartier.", field="quartier")
    if (CITY in wanted or stats.OUTSIDE in wanted) and len(wanted) > 1:
        raise errors.Unprocessable("couverture_invalide", "Un dossier couvre des quartiers, toute la commune ou le "
                                   "hors périmètre, pas un mélange.", field="quartier")
    everything = list(session.scalars(select(Quartier).order_by(Quartier.nom)))
    if wanted == [CITY]:
        return Coverage(codes=wanted, quartiers=[q for q in everything if q.geom is not None], label=CITY_LABEL,
                        filter=())
    if wanted == [stats.OUTSIDE]:
        return Coverage(codes=wanted, quartiers=[], label=OUTSIDE_LABEL, filter=(stats.OUTSIDE,))
    if len(wanted) > MAX_QUARTIERS:
        raise errors.Unprocessable("trop_de_quartiers", f"Un dossier couvre au plus {MAX_QUARTIERS} quartiers.",
                                   field="quartier")
    found = [q for q in everything if q.code in wanted]
    unknown = sorted(set(wanted) - {q.code for q in found})
    if unknown:
        raise errors.Unprocessable("quartier_inconnu", f"Quartier inconnu : {', '.join(unknown)}.", field="quartier")
    return Coverage(codes=wanted, quartiers=found, label=", ".join(q.nom for q in found), filter=tuple(wanted))


def check_period(start: date, end: date) -> stats.Period:
    if start > end:
        raise errors.Unprocessable("periode_invalide", "La date de début doit précéder la date de fin.", field="from")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise errors.Unprocessable("periode_trop_longue", "Un dossier couvre au plus trois ans.", field="from")
    return stats.Period(start=start, end=end)


def require_pack(*, session: Session, user: User, covered: Coverage) -> None:
    """Coordinators and admins: any pack; an operational group: packs of its own quartiers; nobody else.

    A pack lists every partner's reports, so a partner (who sees only its own) or an agent may not.
    """
    role = access.role(user)
    if role in access.STAFF_ALL:
        return
    if role is states.Role.GROUPE:
        if covered.kind == "quartiers" and set(covered.codes) <= _my_codes(session, user):
            return
        raise errors.Forbidden("quartier_interdit", "Vous ne pouvez éditer un dossier que pour vos quartiers.",
                               field="quartier")
    raise errors.Forbidden("interdit", "Seuls les coordinateurs et les groupes opérationnels éditent les dossiers.")


def _my_codes(session: Session, user: User) -> set[str]:
    return set(session.scalars(select(Quartier.code).join(UserQuartier, UserQuartier.quartier_id == Quartier.id)
                               .where(UserQuartier.user_id == user.id)))


def now(session: Session) -> datetime:
    """The wall clock, not the transaction's start: a pack is dated when it is made."""
    return session.scalar(text("SELECT clock_timestamp()"))


def key_figures(*, session: Session, user: User, covered: Coverage, period: stats.Period, tz: ZoneInfo,
                at: datetime, commune_population: int | None = None) -> KeyFigures:
    scope = covered.scope(period)
    before = scope.previous_year()
    args = {"session": session, "user": user, "tz": tz, "now": at}
    by_category = stats.volumes(**args, scope=scope, group_by=("category",), interval="none")
    category_before = stats.volumes(**args, scope=before, group_by=("category",), interval="none")
    by_month = stats.volumes(**args, scope=scope, group_by=(), interval="month")
    month_before = stats.volumes(**args, scope=before, group_by=(), interval="month")
    rates = stats_rates.rates(**args, scope=scope, commune_population=commune_population)
    counted = {row.period_start: row.count for row in by_month.data}
    counted_before = {row.period_start: row.count for row in month_before.data}
    then = {r.category_label or "": r.count for r in category_before.data}
    now_ = {r.category_label or "": r.count for r in by_category.data}
    categories = sorted(set(now_) | set(then), key=lambda label: (-now_.get(label, 0), -then.get(label, 0), label))
    return KeyFigures(
        received=by_category.total,
        received_resolved=sum(r.resolved for r in rates.data),
        resolved=_count(session, user, scope, tz, by="resolved_at"),
        open_now=_count(session, user, scope, tz, by="none", extra=[Report.status.in_(_OPEN)]),
        overdue_now=_count(session, user, scope, tz, by="none",
                           extra=[Report.status.in_(_OPEN), Report.due_at < at]),
        median_resolution_days=_median_days(session, user, scope, tz),
        by_category=[(label, now_.get(label, 0)) for label in categories],
        by_month=[(m, counted.get(m, 0)) for m in stats.buckets(period, "month")],
        by_quartier=list(rates.data),
        quartier_total=rates.total,
        received_before=category_before.total,
        category_before=[then.get(label, 0) for label in categories],
        month_before=[counted_before.get(m, 0) for m in stats.buckets(before.period, "month")],
        commune=rates.commune,
    )


def _count(session: Session, user: User, scope: stats.Scope, tz: ZoneInfo, *, by: str, extra: list = ()) -> int:
    where = stats.conditions(session=session, scope=scope, tz=tz, by=by)
    return session.scalar(stats.visible(user, select(func.count()).select_from(Report).where(*where, *extra)))


def _median_days(session: Session, user: User, scope: stats.Scope, tz: ZoneInfo) -> float | None:
    """percentile_cont(0.5), as the handling times (`stats_delays`): the same median, computed in SQL."""
    where = stats.conditions(session=session, scope=scope, tz=tz, by="resolved_at")
    days = func.extract("epoch", Report.resolved_at - Report.created_at) / 86400
    value = session.scalar(stats.visible(user, select(func.percentile_cont(0.5).within_group(days))
                                         .where(Report.resolved_at.is_not(None), *where)))
    return None if value is None else float(value)  # rounded where shown


def _everywhere(session: Session, covered: Coverage, tz: ZoneInfo) -> list:
    """The pack's quartier filter, whatever the dates (merged duplicates left out)."""
    whole = stats.Scope(period=stats.Period(start=date.min, end=date.min), quartier=covered.filter)
    return stats.conditions(session=session, scope=whole, tz=tz, by="none")


@dataclass(frozen=True)
class OpenGroup:
    """The open reports in one partner's charge (or nobody's yet): how many, how many late, the first listed."""

    name: str
    open: int
    overdue: int
    listed: list[Report]


def open_by_partner(*, session: Session, user: User, covered: Coverage, tz: ZoneInfo, at: datetime,
                    limit: int) -> list[OpenGroup]:
    """Every partner with open reports (unassigned last), counted in SQL; the `limit` most overdue listed."""
    base = [*_everywhere(session, covered, tz), Report.status.in_(_OPEN)]
    in_charge_ = stats.partner_in_charge()
    counts = session.execute(stats.visible(user, select(
        in_charge_.label("partner_id"), func.count(), func.count().filter(Report.due_at < at)
    ).where(*base).group_by(in_charge_)))
    labels = stats.Labels.load(session)
    groups = []
    for partner_id, n, late in counts:
        mine = in_charge_.is_(None) if partner_id is None else in_charge_ == partner_id
        query = (select(Report).where(*base, mine).order_by(Report.due_at.asc().nulls_last(), Report.created_at)
                 .limit(limit))
        listed = list(session.scalars(stats.visible(user, query)).unique())
        name = NOT_ASSIGNED if partner_id is None else labels.partner(partner_id)
        groups.append(OpenGroup(name=name, open=n, overdue=late, listed=listed))
    return sorted(groups, key=lambda g: (g.name == NOT_ASSIGNED, g.name))


def in_charge(report: Report) -> str | None:
    """The partner a report was handed to; one only proposed by routing is still the coordinators'."""
    return report.partner.name if report.partner is not None and report.assigned_at is not None else None


def resolved_with_photos(*, session: Session, user: User, covered: Coverage, period: stats.Period,
                         tz: ZoneInfo, limit: int = 12) -> list[Report]:
    """The latest reports resolved in the period with an "after" photo: the before/after page."""
    where = stats.conditions(session=session, scope=covered.scope(period), tz=tz, by="resolved_at")
    has_after = text("EXISTS (SELECT 1 FROM report_photos p WHERE p.report_id = reports.id AND p.kind = 'apres')")
    query = select(Report).where(*where, has_after).order_by(Report.resolved_at.desc()).limit(limit)
    return list(session.scalars(stats.visible(user, query)).unique())


def is_overdue(report: Report, at: datetime) -> bool:
    return triage.is_overdue(report, now=at)


def previous_pack(*, session: Session, covered: Coverage) -> MeetingPack | None:
    query = (select(MeetingPack).where(MeetingPack.quartier_codes == covered.codes)
             .order_by(MeetingPack.generated_at.desc(), MeetingPack.id.desc()).limit(1))
    return session.scalars(query).first()


def changes_since(*, session: Session, user: User, covered: Coverage, previous: MeetingPack,
                  figures: KeyFigures, tz: ZoneInfo) -> Changes:
    base = _everywhere(session, covered, tz)
    new_reports = session.scalar(stats.visible(user, select(func.count()).select_from(Report).where(
        *base, Report.created_at > previous.generated_at)))
    resolved = session.scalar(stats.visible(user, select(func.count()).select_from(Report).where(
        *base, Report.resolved_at > previous.generated_at)))
    then = previous.figures or {}
    now_values = figures.snapshot()
    rows = [(label, then.get(key), now_values[key]) for key, label in HEADLINES.items()]
    return Changes(previous=previous, new_reports=new_reports, resolved=resolved, figures=rows)


def record(*, session: Session, user: User, covered: Coverage, period: stats.Period, figures: KeyFigures,
           at: datetime, pdf: bytes | None = None, title: str | None = None) -> MeetingPack:
    pack = MeetingPack(
        quartier_codes=covered.codes, period_start=period.start, period_end=period.end, generated_at=at,
        generated_by_user_id=user.id, figures=figures.snapshot(), pdf=pdf, title=title,
    )
    session.add(pack)
    session.flush()
    return pack


@dataclass(frozen=True)
class Issued:
    pack: MeetingPack
    has_pdf: bool
    by: str | None  # who issued it


def issued(*, session: Session, user: User, limit: int = 200) -> list[Issued]:
    """The packs issued, newest first: all for coordinators and admins, a group's own quartiers' for a group."""
    role = access.role(user)
    if role not in access.STAFF_ALL and role is not states.Role.GROUPE:
        raise errors.Forbidden("interdit", "Seuls les coordinateurs et les groupes opérationnels voient les dossiers.")
    query = (select(MeetingPack, MeetingPack.pdf.is_not(None), User.full_name)
             .outerjoin(User, User.id == MeetingPack.generated_by_user_id)
             .order_by(MeetingPack.generated_at.desc(), MeetingPack.id.desc()).limit(limit))
    rows = [Issued(pack=p, has_pdf=has, by=by) for p, has, by in session.execute(query)]
    if role is states.Role.GROUPE:
        mine = _my_codes(session, user)
        rows = [r for r in rows if set(r.pack.quartier_codes) <= mine]
    return rows


def pdf_of(*, session: Session, pack: MeetingPack) -> bytes:
    pdf = session.scalar(select(MeetingPack.pdf).where(MeetingPack.id == pack.id))
    if pdf is None:
        raise errors.NotFound("dossier_sans_pdf", "Ce dossier a été édité avant la conservation des PDF : "
                                                  "éditez-le à nouveau.")
    return pdf


def one(*, session: Session, user: User, pack_id: int) -> MeetingPack:
    """A pack issued, if this user may read it (404 otherwise, as if it did not exist)."""
    found = session.get(MeetingPack, pack_id)
    role = access.role(user)
    if found is not None and role is states.Role.GROUPE and set(found.quartier_codes) <= _my_codes(session, user):
        return found
    if found is not None and role in access.STAFF_ALL:
        return found
    if role not in access.STAFF_ALL and role is not states.Role.GROUPE:
        raise errors.Forbidden("interdit", "Seuls les coordinateurs et les groupes opérationnels voient les dossiers.")
    raise errors.NotFound("dossier_inconnu", "Dossier de séance introuvable.")
