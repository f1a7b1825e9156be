"""The meeting pack (dossier de séance) of quartiers, the whole commune or hors périmètre over a
period, as an A4 PDF.

Cover and key figures (each with its definition), what changed since the previous pack, the
figures pages (`pack_tables`), a map per quartier, the open and overdue reports by partner with
their photos, and before/after photos of resolved ones. The pack is recorded with its figures and
its PDF in the same transaction: no PDF, no record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Spacer
from sqlalchemy.orm import Session

from gusp import packs, states, stats
from gusp.config import Settings
from gusp.models import Report, User
from gusp.models.diagnostics import MeetingPack
from gusp.pdf import drawing, layout, mapdata, pack_tables, typography
from gusp.public import redact
from gusp.storage import PhotoStorage

_THUMB = 16 * mm
_STATUS_COLOURS = {
    **{s: drawing.OPEN_COLOUR for s in states.OPEN},
    **{s: drawing.RESOLVED_COLOUR for s in states.RESOLVED},
    **{s: drawing.CLOSED_COLOUR for s in states.CLOSED},
}
_DRAW_ORDER = {**{s: 0 for s in states.CLOSED}, **{s: 1 for s in states.RESOLVED}, **{s: 2 for s in states.OPEN}}
MAP_POINTS = 3000  # per map: beyond, a sample (a meeting map of 100,000 dots is a blot, and a slow one)
OPEN_LISTED = 25  # per partner: the most overdue open reports listed, the others counted
MAP_LEGEND = ((drawing.OPEN_COLOUR, "Ouvert"), (drawing.RESOLVED_COLOUR, "Résolu"),
              (drawing.CLOSED_COLOUR, "Clos ou rejeté"))


@dataclass(frozen=True)
class Pack:
    pdf: bytes
    record: MeetingPack
    figures: packs.KeyFigures
    changes: packs.Changes | None


@dataclass(frozen=True)
class _Context:
    session: Session
    storage: PhotoStorage
    user: User
    covered: packs.Coverage
    period: stats.Period
    tz: ZoneInfo
    at: datetime
    st: layout.Styles


def generate(*, session: Session, settings: Settings, storage: PhotoStorage, user: User, quartier_codes: list[str],
             start: date, end: date) -> Pack:
    """Check, compute, draw, then record the pack with its PDF; any refusal comes before anything is written."""
    covered = packs.coverage(session=session, codes=quartier_codes)
    period = packs.check_period(start, end)
    packs.require_pack(session=session, user=user, covered=covered)
    tz = ZoneInfo(settings.timezone)
    at = packs.now(session)
    figures = packs.key_figures(session=session, user=user, covered=covered, period=period, tz=tz, at=at,
                                commune_population=settings.commune_population)
    previous = packs.previous_pack(session=session, covered=covered)
    changes = (packs.changes_since(session=session, user=user, covered=covered, previous=previous,
                                   figures=figures, tz=tz) if previous else None)
    ctx = _Context(session=session, storage=storage, user=user, covered=covered, period=period, tz=tz, at=at,
                   st=layout.styles())
    ask = pack_tables.Ask(session=session, user=user, scope=covered.scope(period), tz=tz, now=at)
    st = ctx.st
    story = [*_cover(ctx, figures), PageBreak(), *_changes(ctx, changes), PageBreak(),
             *pack_tables.months(st, figures), *pack_tables.categories(st, figures), CondPageBreak(60 * mm),
             pack_tables.quartiers(st, figures), *pack_tables.delays(st, ask), *pack_tables.deadlines(st, ask),
             *pack_tables.backlog(st, ask), *pack_tables.hotspots(st, ask), *_maps(ctx), *_open_by_partner(ctx),
             *_before_after(ctx)]
    title = f"Dossier de séance — {covered.label}"
    pdf = layout.render(story, title=title, st=ctx.st,
                        footer=f"GUSP — dossier de séance — {covered.label} — "
                               f"{typography.period(period.start, period.end)}")
    record = packs.record(session=session, user=user, covered=covered, period=period, figures=figures, at=at,
                          pdf=pdf, title=f"{title} — {typography.period(period.start, period.end)}")
    return Pack(pdf=pdf, record=record, figures=figures, changes=changes)


def _cover(ctx: _Context, figures: packs.KeyFigures) -> list[Flowable]:
    st = ctx.st
    local = ctx.at.astimezone(ctx.tz)
    median = figures.median_resolution_days
    story: list[Flowable] = [
        Spacer(1, 20 * mm),
        st.p("Dossier de séance", st.title),
        Spacer(1, 4 * mm),
        st.p(_coverage_line(ctx.covered), st.subtitle),
        st.p(f"Période {typography.period(ctx.period.start, ctx.period.end)}", st.subtitle),
        Spacer(1, 3 * mm),
        st.p(f"Édité le {typography.day_time(local)} par {ctx.user.full_name}.", st.small),
        st.p("Service Renouvellement urbain et Gestion urbaine et sociale de proximité — "
             "doublons fusionnés exclus des chiffres.", st.small),
        Spacer(1, 10 * mm),
        st.p("Chiffres clés", st.h1),
        layout.key_figure_grid([
            (st.number(figures.received), packs.HEADLINES["received"]),
            (typography.percent(figures.received_resolved, figures.received, narrow=st.fonts.narrow_space),
             "des reçus sur la période sont résolus à ce jour "
             f"({typography.plural(figures.received_resolved, 'signalement', narrow=st.fonts.narrow_space)})"),
            (st.number(figures.resolved), packs.HEADLINES["resolved"]),
            (st.number(figures.open_now), packs.HEADLINES["open_now"]),
            (st.number(figures.overdue_now), packs.HEADLINES["overdue_now"]),
            ("—" if median is None else st.number(median, 1), packs.HEADLINES["median_resolution_days"]),
        ], st=st),
        Spacer(1, 2 * mm),
        *[st.p(f"{packs.HEADLINES[key]} : {definition}", st.small) for key, definition in packs.DEFINITIONS.items()],
        Spacer(1, 6 * mm),
    ]
    return story


def _coverage_line(covered: packs.Coverage) -> str:
    if covered.kind != "quartiers":
        return covered.label
    return f"{'Quartier' if len(covered.quartiers) == 1 else 'Quartiers'} : {covered.label}"


def _changes(ctx: _Context, changes: packs.Changes | None) -> list[Flowable]:
    st = ctx.st
    if changes is None:
        return [st.p("Depuis le dossier précédent", st.h1),
                st.p("Premier dossier édité pour ces quartiers : pas encore de comparaison.")]
    previous = changes.previous
    when = typography.day(previous.generated_at.astimezone(ctx.tz))
    narrow = st.fonts.narrow_space
    rows = [[st.p("Chiffre", st.cell_bold), st.p("Dossier précédent", st.cell_bold), st.p("Ce dossier", st.cell_bold),
             st.p("Évolution", st.cell_bold)]]
    for label, then, now in changes.figures:
        rows.append([st.p(label, st.cell), st.p(_value(then, st), st.cell), st.p(_value(now, st), st.cell),
                     st.p(_trend(then, now, narrow), st.cell)])
    return [
        st.p("Depuis le dossier précédent", st.h1),
        st.p(f"Dossier précédent édité le {when} (période "
             f"{typography.period(previous.period_start, previous.period_end)}). Depuis : "
             f"{typography.plural(changes.new_reports, 'nouveau signalement', 'nouveaux signalements', narrow=narrow)}"
             f", {typography.plural(changes.resolved, 'signalement résolu', 'signalements résolus', narrow=narrow)}."),
        Spacer(1, 2 * mm),
        layout.data_table(rows, widths=[layout.CONTENT_WIDTH * w for w in (0.46, 0.18, 0.18, 0.18)], st=st),
    ]


def _value(value: float | None, st: layout.Styles) -> str:
    if value is None:
        return "—"
    return st.number(value, 1 if isinstance(value, float) else 0)


def _trend(then: float | None, now: float | None, narrow: str) -> str:
    if then is None or now is None:
        return "—"
    if now == then:
        return "= stable"
    arrow = "↑ en hausse" if now > then else "↓ en baisse"
    decimals = 1 if isinstance(now, float) or isinstance(then, float) else 0
    return f"{arrow} ({'+' if now > then else '−'}{typography.number(abs(now - then), decimals=decimals, narrow=narrow)})"


def _maps(ctx: _Context) -> list[Flowable]:
    st = ctx.st
    story: list[Flowable] = [
        PageBreak(), st.p("Carte des signalements reçus sur la période", st.h1),
        st.p("Périmètres officiels (ANCT, Licence Ouverte) en Lambert-93, sans fond de plan ; chaque point est un "
             "signalement, de la couleur de son statut à ce jour.", st.small),
        Spacer(1, 2 * mm),
    ]
    if not ctx.covered.quartiers:
        return story + [st.p("Signalements hors de tout périmètre : pas de carte de quartier.")]
    height = 105 * mm if len(ctx.covered.quartiers) > 1 else 170 * mm
    narrow = st.fonts.narrow_space
    for quartier in ctx.covered.quartiers:
        scope = stats.Scope(period=ctx.period, quartier=(quartier.code,))
        where = stats.conditions(session=ctx.session, scope=scope, tz=ctx.tz)
        total, points = mapdata.sampled_points(ctx.session, where, limit=MAP_POINTS,
                                               visible=lambda q: stats.visible(ctx.user, q))
        points.sort(key=lambda p: _DRAW_ORDER[states.ReportStatus(p[2])])  # open ones drawn last, on top
        layers = drawing.MapLayers(
            polygons=mapdata.perimeters(ctx.session, [quartier.id]),
            points=[drawing.MapPoint(x, y, colour=_STATUS_COLOURS[states.ReportStatus(status)])
                    for x, y, status in points],
        )
        shown = "" if total <= MAP_POINTS else \
            f" ({typography.plural(len(points), 'représenté', narrow=narrow)}, tirés au hasard)"
        note = "" if quartier.geom is not None else " (périmètre pas encore dessiné)"
        story.append(KeepTogether([
            st.p(f"{quartier.nom} — {typography.plural(total, 'signalement', narrow=narrow)}{shown}{note}", st.h2),
            drawing.map_drawing(layers, width=layout.CONTENT_WIDTH, height=height, font=st.fonts.regular,
                                legend=MAP_LEGEND),
        ]))
        story.append(Spacer(1, 3 * mm))
    return story


def _open_by_partner(ctx: _Context) -> list[Flowable]:
    st = ctx.st
    narrow = st.fonts.narrow_space
    groups = packs.open_by_partner(session=ctx.session, user=ctx.user, covered=ctx.covered, tz=ctx.tz, at=ctx.at,
                                   limit=OPEN_LISTED)
    story: list[Flowable] = [PageBreak(), st.p("Signalements ouverts et en retard, par partenaire", st.h1)]
    if not groups:
        return story + [st.p("Aucun signalement ouvert à ce jour.")]
    for group in groups:
        story += [
            CondPageBreak(40 * mm),
            st.p(f"{group.name} — {typography.plural(group.open, 'ouvert', narrow=narrow)}, "
                 f"dont {typography.plural(group.overdue, 'en retard', 'en retard', narrow=narrow)}", st.h2),
        ]
        if group.open > len(group.listed):
            story.append(st.p(f"Les {len(group.listed)} plus en retard (échéance la plus ancienne d'abord) ; "
                              f"la liste complète est dans l'export des signalements.", st.small))
        story.append(_report_table(ctx, group.listed))
    return story


def _report_table(ctx: _Context, reports: list[Report]) -> Flowable:
    st = ctx.st
    header = ["Référence", "Catégorie et description", "Reçu le", "Échéance", "Avant", "Après"]
    rows: list[list] = [[st.p(h, st.cell_bold) for h in header]]
    highlight = []
    for i, report in enumerate(reports, start=1):
        overdue = packs.is_overdue(report, ctx.at)
        if overdue:
            highlight.append(i)
        rows.append([
            st.lines([report.reference, states.STATUS_LABELS[states.ReportStatus(report.status)]]),
            st.p(f"{report.category.label} : {public_text(report.description)}", st.cell),
            st.p(typography.short_day(report.created_at.astimezone(ctx.tz)), st.cell),
            st.p(_deadline(report, ctx, overdue), st.cell_bold if overdue else st.cell),
            _thumb(ctx, report, "signalement"),
            _thumb(ctx, report, "apres"),
        ])
    widths = [33 * mm, 0, 21 * mm, 26 * mm, 18 * mm, 18 * mm]
    widths[1] = layout.CONTENT_WIDTH - sum(widths)
    return layout.data_table(rows, widths=widths, st=st, highlight=highlight)


def _deadline(report: Report, ctx: _Context, overdue: bool) -> str:
    if report.due_at is None:
        return "non fixée"
    due = typography.short_day(report.due_at.astimezone(ctx.tz))
    if not overdue:
        return due
    days = (ctx.at - report.due_at).days
    return f"{due} — en retard de {typography.plural(max(days, 1), 'jour', narrow=ctx.st.fonts.narrow_space)}"


def _thumb(ctx: _Context, report: Report, kind: str) -> Flowable:
    first = next((p for p in report.photos if p.kind == kind), None)
    return layout.photo(ctx.storage, first.thumbnail_key if first else None, width=_THUMB, height=_THUMB, st=ctx.st)


def _before_after(ctx: _Context) -> list[Flowable]:
    st = ctx.st
    reports = packs.resolved_with_photos(session=ctx.session, user=ctx.user, covered=ctx.covered,
                                         period=ctx.period, tz=ctx.tz)
    if not reports:
        return []
    rows: list[list] = [[st.p(h, st.cell_bold) for h in ("Signalement", "Avant", "Après")]]
    for report in reports:
        by = f" par {report.partner.name}" if report.partner else ""
        resolved = f"Résolu le {typography.day(report.resolved_at.astimezone(ctx.tz))}{by}"
        rows.append([
            st.lines([f"{report.reference} — {report.category.label}", public_text(report.description), resolved]),
            _thumb_big(ctx, report, "signalement"), _thumb_big(ctx, report, "apres"),
        ])
    widths = [layout.CONTENT_WIDTH * 0.4, layout.CONTENT_WIDTH * 0.3, layout.CONTENT_WIDTH * 0.3]
    return [PageBreak(), st.p("Avant / après : signalements résolus sur la période", st.h1),
            layout.data_table(rows, widths=widths, st=st)]


def _thumb_big(ctx: _Context, report: Report, kind: str) -> Flowable:
    first = next((p for p in report.photos if p.kind == kind), None)
    return layout.photo(ctx.storage, first.thumbnail_key if first else None, width=48 * mm, height=36 * mm,
                        st=ctx.st)


def public_text(text: str | None, limit: int = 220) -> str:
    """The description as the public site shows it (phone numbers and e-mails masked), shortened.

    Never verbatim: residents write "appelez Mme … au 06 …" in it.
    """
    text = " ".join(redact.redact_text(text or "").split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"
