"""Contact details are deleted once the report they follow has been finished for the retention period."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from gusp import retention, triage
from gusp.models import ReporterContact
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
