"""Likely duplicates on geography: radius per category, time window, open and unmerged only,
nearest first; distances checked against pyproj's geodesic (0.5 m); attaching to a master."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gusp import duplicates, errors, states
from gusp.config import Settings
from gusp.models import Category, Report, ReportEvent

from . import builders as b
from . import builders_routing as r

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)


@pytest.fixture
def centre(session: Session) -> tuple[float, float]:
    return b.point_in(session, b.ENCAGNANE)


def report_at(session: Session, settings: Settings, at: tuple[float, float], category: str = "proprete") -> Report:
    return b.make_report(session, settings, lat=at[0], lon=at[1], category=category)


def found(pairs: list[tuple[Report, float]]) -> list[int]:
    return [report.id for report, _ in pairs]


def test_just_inside_the_radius_is_found_just_outside_is_not(session: Session, settings: Settings, centre):
    inside = report_at(session, settings, r.moved(*centre, 30, 49))
    report_at(session, settings, r.moved(*centre, 200, 51))
    before_sending = duplicates.likely_duplicates_at(
        session=session, settings=settings, category_code="proprete", lat=centre[0], lon=centre[1]
    )
    new = report_at(session, settings, centre)

    pairs = duplicates.likely_duplicates(session=session, settings=settings, report=new)

    assert found(pairs) == found(before_sending) == [inside.id]
    assert pairs[0][1] == pytest.approx(49, abs=0.5)


def test_nearest_first_with_geodesic_distances(session: Session, settings: Settings, centre):
    points = {metres: r.moved(*centre, azimuth, metres) for metres, azimuth in ((40, 0), (5, 135), (25, 270), (12, 80))}
    made = {metres: report_at(session, settings, point) for metres, point in points.items()}
    new = report_at(session, settings, centre)

    pairs = duplicates.likely_duplicates(session=session, settings=settings, report=new)

    assert found(pairs) == [made[m].id for m in (5, 12, 25, 40)]
    for report, distance in pairs:
        metres = next(m for m, rep in made.items() if rep.id == report.id)
        assert distance == pytest.approx(r.distance_m(centre, points[metres]), abs=0.5)
    assert found(duplicates.likely_duplicates(session=session, settings=settings, report=new, limit=2)) == [
        made[5].id, made[12].id,
    ]


def test_the_report_itself_is_not_its_own_duplicate(session: Session, settings: Settings, centre):
    new = report_at(session, settings, centre)
    assert duplicates.likely_duplicates(session=session, settings=settings, report=new) == []


def test_reports_of_the_window_before_and_after_the_report(session: Session, settings: Settings, centre):
    window = timedelta(days=settings.duplicate_window_days)
    recent = report_at(session, settings, r.moved(*centre, 0, 10))
    old = report_at(session, settings, r.moved(*centre, 90, 10))
    later = report_at(session, settings, r.moved(*centre, 180, 12))
    much_later = report_at(session, settings, r.moved(*centre, 270, 10))
    new = report_at(session, settings, centre)
    now = new.created_at
    new.created_at = now - timedelta(days=1)
    recent.created_at = new.created_at - window + timedelta(minutes=1)
    old.created_at = new.created_at - window - timedelta(minutes=1)
    later.created_at = now  # after the report: shown too, both ways (it could be merged into this one)
    much_later.created_at = new.created_at + window + timedelta(minutes=1)

    assert found(duplicates.likely_duplicates(session=session, settings=settings, report=new)) == [recent.id, later.id]
    at = duplicates.likely_duplicates_at(
        session=session, settings=settings, category_code="proprete", lat=centre[0], lon=centre[1],
        now=now - timedelta(days=1),
    )
    assert found(at) == [new.id, recent.id]  # nearest first; nothing after `now` for a report being written


def test_other_categories_closed_and_merged_reports_are_left_out(session: Session, settings: Settings, centre):
    same = report_at(session, settings, r.moved(*centre, 0, 20))
    report_at(session, settings, r.moved(*centre, 45, 10), category="encombrants")
    for status in (states.ReportStatus.RESOLU, states.ReportStatus.CLOS, states.ReportStatus.REJETE):
        report_at(session, settings, r.moved(*centre, 90, 10)).status = status
    in_progress = report_at(session, settings, r.moved(*centre, 135, 15))
    in_progress.status = states.ReportStatus.EN_COURS
    merged = report_at(session, settings, r.moved(*centre, 180, 5))
    duplicates.attach_duplicate(session=session, duplicate=merged, master=same)
    new = report_at(session, settings, centre)

    assert found(duplicates.likely_duplicates(session=session, settings=settings, report=new)) == [
        in_progress.id, same.id,
    ]


def test_each_category_has_its_own_radius(session: Session, settings: Settings, centre):
    session.get(Category, "encombrants").duplicate_radius_m = 200
    bulky = report_at(session, settings, r.moved(*centre, 60, 150), category="encombrants")
    report_at(session, settings, r.moved(*centre, 60, 150), category="proprete")
    new_bulky = report_at(session, settings, centre, category="encombrants")
    new_litter = report_at(session, settings, centre, category="proprete")

    assert found(duplicates.likely_duplicates(session=session, settings=settings, report=new_bulky)) == [bulky.id]
    assert duplicates.likely_duplicates(session=session, settings=settings, report=new_litter) == []


def test_a_search_before_sending_checks_its_input(session: Session, settings: Settings):
    with pytest.raises(errors.InvalidFields) as refused:
        duplicates.likely_duplicates_at(
            session=session, settings=settings, category_code="inconnue", lat=91.0, lon=float("nan")
        )
    assert [e.field for e in refused.value.errors] == ["category", "lat", "lon"]


def test_the_search_reads_only_the_open_reports_index(session: Session, settings: Settings, centre):
    session.execute(
        text(
            """
            INSERT INTO reports (reference, status, source, category_code, description, location, attribution)
            SELECT 'BENCH-' || i, CASE WHEN i % 10 = 0 THEN 'nouveau' ELSE 'clos' END, 'web',
                   (ARRAY['proprete', 'encombrants', 'voirie'])[1 + i % 3], '',
                   ST_SetSRID(ST_MakePoint(:lon + (random() - 0.5) * 0.06, :lat + (random() - 0.5) * 0.04), 4326),
                   'hors_perimetre'
            FROM generate_series(1, 20000) i
            """
        ),
        {"lat": centre[0], "lon": centre[1]},
    )
    session.execute(text("ANALYZE reports"))
    params = {
        "category": "proprete", "radius": 50.0, "lon": centre[1], "lat": centre[0],
        "reference": session.scalar(text("SELECT now()")), "window_days": 30, "after_days": 30, "exclude_id": 0,
        "limit": 10,
    }
    plan = session.execute(text("EXPLAIN (FORMAT JSON) " + duplicates.SEARCH_SQL), params).scalar_one()
    # the partial index of open, unmerged reports (migration 0016): closed ones are not even read
    assert "ix_reports_open_location_geog" in json.dumps(plan)


def test_attach_points_to_the_master_and_counts_it_without_touching_statuses(
    session: Session, settings: Settings, centre
):
    master = report_at(session, settings, centre)
    duplicate = report_at(session, settings, r.moved(*centre, 0, 10))
    events = session.scalar(select(func.count()).select_from(ReportEvent))

    duplicates.attach_duplicate(session=session, duplicate=duplicate, master=master)

    assert (duplicate.master_report_id, master.similar_count, duplicate.similar_count) == (master.id, 1, 0)
    assert duplicate.status == master.status == states.ReportStatus.NOUVEAU
    assert session.scalar(select(func.count()).select_from(ReportEvent)) == events


def test_attaching_to_a_duplicate_follows_to_its_master(session: Session, settings: Settings, centre):
    master, first, second = (report_at(session, settings, r.moved(*centre, 0, m)) for m in (0, 5, 10))
    duplicates.attach_duplicate(session=session, duplicate=first, master=master)
    duplicates.attach_duplicate(session=session, duplicate=second, master=first)
    assert second.master_report_id == master.id
    assert (master.similar_count, first.similar_count) == (2, 0)


def test_a_master_attached_elsewhere_brings_its_duplicates(session: Session, settings: Settings, centre):
    older, master, follower = (report_at(session, settings, r.moved(*centre, 0, m)) for m in (0, 5, 10))
    duplicates.attach_duplicate(session=session, duplicate=follower, master=master)
    duplicates.attach_duplicate(session=session, duplicate=master, master=older)
    assert (master.master_report_id, follower.master_report_id) == (older.id, older.id)
    assert (older.similar_count, master.similar_count) == (2, 0)


@pytest.mark.parametrize("case", ["self", "cycle", "already merged"])
def test_impossible_merges_are_refused(case: str, session: Session, settings: Settings, centre):
    a, b_, c = (report_at(session, settings, r.moved(*centre, 0, m)) for m in (0, 5, 10))
    duplicates.attach_duplicate(session=session, duplicate=b_, master=a)
    duplicate, master = {"self": (a, a), "cycle": (a, b_), "already merged": (b_, c)}[case]
    before = session.execute(select(Report.id, Report.master_report_id, Report.similar_count).order_by(Report.id)).all()

    with pytest.raises(errors.Conflict) as refused:
        duplicates.attach_duplicate(session=session, duplicate=duplicate, master=master)

    assert refused.value.code == "fusion_impossible"
    assert refused.value.message.startswith("Fusion impossible : ")
    after = session.execute(select(Report.id, Report.master_report_id, Report.similar_count).order_by(Report.id)).all()
    assert after == before
