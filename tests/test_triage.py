"""The workflow: the transition table enforced in one place, milestones, events, assignment,
deadlines, re-routing, merging duplicates and resolution with an after photo."""

from __future__ import annotations

import io
from datetime import timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from gusp import errors, partners, states, storage, triage
from gusp.models import Category, OutboxMessage, Report, ReportEvent, ReportPhoto
from tests import builders

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

S = states.ReportStatus


def events(session, report) -> list[ReportEvent]:
    return list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                .order_by(ReportEvent.at, ReportEvent.id)))


def put_in(session, report, status: S) -> Report:
    """Test set-up only: place a report in a status without going through the workflow."""
    session.execute(text("UPDATE reports SET status = :s WHERE id = :i"), {"s": status.value, "i": report.id})
    session.expire(report)
    return report


def bailleur(session, **overrides):
    values = {"name": "Pays d'Aix Habitat", "kind": "bailleur", "emails": ["gusp@pah.example"], "delay_days": 10}
    return partners.create_partner(session=session, **{**values, **overrides})


FORBIDDEN = [(a, b) for a, b in product(S, S) if b not in states.TRANSITIONS[a]]


@pytest.mark.parametrize(("start", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_every_forbidden_transition_is_refused_and_changes_nothing(session, settings, start, target):
    report = put_in(session, builders.make_report(session, settings), start)
    before = [e.id for e in events(session, report)]

    with pytest.raises(errors.Conflict) as refused:
        triage.change_status(session=session, settings=settings, report=report, to=target, actor=None,
                             reason=states.RejectionReason.AUTRE)

    assert refused.value.status == 409 and refused.value.code == "transition_interdite"
    assert refused.value.details["allowed"] == sorted(s.value for s in states.TRANSITIONS[start])
    for allowed in states.TRANSITIONS[start]:
        assert states.STATUS_LABELS[allowed] in refused.value.message
    session.expire_all()
    assert session.get(Report, report.id).status == start
    assert [e.id for e in events(session, report)] == before


def test_the_whole_path_sets_each_milestone_once_and_logs_each_step(session, settings):
    report = builders.make_report(session, settings)
    for target in (S.PRIS_EN_COMPTE, S.EN_COURS, S.RESOLU, S.CLOS):
        triage.change_status(session=session, settings=settings, report=report, to=target, actor=None,
                             note=f"vers {target}", note_public=target is S.RESOLU)

    assert report.status == "clos"
    assert report.acknowledged_at <= report.resolved_at <= report.closed_at
    steps = [(e.kind, e.data.get("old"), e.data.get("new")) for e in events(session, report)]
    assert steps == [
        ("created", None, None),
        ("status_changed", "nouveau", "pris_en_compte"),
        ("status_changed", "pris_en_compte", "en_cours"),
        ("status_changed", "en_cours", "resolu"),
        ("status_changed", "resolu", "clos"),
    ]
    assert [e.note_public for e in events(session, report)][1:] == [False, False, True, False]


def test_rejection_needs_a_reason_and_can_be_reopened(session, settings):
    report = builders.make_report(session, settings)
    with pytest.raises(errors.Unprocessable, match="motif_manquant"):
        triage.change_status(session=session, settings=settings, report=report, to=S.REJETE, actor=None)
    assert report.status == "nouveau"

    triage.change_status(session=session, settings=settings, report=report, to=S.REJETE, actor=None,
                         reason=states.RejectionReason.NON_FONDE)
    assert (report.rejection_reason, report.closed_at is not None) == ("non_fonde", True)
    triage.change_status(session=session, settings=settings, report=report, to=S.NOUVEAU, actor=None)
    assert (report.status, report.rejection_reason, report.closed_at) == ("nouveau", None, None)


def test_a_resolved_report_reopened_loses_its_resolution_date(session, settings):
    report = put_in(session, builders.make_report(session, settings), S.EN_COURS)
    triage.change_status(session=session, settings=settings, report=report, to=S.RESOLU, actor=None)
    triage.change_status(session=session, settings=settings, report=report, to=S.PRIS_EN_COMPTE, actor=None)
    assert (report.status, report.resolved_at) == ("pris_en_compte", None)


def test_assignment_qualifies_sets_the_shorter_deadline_and_tells_the_partner(session, settings):
    session.get(Category, "ascenseurs").delay_days = 3
    partner = bailleur(session, delay_days=10)
    report = builders.make_report(session, settings, category="ascenseurs")

    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None)

    assert report.status == "pris_en_compte" and report.partner_id == partner.id
    assert report.due_at - report.assigned_at == timedelta(days=3)
    assert report.acknowledged_at is not None
    [mail] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "report_assigned")).all()
    assert mail.recipient == "gusp@pah.example" and report.reference in mail.subject
    kinds = [e.kind for e in events(session, report)]
    assert kinds == ["created", "status_changed", "assigned"]


