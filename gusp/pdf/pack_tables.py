"""The figures pages of the meeting pack: each chart with its table, a total row, and one line
saying what is counted under each figure.

Every number comes unrounded from `gusp.stats*` (the dashboard's own functions) and is rounded
once, here, by `typography.number` / `typography.percent`.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer

from gusp import packs, stats_delays, stats_places, stats_rates
from gusp.pdf import drawing, layout, typography
from gusp.stats_tables import Ask  # what the tables ask the statistics: the dashboard's own

HOTSPOTS_SHOWN = 10
DEFINITIONS = {
    "months": "Reçus : signalements créés dans le mois (heure de Paris), doublons fusionnés exclus ; un an plus "
              "tôt : le même mois de l'année précédente.",
    "categories": "Reçus sur la période, par catégorie ; part : reçus de la catégorie ÷ reçus ; un an plus tôt : "
                  "la même période de l'année précédente.",
    "quartiers": "Reçus : créés pendant la période. Pour 1 000 habitants : reçus × 1 000 ÷ population du quartier "
                 "(Insee), arrondi à une décimale. % résolus : part des reçus résolus à ce jour. Encore ouverts : "
                 "parmi les reçus, ceux encore ouverts à ce jour.",
    "delays": "Signalements résolus pendant la période (date de résolution), par partenaire en charge (affecté) ; "
              "médiane (p50) et 90ᵉ centile (p90) en jours, percentile_cont (interpolation linéaire), arrondis à "
              "une décimale.",
    "deadlines": "Signalements reçus pendant la période munis d'une échéance (fixée à l'affectation), par partenaire "
                 "en charge ; en retard = résolus après l'échéance ou ouverts au-delà à ce jour ; part en retard = "
                 "en retard ÷ (en retard + résolus dans le délai).",
    "backlog": "Instantané à l'édition : signalements ouverts, quelle que soit leur date de réception, par "
               "partenaire en charge et par âge depuis leur création ; en retard = échéance dépassée.",
    "hotspots": "Lieux où au moins 3 signalements de la même catégorie reçus sur la période sont à moins de 50 m "
                "les uns des autres (ST_ClusterDBSCAN, Lambert-93) ; les plus gros d'abord.",
}


def _widths(*shares: float) -> list[float]:
    return [layout.CONTENT_WIDTH * s for s in shares]


def _definition(st: layout.Styles, key: str) -> Flowable:
    return st.p(f"Définition : {DEFINITIONS[key]}", st.small)


def _evolution(now: int, then: int, narrow: str) -> str:
    if not then:
        return "—"
    change = 100 * (now - then) / then
    sign = "+" if change > 0 else ("−" if change < 0 else "")
    return f"{sign}{typography.number(abs(change), narrow=narrow)}{typography.NBSP}%"


def months(st: layout.Styles, figures: packs.KeyFigures) -> list[Flowable]:
    narrow = st.fonts.narrow_space
    items = [(typography.month(m), n) for m, n in figures.by_month]
    rows = [[st.p(h, st.cell_bold) for h in ("Mois", "Reçus", "Un an plus tôt", "Évolution")]]
    for (month, n), before in zip(figures.by_month, figures.month_before, strict=True):
        rows.append([typography.month(month), st.number(n), st.number(before), _evolution(n, before, narrow)])
    rows.append([st.p("Total", st.cell_bold), st.number(figures.received), st.number(figures.received_before),
                 _evolution(figures.received, figures.received_before, narrow)])
    return [
        st.p("Signalements reçus par mois", st.h1),
        drawing.column_chart(items, width=layout.CONTENT_WIDTH, height=55 * mm, font=st.fonts.regular),
        Spacer(1, 3 * mm),
        layout.data_table(rows, widths=_widths(0.4, 0.2, 0.2, 0.2), st=st),
        _definition(st, "months"),
    ]


def categories(st: layout.Styles, figures: packs.KeyFigures) -> list[Flowable]:
    narrow = st.fonts.narrow_space
    story: list[Flowable] = [CondPageBreak(60 * mm), st.p("Signalements reçus par catégorie", st.h1)]
    if not figures.by_category:
        return story + [st.p("Aucun signalement reçu sur la période ni un an plus tôt."), _definition(st, "categories")]
    shown = [(label, n) for label, n in figures.by_category if n]
    if shown:
        story.append(drawing.bar_chart(shown, width=layout.CONTENT_WIDTH, font=st.fonts.regular))
    rows = [[st.p(h, st.cell_bold) for h in ("Catégorie", "Reçus", "Part", "Un an plus tôt")]]
    for (label, n), before in zip(figures.by_category, figures.category_before, strict=True):
        rows.append([st.p(label, st.cell), st.number(n), typography.percent(n, figures.received, narrow=narrow),
                     st.number(before)])
    rows.append([st.p("Total", st.cell_bold), st.number(figures.received),
                 typography.percent(figures.received, figures.received, narrow=narrow),
                 st.number(figures.received_before)])
    return story + [Spacer(1, 3 * mm), layout.data_table(rows, widths=_widths(0.46, 0.18, 0.18, 0.18), st=st),
                    _definition(st, "categories")]


def quartiers(st: layout.Styles, figures: packs.KeyFigures) -> Flowable:
    """Every quartier of the pack, with a total row; "—" and a note where a rate cannot be given."""
    narrow = st.fonts.narrow_space
    headers = ("Quartier", "Reçus", "Pour 1 000 habitants", "% résolus", "Encore ouverts")
    rows = [[st.p(h, st.cell_bold) for h in headers]]
    notes: list[str] = []

    def line(r: stats_rates.RateRow, bold: bool = False) -> list:
        mark = ""
        if r.note and (r.per_1000 is None or r.quartier_code is None):
            if r.note not in notes:
                notes.append(r.note)
            mark = "*" * (notes.index(r.note) + 1)
        return [st.p(f"{r.quartier_name}{mark}", st.cell_bold if bold else st.cell), st.number(r.count),
                "—" if r.per_1000 is None else st.number(r.per_1000, 1),
                typography.percent(r.resolved, r.count, narrow=narrow), st.number(r.open)]

    rows += [line(r) for r in figures.by_quartier]
    total = figures.quartier_total
    if total is not None and len(figures.by_quartier) > 1:
        rows.append(line(total, bold=True))
    if figures.commune is not None:
        rows.append(line(figures.commune, bold=True))
    parts: list[Flowable] = [st.p("Par quartier", st.h1),
                             layout.data_table(rows, widths=_widths(0.4, 0.12, 0.2, 0.14, 0.14), st=st)]
    parts += [st.p(f"{'*' * i} {note}", st.small) for i, note in enumerate(notes, start=1)]
    parts.append(_definition(st, "quartiers"))
    return KeepTogether(parts)


def _days(st: layout.Styles, value: float | None) -> str:
    return "—" if value is None else st.number(value, 1)


def delays(st: layout.Styles, ask: Ask) -> list[Flowable]:
    result = stats_delays.delays(**ask.args(), group_by=("partner",))
    story: list[Flowable] = [CondPageBreak(70 * mm), st.p("Délais de traitement par partenaire", st.h1)]
    if not result.data:
        return story + [st.p("Aucun signalement résolu sur la période."), _definition(st, "delays")]
    medians = [(r.partner_name or "", r.creation_to_resolution.median_days or 0.0) for r in result.data]
    story.append(drawing.bar_chart(medians, width=layout.CONTENT_WIDTH, font=st.fonts.regular, decimals=1))
    headers = ("Partenaire", "Résolus", "Création → résolution p50 (j)", "p90 (j)", "Affectés", "Affectation → "
               "résolution p50 (j)", "p90 (j)")
    rows = [[st.p(h, st.cell_bold) for h in headers]]

    def line(name: str, r: stats_delays.DelayRow, bold: bool = False) -> list:
        c, a = r.creation_to_resolution, r.assignment_to_resolution
        return [st.p(name, st.cell_bold if bold else st.cell), st.number(c.count), _days(st, c.median_days),
                _days(st, c.p90_days), st.number(a.count), _days(st, a.median_days), _days(st, a.p90_days)]

    rows += [line(r.partner_name or "", r) for r in result.data]
    rows.append(line("Ensemble", result.total, bold=True))
    return story + [Spacer(1, 2 * mm), st.p("Graphique : médiane création → résolution, en jours.", st.small),
                    layout.data_table(rows, widths=_widths(0.25, 0.1, 0.16, 0.09, 0.12, 0.19, 0.09), st=st),
                    _definition(st, "delays")]


def deadlines(st: layout.Styles, ask: Ask) -> list[Flowable]:
    narrow = st.fonts.narrow_space
    result = stats_delays.deadlines(**ask.args(), group_by="partner")
    story: list[Flowable] = [CondPageBreak(60 * mm), st.p("Respect des échéances par partenaire", st.h1)]
    if not result.data:
        return story + [st.p("Aucun signalement avec échéance reçu sur la période."), _definition(st, "deadlines")]
    headers = ("Partenaire", "Avec échéance", "Résolus dans le délai", "Résolus en retard", "Ouverts dans le délai",
               "Ouverts en retard", "Part en retard")
    rows = [[st.p(h, st.cell_bold) for h in headers]]

    def line(r: stats_delays.DeadlineRow, bold: bool = False) -> list:
        late = r.resolved_late + r.open_overdue
        return [st.p(r.label, st.cell_bold if bold else st.cell), st.number(r.with_deadline),
                st.number(r.resolved_on_time), st.number(r.resolved_late), st.number(r.open_on_time),
                st.number(r.open_overdue), typography.percent(late, late + r.resolved_on_time, narrow=narrow)]

    rows += [line(r) for r in result.data]
    rows.append(line(result.total, bold=True))
    return story + [layout.data_table(rows, widths=_widths(0.28, 0.12, 0.12, 0.12, 0.12, 0.12, 0.12), st=st),
                    _definition(st, "deadlines")]


def backlog(st: layout.Styles, ask: Ask) -> list[Flowable]:
    result = stats_delays.backlog(**ask.args(), group_by="partner")
    story: list[Flowable] = [CondPageBreak(60 * mm), st.p("Stock de signalements ouverts, par âge", st.h1)]
    if not result.data:
        return story + [st.p("Aucun signalement ouvert à ce jour."), _definition(st, "backlog")]
    keys = list(result.buckets)
    headers = ["Partenaire", "Ouverts", *result.buckets.values(), "En retard"]
    rows = [[st.p(h, st.cell_bold) for h in headers]]

    def line(r: stats_delays.BacklogRow, bold: bool = False) -> list:
        return [st.p(r.label, st.cell_bold if bold else st.cell), st.number(r.open),
                *[st.number(getattr(r, k)) for k in keys], st.number(r.overdue)]

    rows += [line(r) for r in result.data]
    rows.append(line(result.total, bold=True))
    return story + [layout.data_table(rows, widths=_widths(0.3, 0.1, 0.12, 0.12, 0.12, 0.12, 0.12), st=st),
                    _definition(st, "backlog")]


def hotspots(st: layout.Styles, ask: Ask) -> list[Flowable]:
    result = stats_places.hotspots(**ask.args(), limit=HOTSPOTS_SHOWN)
    story: list[Flowable] = [CondPageBreak(50 * mm), st.p("Points chauds récurrents", st.h1)]
    if not result.data:
        return story + [st.p("Aucun point chaud sur la période."), _definition(st, "hotspots")]
    headers = ("Catégorie", "Signalements", "Quartier", "Rayon (m)", "Premier", "Dernier")
    rows = [[st.p(h, st.cell_bold) for h in headers]]
    for h in result.data:
        rows.append([st.p(h.category_label, st.cell), st.number(h.count), st.p(h.quartier_name, st.cell),
                     st.number(h.radius_m), typography.short_day(h.first_at), typography.short_day(h.last_at)])
    shown = typography.plural(result.count, "point chaud", "points chauds", narrow=st.fonts.narrow_space)
    if result.count > len(result.data):
        shown += f" ; les {len(result.data)} plus importants"
    return story + [st.p(f"{shown} :", st.small),
                    layout.data_table(rows, widths=_widths(0.28, 0.16, 0.22, 0.1, 0.12, 0.12), st=st),
                    _definition(st, "hotspots")]
