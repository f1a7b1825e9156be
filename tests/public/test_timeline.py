"""Staff notes never leak: every event kind, with an internal note, is walked through the public timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from gusp import photo_blur, retention, states, storage, triage
from gusp.models import Category, Report, ReportEvent
from gusp.photos import blur
from gusp.public import moderation
from gusp.public import views as public_views
from gusp.public.redact import PHONE_MASK
from tests import builders, builders_routing
from tests.test_retention import sessions  # noqa: F401 — fixture

NOTE = "vu avec M. Durand 06 12 34 56 78"


def _every_kind_with_internal_notes(session, settings, sessions) -> tuple[Report, Report]:
    user, _ = builders.staff(session, "coordinateur")
    report = builders.make_report(session, settings, photos=[builders.jpeg(colour=(3, 1, 4))])
    report.published = False
    moderation.publish(session=session, report=report, actor=user)
    moderation.set_photo_hidden(session=session, report=report, photo_id=report.photos[0].id, hidden=True, actor=user)
    moderation.set_photo_hidden(session=session, report=report, photo_id=report.photos[0].id, hidden=False, actor=user)
    photo_blur.add_rectangles(session=session, settings=settings, storage=storage.from_settings(settings),
                              report=report, photo=report.photos[0], rectangles=[blur.Region(10, 10, 50, 50)],
                              actor=user)
    master = builders.make_report(session, settings)
    partner = builders_routing.make_partner(session)
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=user, note=NOTE)
    triage.set_priority(session=session, settings=settings, report=report, priority=states.Priority.HAUTE, actor=user)
    triage.change_category(session=session, settings=settings, report=report,
                           category=session.get(Category, "encombrants"), actor=user)
    triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.EN_COURS,
                         actor=user, note=NOTE)
    triage.comment(session=session, report=report, actor=user, note=NOTE)
    triage.merge(session=session, settings=settings, duplicate=report, master=master, actor=user, note=NOTE)
    session.execute(text("UPDATE reports SET closed_at = now() - interval '30 months' WHERE id = :i"), {"i": report.id})
    retention.purge_photos(sessionmaker=sessions, storage=storage.from_settings(settings), settings=settings)
    return report, master


def test_every_event_kind_keeps_its_note_internal(session, settings, sessions):
    report, master = _every_kind_with_internal_notes(session, settings, sessions)
    kinds = {e.kind for r in (report, master) for e in public_views.events(session, r)}
    assert kinds == {k.value for k in states.EventKind}, "a new event kind must be walked here"
    for r in (report, master):
        public = public_views.to_public(session, r, settings=settings)
        assert NOTE not in public.model_dump_json() and "Durand" not in public.model_dump_json()
        assert all(e.note is None or "Durand" not in e.note for e in public.timeline)
    merged = public_views.to_public(session, report, settings=settings)
    assert {e.kind for e in merged.timeline} <= {k.value for k in public_views.PUBLIC_KINDS}
    assert merged.timeline[-1].note == f"Ce problème a déjà été signalé : suivez le signalement {master.reference}."


def test_no_event_kind_shows_an_unflagged_note():
    """Whatever the kind, an event whose note is not flagged public shows no note."""
    for kind in states.EventKind:
        event = ReportEvent(kind=kind, note=NOTE, note_public=False, data={"new": "en_cours", "old": "nouveau"},
                            actor="Coordinatrice", at=datetime.now(UTC))
        shown = public_views.public_event(event)
        assert shown is None or shown.note is None, kind
    internal_kinds = set(states.EventKind) - public_views.PUBLIC_KINDS
    for kind in internal_kinds:
        event = ReportEvent(kind=kind, note=NOTE, note_public=True, data={"new": 1}, actor="Coordinatrice",
                            at=datetime.now(UTC))
        assert public_views.public_event(event) is None, kind


def test_flagged_notes_are_public_and_redacted(session, settings):
    user, _ = builders.staff(session, "coordinateur")
    report = builders.make_report(session, settings)
    master = builders.make_report(session, settings)
    triage.comment(session=session, report=report, actor=user, note=NOTE, public=True)
    triage.change_status(session=session, settings=settings, report=report, to=states.ReportStatus.PRIS_EN_COMPTE,
                         actor=user, note=NOTE, note_public=True)
    triage.merge(session=session, settings=settings, duplicate=report, master=master, actor=user, note=NOTE,
                 note_public=True)
    notes = [e.note for e in public_views.to_public(session, report, settings=settings).timeline if e.note]
    assert notes[:3] == [f"vu avec M. Durand {PHONE_MASK}"] * 3
