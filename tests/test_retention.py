"""Contact details are deleted once the report they follow has been finished for the retention period."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from gusp import retention, storage, triage
from gusp.models import ReportEvent, ReporterContact
from tests import builders

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)


def with_contact(session, settings, email):
    return builders.make_report(session, settings, contact_email=email, contact_consent="true")


def age(session, report, column, days):
    session.execute(text(f"UPDATE reports SET {column} = now() - make_interval(days => :d) WHERE id = :i"),
                    {"d": days, "i": report.id})


def kept(session) -> set[str]:
    return set(session.scalars(select(ReporterContact.email)))


def test_only_contacts_past_the_retention_period_are_deleted(session, settings):
    old_closed = with_contact(session, settings, "ancien@example.org")
    triage.change_status(session=session, settings=settings, report=old_closed, to="rejete", actor=None,
                         reason="non_fonde")
    age(session, old_closed, "closed_at", 400)
    old_resolved = with_contact(session, settings, "resolu@example.org")
    triage.change_status(session=session, settings=settings, report=old_resolved, to="resolu", actor=None)
    age(session, old_resolved, "resolved_at", 400)
    recent = with_contact(session, settings, "recent@example.org")
    triage.change_status(session=session, settings=settings, report=recent, to="resolu", actor=None)
    age(session, recent, "resolved_at", 300)
    open_one = with_contact(session, settings, "ouvert@example.org")
    age(session, open_one, "created_at", 900)

    deleted = retention.purge_contacts(session=session, settings=settings)

    assert deleted == 2
    assert kept(session) == {"recent@example.org", "ouvert@example.org"}


def test_the_reporter_of_a_merged_duplicate_is_kept_while_the_master_is_open(session, settings):
    master = with_contact(session, settings, "maitre@example.org")
    duplicate = with_contact(session, settings, "doublon@example.org")
    triage.merge(session=session, settings=settings, duplicate=duplicate, master=master, actor=None)
    age(session, duplicate, "closed_at", 400)  # the duplicate was closed long ago…

    assert retention.purge_contacts(session=session, settings=settings) == 0  # …but follows the open master

    triage.change_status(session=session, settings=settings, report=master, to="resolu", actor=None)
    age(session, master, "resolved_at", 400)
    assert retention.purge_contacts(session=session, settings=settings) == 2
    assert kept(session) == set()


def test_the_period_comes_from_the_settings(session, settings):
    report = with_contact(session, settings, "court@example.org")
    triage.change_status(session=session, settings=settings, report=report, to="resolu", actor=None)
    age(session, report, "resolved_at", 40)

    assert retention.purge_contacts(session=session, settings=settings) == 0
    short = settings.model_copy(update={"contact_retention_months": 1})
    assert retention.purge_contacts(session=session, settings=short) == 1


@pytest.fixture
def sessions(session):
    """Sessions of the test's connection: their commits are savepoints, rolled back with the test."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


def closed_with_photo(session, settings, *, days: int, colour=(10, 10, 10)):
    report = builders.make_report(session, settings, photos=[builders.jpeg(colour=colour)])
    triage.change_status(session=session, settings=settings, report=report, to="rejete", actor=None,
                         reason="non_fonde")
    age(session, report, "closed_at", days)
    return report


def test_photos_of_reports_closed_past_the_retention_go_files_rows_and_an_event(session, settings, sessions):
    old = closed_with_photo(session, settings, days=750, colour=(1, 2, 3))  # 24 months ≈ 730 days
    old_keys = [old.photos[0].display_key, old.photos[0].thumbnail_key]
    recent = closed_with_photo(session, settings, days=700, colour=(4, 5, 6))
    shared = builders.make_report(session, settings, photos=[builders.jpeg(colour=(7, 8, 9))])  # open, same photo…
    twin = closed_with_photo(session, settings, days=900, colour=(7, 8, 9))  # …as this old one
    open_one = builders.make_report(session, settings, photos=[builders.jpeg(colour=(1, 1, 1))])
    age(session, open_one, "created_at", 2000)
    store = storage.from_settings(settings)

    result = retention.purge_photos(sessionmaker=sessions, storage=store, settings=settings)

    assert (result.reports, result.photos) == (2, 2)
    assert result.files == 2  # the twin's files are still named by the open report's photo
    for report in (old, recent, shared, twin, open_one):
        session.expire(report)
    assert old.photos == [] and twin.photos == [] and len(recent.photos) == len(shared.photos) == 1
    assert not any(store.exists(k) for k in old_keys)
    assert store.exists(shared.photos[0].display_key)
    events = session.scalars(select(ReportEvent).where(ReportEvent.report_id == old.id,
                                                       ReportEvent.kind == "photos_purged")).all()
    assert [e.data["photos"] for e in events] == [1] and not events[0].note_public
    assert retention.purge_photos(sessionmaker=sessions, storage=store, settings=settings).photos == 0


def test_retention_months_come_from_the_settings(session, settings, sessions):
    report = closed_with_photo(session, settings, days=200)
    store = storage.from_settings(settings)
    assert retention.purge_photos(sessionmaker=sessions, storage=store, settings=settings).photos == 0
    shorter = settings.model_copy(update={"photo_retention_months": 6})
    assert retention.purge_photos(sessionmaker=sessions, storage=store, settings=shorter).photos == 1
    session.expire(report)
    assert report.photos == []
