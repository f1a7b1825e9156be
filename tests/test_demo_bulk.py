"""Bulk demo data: consistent with the workflow and the perimeters, spread out, and repeatable."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gusp import demo_bulk, states
from tests.builders_stats import at

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

NOW = at(2026, 11, 25, 18, 0)


def generate(session, settings, size=3000, seed=7):
    return demo_bulk.generate(session=session, settings=settings, size=size, seed=seed, now=NOW)


def one(session, sql: str):
    return session.execute(text(sql)).one()


def test_makes_the_reports_and_their_created_events(session, settings):
    result = generate(session, settings)

    assert result.created == 3000 and result.events == 3000
    assert session.scalar(text("SELECT count(*) FROM reports")) == 3000
    assert session.scalar(text(
        "SELECT count(*) FROM report_events e JOIN reports r ON r.id = e.report_id "
        "WHERE e.kind = 'created' AND e.at = r.created_at")) == 3000
    assert session.scalar(text("SELECT count(DISTINCT reference) FROM reports")) == 3000


def test_statuses_follow_the_milestones(session, settings):
    generate(session, settings)
    broken = {
        "new with a milestone": "status = 'nouveau' AND (acknowledged_at IS NOT NULL OR assigned_at IS NOT NULL)",
        "resolved without a date": "status IN ('resolu', 'clos') AND resolved_at IS NULL",
        "open with a resolution": "status IN ('nouveau', 'pris_en_compte', 'en_cours') AND resolved_at IS NOT NULL",
        "closed without a date": "status IN ('clos', 'rejete') AND closed_at IS NULL",
        "out of order": "NOT (created_at <= coalesce(acknowledged_at, created_at) "
                        "AND coalesce(acknowledged_at, created_at) <= coalesce(assigned_at, acknowledged_at, created_at) "
                        "AND coalesce(assigned_at, acknowledged_at, created_at) <= coalesce(resolved_at, 'infinity') "
                        "AND coalesce(resolved_at, created_at) <= coalesce(closed_at, 'infinity'))",
        "in the future": f"created_at > '{NOW.isoformat()}' OR resolved_at > '{NOW.isoformat()}' "
                         f"OR closed_at > '{NOW.isoformat()}'",
        "deadline without assignment": "(due_at IS NULL) <> (assigned_at IS NULL)",
        "rejected without reason": "status = 'rejete' AND rejection_reason IS NULL",
        "merged but not rejected": "master_report_id IS NOT NULL AND status <> 'rejete'",
        "wrong quartier": "attribution = 'perimetre' AND NOT EXISTS (SELECT 1 FROM quartiers q "
                          "WHERE q.id = reports.quartier_id AND ST_Intersects(q.geom, reports.location))",
        "outside, yet inside": "attribution = 'hors_perimetre' AND EXISTS (SELECT 1 FROM quartiers q "
                               "WHERE ST_Intersects(q.geom, reports.location))",
    }
    for name, condition in broken.items():
        assert session.scalar(text(f"SELECT count(*) FROM reports WHERE {condition}")) == 0, name


def test_spread_over_quartiers_categories_partners_months_and_statuses(session, settings):
    generate(session, settings)
    quartiers, categories, partners, months = one(session, """
        SELECT count(DISTINCT quartier_id), count(DISTINCT category_code), count(DISTINCT partner_id),
               count(DISTINCT date_trunc('month', created_at AT TIME ZONE 'Europe/Paris'))
        FROM reports""")
    assert quartiers == 4 and categories == 15 and partners == len(demo_bulk.PARTNERS) and months >= 36
    statuses = dict(session.execute(text("SELECT status, count(*) FROM reports GROUP BY 1")).all())
    assert set(statuses) == {s.value for s in states.ReportStatus}
    outside, duplicates = one(session, "SELECT avg((attribution = 'hors_perimetre')::int), "
                                       "count(master_report_id) FROM reports")
    assert 0.03 < outside < 0.12 and duplicates > 30
    proprete, autre = one(session, "SELECT count(*) FILTER (WHERE category_code = 'proprete'), "
                                   "count(*) FILTER (WHERE category_code = 'autre') FROM reports")
    assert proprete > 8 * autre
    # Handling times: the fast partner (Propreté, median 3 days) against the slow one (Voirie, 16 days).
    fast, slow = (session.scalar(text(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - assigned_at) / 86400) "
        "FROM reports r JOIN partners p ON p.id = r.partner_id WHERE p.name = :n AND resolved_at IS NOT NULL"),
        {"n": name}) for name in (demo_bulk.PARTNERS[0][0], demo_bulk.PARTNERS[1][0]))
    assert 2 < fast < 4.5 and 10 < slow < 22


def test_the_same_seed_gives_the_same_reports(session, settings):
    generate(session, settings, size=500, seed=11)
    first = session.execute(text(
        "SELECT category_code, status, created_at, ST_AsText(location) FROM reports ORDER BY id")).all()
    session.rollback()  # back to an empty database (the test's savepoint); the sequences go on
    generate(session, settings, size=500, seed=11)
    again = session.execute(text(
        "SELECT category_code, status, created_at, ST_AsText(location) FROM reports ORDER BY id")).all()
    assert first == again