@pytest.mark.parametrize(("priority", "days"), [("basse", 10), ("normale", 10), ("haute", 5), ("urgente", 1)])
def test_priority_shortens_the_deadline(session, settings, priority, days):
    partner = bailleur(session, delay_days=10)
    report = builders.make_report(session, settings)
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None)

    triage.set_priority(session=session, settings=settings, report=report, priority=states.Priority(priority),
                        actor=None)

    assert report.due_at - report.assigned_at == timedelta(days=days)


def test_without_any_deadline_the_default_applies_and_overdue_is_computed(session, settings):
    partner = bailleur(session, delay_days=None)
    report = builders.make_report(session, settings, category="autre")
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None)

    assert report.due_at - report.assigned_at == timedelta(days=settings.default_delay_days)
    assert not triage.is_overdue(report, now=report.assigned_at)
    assert triage.is_overdue(report, now=report.due_at + timedelta(seconds=1))
    triage.change_status(session=session, settings=settings, report=report, to=S.RESOLU, actor=None)
    assert not triage.is_overdue(report, now=report.due_at + timedelta(days=1))


def test_a_closed_report_cannot_be_assigned(session, settings):
    report = put_in(session, builders.make_report(session, settings), S.CLOS)
    with pytest.raises(errors.Conflict, match="signalement_ferme"):
        triage.assign(session=session, settings=settings, report=report, partner=bailleur(session), actor=None)


def test_changing_the_category_routes_again(session, settings):
    ville = partners.create_partner(session=session, name="Ville – propreté", kind="ville", emails=["p@ville.example"])
    lumiere = partners.create_partner(session=session, name="Ville – éclairage", kind="ville", emails=["e@ville.example"])
    partners.create_rule(session=session, category_code="proprete", partner_id=ville.id)
    partners.create_rule(session=session, category_code="eclairage", partner_id=lumiere.id)
    report = builders.make_report(session, settings, category="proprete")
    triage.assign(session=session, settings=settings, report=report, partner=ville, actor=None)

    triage.change_category(session=session, settings=settings, report=report,
                           category=session.get(Category, "eclairage"), actor=None)

    assert (report.category_code, report.partner_id) == ("eclairage", lumiere.id)
    kinds = [e.kind for e in events(session, report)]
    assert kinds[-2:] == ["category_changed", "assigned"]


def test_merge_closes_the_duplicate_and_counts_it_on_the_master(session, settings):
    master = builders.make_report(session, settings, contact_email="a@example.org", contact_consent="true")
    duplicate = builders.make_report(session, settings, contact_email="b@example.org", contact_consent="true")

    triage.merge(session=session, settings=settings, duplicate=duplicate, master=master, actor=None)

    assert (duplicate.status, duplicate.rejection_reason, duplicate.master_report_id) == ("rejete", "doublon", master.id)
    assert master.similar_count == 1
    assert [e.kind for e in events(session, master)][-1] == "duplicate_attached"
    assert {e.kind for e in events(session, duplicate)} >= {"merged", "status_changed"}

    # The duplicate's reporter follows the master: told when the master is resolved.
    triage.change_status(session=session, settings=settings, report=master, to=S.RESOLU, actor=None,
                         note="Sacs enlevés.", note_public=True)
    closing = session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.kind == "report_closed", OutboxMessage.data["status"].astext == "resolu",
        OutboxMessage.data["master_id"].as_integer() == master.id)).all()
    assert sorted(closing) == ["a@example.org", "b@example.org"]


