"""The dashboard's tables as plain rows, for the spreadsheets' summary sheet and the CSV downloads.

Each table lists every period, category or quartier of either column (this period, a year
earlier), carries its total row and the line saying what it counts. Values are unrounded numbers;
`kinds` says how each column is shown (the one rounding happens in `exports_tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gusp import errors, stats, stats_delays, stats_rates
from gusp.models import User

# Column kinds: text; int; rate (per 1,000, one decimal); share (0–1, whole percent); days (one decimal).
KEYS = ("periodes", "categories", "quartiers", "delais", "echeances", "stock")


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    definition: str
    headers: list[str]
    kinds: list[str]
    rows: list[list] = field(default_factory=list)
    footer: list[list] = field(default_factory=list)  # total rows


@dataclass(frozen=True)
class Ask:
    session: Session
    user: User
    scope: stats.Scope
    tz: ZoneInfo
    now: datetime
    commune_population: int | None = None

    def args(self, scope: stats.Scope | None = None) -> dict:
        return {"session": self.session, "user": self.user, "scope": scope or self.scope, "tz": self.tz,
                "now": self.now}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def periods(ask: Ask) -> Table:
    now = stats.volumes(**ask.args(), group_by=(), interval="month")
    before = stats.volumes(**ask.args(ask.scope.previous_year()), group_by=(), interval="month")
    counted = {r.period: r.count for r in now.data}
    counted_before = {r.period: r.count for r in before.data}
    rows = []
    for period, previous in zip(now.periods, before.periods, strict=False):
        rows.append([period, counted.get(period, 0), counted_before.get(previous, 0)])
    return Table("periodes", "Signalements reçus par mois", "Signalements créés dans le mois (heure de Paris), "
                 "doublons fusionnés exclus ; un an plus tôt : le même mois de l'année précédente.",
                 ["Mois", "Reçus", "Un an plus tôt"], ["text", "int", "int"], rows,
                 [["Total", now.total, before.total]])


def categories(ask: Ask) -> Table:
    now = stats.volumes(**ask.args(), group_by=("category",), interval="none")
    before = stats.volumes(**ask.args(ask.scope.previous_year()), group_by=("category",), interval="none")
    labels = {r.category_code: r.category_label for r in [*now.data, *before.data]}
    counted = {r.category_code: r.count for r in now.data}
    counted_before = {r.category_code: r.count for r in before.data}
    codes = sorted(labels, key=lambda c: (-counted.get(c, 0), -counted_before.get(c, 0), labels[c] or ""))
    rows = [[labels[c], counted.get(c, 0), _share(counted.get(c, 0), now.total), counted_before.get(c, 0)]
            for c in codes]
    return Table("categories", "Signalements reçus par catégorie", "Reçus sur la période par catégorie ; part : "
                 "reçus de la catégorie ÷ reçus ; un an plus tôt : la même période de l'année précédente.",
                 ["Catégorie", "Reçus", "Part", "Un an plus tôt"], ["text", "int", "share", "int"], rows,
                 [["Total", now.total, _share(now.total, now.total), before.total]])


def quartiers(ask: Ask) -> Table:
    result = stats_rates.rates(**ask.args(), commune_population=ask.commune_population)

    def line(r: stats_rates.RateRow) -> list:
        return [r.quartier_name, r.population, r.count, r.per_1000, r.resolved, r.share_resolved, r.open, r.note or ""]

    footer = [line(result.total)] + ([line(result.commune)] if result.commune else [])
    return Table("quartiers", "Signalements par quartier, pour 1 000 habitants", "Reçus : créés pendant la période ; "
                 "pour 1 000 habitants : reçus × 1 000 ÷ population Insee (pas de taux sans périmètre) ; % résolus : "
                 "part des reçus résolus à ce jour ; encore ouverts : parmi les reçus.",
                 ["Quartier", "Habitants", "Reçus", "Pour 1 000 habitants", "Résolus", "% résolus", "Encore ouverts",
                  "Note"], ["text", "int", "int", "rate", "int", "share", "int", "text"],
                 [line(r) for r in result.data], footer)


def delays(ask: Ask) -> Table:
    result = stats_delays.delays(**ask.args(), group_by=("partner",))

    def line(name: str, r: stats_delays.DelayRow) -> list:
        c, a = r.creation_to_resolution, r.assignment_to_resolution
        return [name, c.count, c.median_days, c.p90_days, c.mean_days, a.count, a.median_days, a.p90_days]

    return Table("delais", "Délais de traitement par partenaire (jours)", "Signalements résolus pendant la période, "
                 "par partenaire en charge ; médiane (p50) et 90ᵉ centile (p90) : percentile_cont, interpolation "
                 "linéaire.", ["Partenaire", "Résolus", "Création → résolution p50", "p90", "moyenne", "Affectés",
                               "Affectation → résolution p50", "p90"],
                 ["text", "int", "days", "days", "days", "int", "days", "days"],
                 [line(r.partner_name or "", r) for r in result.data], [line("Ensemble", result.total)])


def deadlines(ask: Ask) -> Table:
    result = stats_delays.deadlines(**ask.args(), group_by="partner")

    def line(r: stats_delays.DeadlineRow) -> list:
        return [r.label, r.with_deadline, r.resolved_on_time, r.resolved_late, r.open_on_time, r.open_overdue,
                r.share_late]

    return Table("echeances", "Échéances par partenaire", "Signalements reçus pendant la période munis d'une "
                 "échéance, par partenaire en charge ; retard des ouverts apprécié à la date de génération.",
                 ["Partenaire", "Avec échéance", "Résolus dans le délai", "Résolus en retard", "Ouverts dans le délai",
                  "Ouverts en retard", "Part en retard"], ["text", "int", "int", "int", "int", "int", "share"],
                 [line(r) for r in result.data], [line(result.total)])


def backlog(ask: Ask) -> Table:
    result = stats_delays.backlog(**ask.args(), group_by="quartier")
    keys = list(result.buckets)

    def line(r: stats_delays.BacklogRow) -> list:
        return [r.label, r.open, *[getattr(r, k) for k in keys], r.overdue]

    return Table("stock", "Signalements ouverts aujourd'hui, par ancienneté", "Instantané à la date de génération : "
                 "signalements ouverts, quelle que soit leur date de réception, par âge depuis leur création.",
                 ["Quartier", "Ouverts", *result.buckets.values(), "En retard"], ["text"] + ["int"] * (len(keys) + 2),
                 [line(r) for r in result.data], [line(result.total)])


BUILDERS = {"periodes": periods, "categories": categories, "quartiers": quartiers, "delais": delays,
            "echeances": deadlines, "stock": backlog}


def one(ask: Ask, key: str) -> Table:
    if key not in BUILDERS:
        raise errors.NotFound("tableau_inconnu", f"Tableaux disponibles : {', '.join(KEYS)}.")
    return BUILDERS[key](ask)


def dashboard(ask: Ask) -> list[Table]:
    """Every table of the dashboard, in its order."""
    return [BUILDERS[key](ask) for key in KEYS]
