"""Statistics on a dataset with known timestamps: exact counts, local months, per-1,000 rates from
the real populations, percentile_cont medians and 90th percentiles, age buckets, deadlines,
hotspots, and the visibility rules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from gusp import errors, stats, stats_delays, stats_places, stats_rates
from tests import builders
from tests.builders_stats import PARIS, POPULATION, at, partner, report

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

Q1_2024 = stats.Scope(period=stats.Period(start=date(2024, 1, 1), end=date(2024, 3, 31)))
NOW = at(2024, 4, 10, 12, 0)
DAY = timedelta(days=1)


@pytest.fixture
def coordinator(session):
    return builders.staff(session, "coordinateur")[0]


@pytest.fixture
def quarter(session, settings):
    """Q1 2024: five resolved proprete reports in Encagnane (1, 2, 3, 4, 10 days), two eclairage in Jas de
    Bouffan (one resolved across a local month boundary), one merged duplicate, two just outside."""
    bailleur = partner(session, "Bailleur test")
    metropole = partner(session, "Métropole test", "metropole")
    t0 = at(2024, 1, 10, 9, 0)
    first = None
    for days in (1, 2, 3, 4, 10):
        made = report(session, settings, created=t0, status="resolu", partner=bailleur,
                      assigned=t0 + DAY / 2, resolved=t0 + days * DAY)
        first = first or made
    # 1 March 00:30 in Paris is still 29 February in UTC: it counts in March.
    report(session, settings, created=at(2024, 3, 1, 0, 30), quartier=builders.JAS_DE_BOUFFAN, category="eclairage",
           status="resolu", partner=metropole, assigned=at(2024, 3, 1, 6, 30), resolved=at(2024, 3, 3, 0, 30))
    report(session, settings, created=at(2024, 2, 15, 10), quartier=builders.JAS_DE_BOUFFAN, category="eclairage")
    report(session, settings, created=at(2024, 2, 1), status="rejete", master=first, closed=at(2024, 2, 2))
    # Outside the local period, though inside it in UTC.
    report(session, settings, created=at(2023, 12, 31, 23, 30), status="rejete", closed=at(2024, 1, 2))
    report(session, settings, created=at(2024, 4, 1, 0, 30), status="rejete", closed=at(2024, 4, 2))
    return {"bailleur": bailleur, "metropole": metropole}


def volumes(session, user, scope=Q1_2024, **kwargs):
    return stats.volumes(session=session, user=user, scope=scope, tz=PARIS, now=NOW, **kwargs)


def test_volumes_by_quartier_category_status_and_local_month(session, coordinator, quarter):
    result = volumes(session, coordinator)

    assert [(r.period, r.quartier_code, r.category_code, r.status, r.count) for r in result.data] == [
        ("2024-01", builders.ENCAGNANE, "proprete", "resolu", 5),
        ("2024-02", builders.JAS_DE_BOUFFAN, "eclairage", "nouveau", 1),
        ("2024-03", builders.JAS_DE_BOUFFAN, "eclairage", "resolu", 1),
    ]
    assert result.total == 7
    assert result.data[0].period_start == date(2024, 1, 1)
    assert result.data[0].quartier_name == "Encagnane" and result.data[0].status_label == "Résolu"
    assert result.meta.include_duplicates is False and "exclus" in result.meta.duplicates
    assert result.meta.restricted is False and result.meta.timezone == "Europe/Paris"


def test_duplicates_count_only_when_asked_and_quarters_years_cut_locally(session, coordinator, quarter):
    scope = stats.Scope(period=Q1_2024.period, include_duplicates=True)
    with_duplicates = volumes(session, coordinator, scope, group_by=("status",), interval="quarter")
    assert [(r.period, r.status, r.count) for r in with_duplicates.data] == [
        ("2024-T1", "nouveau", 1), ("2024-T1", "rejete", 1), ("2024-T1", "resolu", 6)]
    assert "inclus" in with_duplicates.meta.duplicates

    whole = stats.Scope(period=stats.Period(start=date(2023, 1, 1), end=date(2024, 12, 31)))
    by_year = volumes(session, coordinator, whole, group_by=(), interval="year")
    assert [(r.period, r.count) for r in by_year.data] == [("2023", 1), ("2024", 8)]


def test_filters_narrow_the_figures(session, coordinator, quarter):
    only = stats.Scope(period=Q1_2024.period, quartier=(builders.JAS_DE_BOUFFAN,), category=("eclairage",))
    assert volumes(session, coordinator, only, interval="none").total == 2
    by_partner = stats.Scope(period=Q1_2024.period, partner=(quarter["metropole"].id,))
    assert volumes(session, coordinator, by_partner).total == 1
    assert volumes(session, coordinator, stats.Scope(period=Q1_2024.period, source=("web",))).total == 0
    with pytest.raises(errors.Unprocessable) as refused:
        volumes(session, coordinator, stats.Scope(period=Q1_2024.period, quartier=("QN99999X",)))
    assert refused.value.code == "quartier_inconnu"
    with pytest.raises(errors.Unprocessable):
        volumes(session, coordinator, group_by=("humeur",))


def test_rates_per_1000_inhabitants_from_the_perimeters_populations(session, coordinator, quarter):
    result = stats_rates.rates(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)
    rows = {r.quartier_code: r for r in result.data}

    encagnane, jas = rows[builders.ENCAGNANE], rows[builders.JAS_DE_BOUFFAN]
    assert (encagnane.population, encagnane.count, encagnane.resolved) == (POPULATION[builders.ENCAGNANE], 5, 5)
    assert encagnane.per_1000 == 5000 / 4642  # unrounded: rounded once, where it is shown
    assert encagnane.share_resolved == 1.0
    assert (jas.count, jas.resolved, jas.open, jas.per_1000, jas.share_resolved) == (2, 1, 1, 2000 / 6900, 0.5)
    assert rows["QN01314M"].count == 0 and rows["QN01314M"].per_1000 == 0.0 and rows["QN01314M"].share_resolved is None


def test_a_quartier_without_perimeter_has_no_rate_and_stays_out_of_the_total(session, coordinator, quarter):
    """Pinette (1,903 inhabitants, no perimeter): no report can be attributed to it, so no "0 pour 1 000"."""
    result = stats_rates.rates(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)
    pinette = {r.quartier_code: r for r in result.data}["VEILLE-13001-PINETTE"]

    assert (pinette.population, pinette.count, pinette.per_1000) == (1903, 0, None)
    assert "Périmètre non chargé" in pinette.note
    assert result.total.population == sum(POPULATION.values()) - 1903 == 14027
    assert (result.total.count, result.total.per_1000, result.total.resolved) == (7, 7000 / 14027, 6)
    assert result.total.share_resolved == 6 / 7

def test_handling_times_median_p90_mean_by_partner(session, coordinator, quarter):
    result = stats_delays.delays(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)
    rows = {r.partner_name: r for r in result.data}

    bailleur = rows["Bailleur test"]
    assert bailleur.resolved == 5
    created = bailleur.creation_to_resolution
    assert (created.count, created.median_days, created.p90_days, created.mean_days) == (5, 3.0, pytest.approx(7.6), 4.0)
    assigned = bailleur.assignment_to_resolution
    assert (assigned.count, assigned.median_days, assigned.p90_days, assigned.mean_days) == (5, 2.5, pytest.approx(7.1), 3.5)
    metropole = rows["Métropole test"].assignment_to_resolution
    assert (metropole.median_days, metropole.p90_days, metropole.mean_days) == (1.75, 1.75, 1.75)
    assert rows["Métropole test"].creation_to_resolution.median_days == 2.0
    total = result.total.creation_to_resolution  # 1, 2, 2, 3, 4, 10 days
    assert (result.total.resolved, total.median_days, total.p90_days, total.mean_days) == (6, 2.5, pytest.approx(7.0), pytest.approx(22 / 6))
    assert result.meta.basis.startswith("Signalements résolus")


def test_handling_times_by_category_and_an_unassigned_resolution(session, settings, coordinator):
    report(session, settings, created=at(2024, 2, 1, 8), status="resolu", resolved=at(2024, 2, 1, 20))
    result = stats_delays.delays(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW,
                                 group_by=("partner", "category"))
    (row,) = result.data
    assert (row.partner_name, row.category_code, row.resolved) == ("Sans partenaire", "proprete", 1)
    assert row.creation_to_resolution.median_days == 0.5
    assert row.assignment_to_resolution.count == 0 and row.assignment_to_resolution.median_days is None


def test_backlog_by_age_buckets_now(session, settings, coordinator):
    bailleur = partner(session, "Bailleur test")
    for age in (3, 7, 29, 30):  # 7 days exactly is no longer "under 7"; 30 exactly is "30 to 90"
        report(session, settings, created=NOW - age * DAY)
    report(session, settings, created=NOW - 100 * DAY, quartier=builders.JAS_DE_BOUFFAN, status="en_cours",
           partner=bailleur, assigned=NOW - 99 * DAY, due=NOW - 50 * DAY)
    report(session, settings, created=NOW - 10 * DAY, status="resolu", resolved=NOW - DAY)
    report(session, settings, created=NOW - 200 * DAY, status="rejete", closed=NOW - 150 * DAY)

    result = stats_delays.backlog(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)
    rows = {r.key: r for r in result.data}

    encagnane, jas = rows[builders.ENCAGNANE], rows[builders.JAS_DE_BOUFFAN]
    assert (encagnane.open, encagnane.under_7, encagnane.from_7_to_30, encagnane.from_30_to_90, encagnane.over_90,
            encagnane.overdue) == (4, 1, 2, 1, 0, 0)
    assert (jas.open, jas.over_90, jas.overdue, jas.label) == (1, 1, 1, "Jas de Bouffan")
    assert (result.total.open, result.total.overdue) == (5, 1)
    assert result.meta.period_start is None and result.meta.basis.startswith("Instantané")
    by_status = stats_delays.backlog(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW,
                                     group_by="status")
    assert {r.key: r.open for r in by_status.data} == {"nouveau": 4, "en_cours": 1}


def test_deadlines_kept_missed_pending_and_overdue(session, settings, coordinator):
    bailleur, metropole = partner(session, "Bailleur test"), partner(session, "Métropole test", "metropole")
    start = at(2024, 1, 10)
    common = {"created": start, "assigned": start}
    report(session, settings, **common, partner=bailleur, status="resolu", due=at(2024, 1, 20), resolved=at(2024, 1, 18))
    report(session, settings, **common, partner=bailleur, status="resolu", due=at(2024, 1, 20), resolved=at(2024, 1, 25))
    report(session, settings, **common, partner=bailleur, status="en_cours", due=at(2024, 5, 1))
    report(session, settings, **common, partner=metropole, status="en_cours", due=at(2024, 3, 1))
    report(session, settings, **common, partner=metropole, status="rejete", due=at(2024, 2, 1), closed=at(2024, 1, 11))
    report(session, settings, created=start)  # no deadline: not counted

    result = stats_delays.deadlines(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)
    rows = {r.label: r for r in result.data}

    b = rows["Bailleur test"]
    assert (b.with_deadline, b.resolved_on_time, b.resolved_late, b.open_on_time, b.open_overdue, b.share_late) == (
        3, 1, 1, 1, 0, 0.5)
    m = rows["Métropole test"]
    assert (m.with_deadline, m.open_overdue, m.closed_unresolved, m.share_late) == (2, 1, 1, 1.0)
    assert (result.total.with_deadline, result.total.share_late) == (5, 0.6667)


def test_hotspots_cluster_same_category_reports_within_50_m(session, settings, coordinator):
    lat, lon = builders.point_in(session, builders.ENCAGNANE)
    created = at(2024, 2, 1)
    for dlat, dlon in ((0, 0), (0.0001, 0), (0, 0.0001)):  # about 11 m and 8 m apart
        report(session, settings, created=created, lat=lat + dlat, lon=lon + dlon)
    for _ in range(2):  # only two: not a hotspot
        report(session, settings, created=created, category="eclairage", lat=lat, lon=lon)
    for step in range(3):  # three, but 200 m apart
        report(session, settings, created=created, category="voirie", lat=lat + 0.0018 * step, lon=lon)

    result = stats_places.hotspots(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)

    assert result.count == 1
    (spot,) = result.data
    assert (spot.category_code, spot.count, spot.quartier_code) == ("proprete", 3, builders.ENCAGNANE)
    assert spot.lat == pytest.approx(lat + 0.0001 / 3, abs=2e-6) and spot.lon == pytest.approx(lon + 0.0001 / 3, abs=2e-6)
    assert 5 < spot.radius_m < 12
    assert spot.first_at == spot.last_at == date(2024, 2, 1)
    wider = stats_places.hotspots(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW,
                                  eps_m=250, min_points=2)
    assert sorted((h.category_code, h.count) for h in wider.data) == [("eclairage", 2), ("proprete", 3), ("voirie", 3)]


def test_a_partner_counts_only_what_was_handed_to_it(session, settings):
    mine, other = partner(session, "Bailleur test"), partner(session, "Métropole test", "metropole")
    created = at(2024, 2, 1)
    for who in (mine, mine, other):
        report(session, settings, created=created, status="pris_en_compte", partner=who, assigned=created)
    report(session, settings, created=created, partner=mine)  # proposed by routing, not handed over yet
    member = builders.staff(session, "partenaire", partner_id=mine.id)[0]

    result = volumes(session, member, group_by=("partner",), interval="none")

    assert [(r.partner_name, r.count) for r in result.data] == [("Bailleur test", 2)]
    assert result.meta.restricted is True and "organisation" in result.meta.restriction
    rates = stats_rates.rates(session=session, user=member, scope=Q1_2024, tz=PARIS, now=NOW)
    assert [r.quartier_code for r in rates.data] == [builders.ENCAGNANE]


def test_periods_previous_year_and_default():
    leap = stats.Period(start=date(2024, 2, 29), end=date(2024, 3, 31))
    assert leap.previous_year() == stats.Period(start=date(2023, 2, 28), end=date(2023, 3, 31))
    assert stats.default_period(date(2026, 11, 25)) == stats.Period(start=date(2025, 12, 1), end=date(2026, 11, 25))
    assert stats.default_period(date(2026, 3, 5)).start == date(2025, 4, 1)
    start, end = stats.Period(start=date(2024, 3, 31), end=date(2024, 3, 31)).bounds(PARIS)
    assert end.timestamp() - start.timestamp() == 23 * 3600  # the day summer time starts


def test_partner_figures_count_the_partner_in_charge_not_the_one_proposed(session, settings, coordinator):
    """4 reports handed to the partner, 2 only proposed by routing: every partner figure says 4."""
    mine = partner(session, "Bailleur test")
    created = at(2024, 2, 1)
    for _ in range(4):
        report(session, settings, created=created, status="pris_en_compte", partner=mine, assigned=created,
               due=created + 40 * DAY)
    for _ in range(2):
        report(session, settings, created=created, partner=mine, due=created + 40 * DAY)  # proposed only

    by_partner = volumes(session, coordinator, group_by=("partner",), interval="none")
    assert [(r.partner_name, r.count) for r in by_partner.data] == [("Bailleur test", 4), ("Sans partenaire", 2)]
    filtered = volumes(session, coordinator, stats.Scope(period=Q1_2024.period, partner=(mine.id,)), group_by=())
    assert filtered.total == 4
    backlog = stats_delays.backlog(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW,
                                   group_by="partner")
    assert sorted((r.label, r.open) for r in backlog.data) == [("Bailleur test", 4), ("Sans partenaire", 2)]
    deadlines = stats_delays.deadlines(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW)
    assert sorted((r.label, r.with_deadline) for r in deadlines.data) == [("Bailleur test", 4), ("Sans partenaire", 2)]


def test_every_period_of_the_range_is_listed_even_without_reports(session, coordinator, quarter):
    whole = stats.Scope(period=stats.Period(start=date(2023, 11, 15), end=date(2024, 2, 10)))
    assert volumes(session, coordinator, whole, group_by=()).periods == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert volumes(session, coordinator, whole, group_by=(), interval="quarter").periods == ["2023-T4", "2024-T1"]
    assert volumes(session, coordinator, whole, group_by=(), interval="none").periods == []


def test_the_rate_outside_the_qpv_and_of_the_whole_commune(session, settings, coordinator, quarter):
    """147,000 inhabitants; the quartiers with a perimeter hold 14,027: 132,973 live hors périmètre
    (Pinette's 1,903 among them, since no report can be attributed to Pinette)."""
    outside = report(session, settings, created=at(2024, 2, 10), lat=43.5263, lon=5.4474)  # cours Mirabeau
    assert outside.quartier_id is None
    result = stats_rates.rates(session=session, user=coordinator, scope=Q1_2024, tz=PARIS, now=NOW,
                         commune_population=147_000)
    row = {r.quartier_code: r for r in result.data}[None]

    assert (row.quartier_name, row.population, row.count) == ("Hors périmètre", 147_000 - 14_027, 1)
    assert row.per_1000 == 1000 / 132_973 and "hors QPV" in row.note
    assert (result.total.count, result.total.population) == (7, 14_027)  # the QPV alone
    assert (result.commune.count, result.commune.population, result.commune.per_1000) == (8, 147_000, 8000 / 147_000)
    only_outside = stats.Scope(period=Q1_2024.period, quartier=(stats.OUTSIDE,))
    narrowed = stats_rates.rates(session=session, user=coordinator, scope=only_outside, tz=PARIS, now=NOW,
                           commune_population=147_000)
    assert [(r.quartier_code, r.count) for r in narrowed.data] == [(None, 1)] and narrowed.commune is None