def test_resolution_with_an_after_photo(session, settings):
    report = put_in(session, builders.make_report(session, settings, photos=[builders.jpeg(800, 600)]), S.EN_COURS)

    triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=report,
                   actor=None, note="Tags effacés.", after_photo=io.BytesIO(builders.jpeg(640, 480, (20, 120, 20))))

    kinds = session.scalars(select(ReportPhoto.kind).where(ReportPhoto.report_id == report.id)
                            .order_by(ReportPhoto.position)).all()
    assert (report.status, kinds) == ("resolu", ["signalement", "apres"])
    assert len(builders.stored_files(settings)) == 4
    assert events(session, report)[-1].note == "Tags effacés."


def test_a_bad_after_photo_refuses_the_resolution(session, settings):
    report = put_in(session, builders.make_report(session, settings), S.EN_COURS)
    with pytest.raises(errors.UnsupportedMediaType):
        triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=report,
                       actor=None, note=None, after_photo=io.BytesIO(b"%PDF-1.4 pas une photo"))
    assert report.status == "en_cours"
    assert builders.stored_files(settings) == []


def mails(session, kind: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


RESIDENT = {"contact_email": "jeanne@example.org", "contact_consent": "true"}


def test_the_same_partner_again_is_refused_and_changes_nothing(session, settings):
    partner = bailleur(session)
    report = builders.make_report(session, settings)
    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None)
    due, before = report.due_at, len(events(session, report))

    with pytest.raises(errors.Conflict) as refused:
        triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None)

    assert refused.value.code == "deja_affecte" and "déjà affecté" in refused.value.message
    assert report.due_at == due and len(events(session, report)) == before
    assert len(mails(session, "report_assigned")) == 1


def test_another_partner_keeps_the_deadline_so_a_late_report_stays_late(session, settings):
    first, second = bailleur(session), bailleur(session, name="Régie", emails=["regie@ville.example"], delay_days=30)
    report = builders.make_report(session, settings)
    triage.assign(session=session, settings=settings, report=report, partner=first, actor=None)
    report.due_at = report.assigned_at - timedelta(days=2)  # already late
    assigned_at, due = report.assigned_at, report.due_at
    session.flush()

    triage.assign(session=session, settings=settings, report=report, partner=second, actor=None)

    assert report.partner_id == second.id
    assert report.due_at == due and report.assigned_at == assigned_at
    assert triage.is_overdue(report, now=due + timedelta(days=3))
    assert [m.recipient for m in mails(session, "report_assigned")] == ["gusp@pah.example", "regie@ville.example"]


def test_an_en_cours_report_given_to_another_partner_waits_for_it_to_take_it(session, settings):
    first, second = bailleur(session), bailleur(session, name="Régie", emails=["regie@ville.example"])
    report = builders.make_report(session, settings)
    triage.assign(session=session, settings=settings, report=report, partner=first, actor=None)
    triage.change_status(session=session, settings=settings, report=report, to=S.EN_COURS, actor=None)

    triage.assign(session=session, settings=settings, report=report, partner=second, actor=None)

    assert report.status == S.PRIS_EN_COMPTE
    back = [e for e in events(session, report) if e.kind == "status_changed"][-1]
    assert back.data["old"] == "en_cours" and back.data["new"] == "pris_en_compte"
    assert back.data["cause"] == "reaffectation"


def test_the_reporter_hears_when_the_report_is_taken_into_account_and_of_public_comments(session, settings):
    partner = bailleur(session)
    report = builders.make_report(session, settings, **RESIDENT)
    quiet = builders.make_report(session, settings)  # no address: nobody to tell

    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None)
    triage.assign(session=session, settings=settings, report=quiet, partner=partner, actor=None)
    triage.comment(session=session, settings=settings, report=report, actor=None, note="Interne", public=False)
    triage.comment(session=session, settings=settings, report=report, actor=None, note="Passage jeudi.", public=True)
    triage.comment(session=session, report=report, actor=None, note="Mot du déclarant (Open311)", public=True)

    [taken] = mails(session, "report_acknowledged")
    assert taken.recipient == "jeanne@example.org" and taken.report_id == report.id
    assert "Pays d'Aix Habitat" in taken.body_text and f"/suivi/{report.reference}" in taken.body_text
    assert report.due_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y") in taken.body_text
    [said] = mails(session, "report_commented")
    assert said.recipient == "jeanne@example.org" and "Passage jeudi." in said.body_text
    assert "Interne" not in said.body_text
