"""The outbox side: which rows each enqueuer writes, to whom, saying what (and never what it must not)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from gusp import credentials, errors, notify, states
from gusp.models import OutboxMessage, Partner, ReporterContact, User
from tests import builders, smtp

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

RESIDENT = {
    "contact_name": "Jeanne Martin",
    "contact_email": "jeanne.martin@example.org",
    "contact_phone": "06 12 34 56 78",
    "contact_consent": "true",
}


@pytest.fixture
def mail(settings):
    return smtp.mail_settings(settings, port=2525)


def make_partner(session, *, name="Pays d'Aix Habitat", emails=("regie@pah.test",)) -> Partner:
    partner = Partner(name=name, kind=states.PartnerKind.BAILLEUR, emails=list(emails))
    session.add(partner)
    session.flush()
    return partner


def make_user(session, *, email, role=states.Role.COORDINATEUR, active=True, name="Camille Durand") -> User:
    user = User(email=email, full_name=name, password_hash="x", role=role, active=active)
    session.add(user)
    session.flush()
    return user


def clear_outbox(session) -> None:
    """Forget the rows that intake queued while building reports: each test looks at one enqueuer."""
    session.execute(delete(OutboxMessage))


def outbox(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_report_received_goes_to_the_consenting_reporter_with_reference_and_link(session, mail):
    report = builders.make_report(session, mail, **RESIDENT)
    clear_outbox(session)

    [message] = notify.report_received(session=session, settings=mail, report=report)

    assert outbox(session) == [message]
    assert message.kind == "report_received"
    assert message.recipient == "jeanne.martin@example.org"
    assert message.subject == f"Signalement {report.reference} : bien reçu"
    assert message.report_id == report.id
    assert message.status == "pending" and message.attempts == 0
    assert message.message_id.startswith("<") and message.message_id.endswith("@gusp>")
    link = f"https://gusp.ville.test/suivi/{report.reference}"
    for body in (message.body_text, message.body_html):
        assert report.reference in body
        assert link in body
        assert "Propreté" in body or "propre" in body.lower()
    assert "Bonjour" in message.body_text and "<html" not in message.body_text
    assert message.body_html.lstrip().startswith("<!DOCTYPE html>")


def test_nobody_is_written_to_without_an_email_and_consent(session, mail):
    anonymous = builders.make_report(session, mail)
    phone_only = builders.make_report(session, mail, contact_phone="0612345678", contact_consent="true")
    no_consent = builders.make_report(session, mail)
    session.add(ReporterContact(report_id=no_consent.id, email="refus@example.org", consent=False))
    session.flush()
    clear_outbox(session)

    for report in (anonymous, phone_only, no_consent):
        assert notify.report_received(session=session, settings=mail, report=report) == []
    assert outbox(session) == []


def test_report_assigned_reaches_each_partner_address_without_the_residents_details(session, mail):
    report = builders.make_report(
        session,
        mail,
        description='Tag <script>alert("x")</script> & dépôt sur la porte',
        photos=[builders.jpeg()],
        **RESIDENT,
    )
    report.due_at = datetime(2026, 3, 12, 16, 0, tzinfo=UTC)
    report.priority = states.Priority.HAUTE
    partner = make_partner(session, emails=("regie@pah.test", "astreinte@pah.test", "REGIE@pah.test", " "))
    clear_outbox(session)

    messages = notify.report_assigned(session=session, settings=mail, report=report, partner=partner)

    assert [m.recipient for m in messages] == ["regie@pah.test", "astreinte@pah.test"]
    assert outbox(session) == messages
    message = messages[0]
    assert message.kind == "report_assigned"
    assert message.subject.startswith(f"Signalement {report.reference} : ")
    assert message.data == {"partner_id": partner.id}
    staff = f"https://gusp.ville.test/gestion?ref={report.reference}"
    for body in (message.body_text, message.body_html):
        assert report.reference in body
        assert staff in body
        assert "Encagnane" in body
        assert "12/03/2026 à 17:00" in body  # Paris time
        assert "Haute" in body
        assert "openstreetmap.org/?mlat=" in body
        assert f"https://gusp.ville.test/media/{report.photos[0].display_key}" in body
        for private in ("Jeanne", "Martin", "jeanne.martin@example.org", "0612345678", "06 12"):
            assert private not in body and private not in message.subject
    assert '<script>alert("x")</script> & dépôt' in message.body_text
    assert "<script>" not in message.body_html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; dépôt" in message.body_html


def test_report_assigned_links_a_non_public_photo_behind_sign_in(session, mail):
    report = builders.make_report(session, mail, photos=[builders.jpeg(colour=(1, 9, 1)), builders.jpeg(colour=(9, 1, 9))])
    report.photos[1].hidden = True
    partner = make_partner(session)
    clear_outbox(session)

    [message] = notify.report_assigned(session=session, settings=mail, report=report, partner=partner)

    shown, hidden = (p.display_key for p in report.photos)
    assert f"https://gusp.ville.test/media/{shown}" in message.body_text
    assert f"https://gusp.ville.test/api/v1/gestion/media/{hidden}" in message.body_text
    assert f"https://gusp.ville.test/media/{hidden}" not in message.body_text


def test_report_assigned_to_a_partner_without_address_writes_nothing(session, mail):
    report = builders.make_report(session, mail)
    partner = make_partner(session, emails=())

    assert notify.report_assigned(session=session, settings=mail, report=report, partner=partner) == []


def test_report_closed_reaches_the_reporters_of_the_report_and_of_its_duplicates(session, mail):
    master = builders.make_report(session, mail, **RESIDENT)
    other = builders.make_report(session, mail, contact_email="voisin@example.org", contact_consent="true")
    same_person = builders.make_report(session, mail, **RESIDENT)
    anonymous = builders.make_report(session, mail)
    refused = builders.make_report(session, mail)
    session.add(ReporterContact(report_id=refused.id, email="refus@example.org", consent=False))
    unrelated = builders.make_report(session, mail, contact_email="autre@example.org", contact_consent="true")
    for duplicate in (other, same_person, anonymous, refused):
        duplicate.master_report_id = master.id
    master.status = states.ReportStatus.RESOLU
    session.flush()
    clear_outbox(session)

    messages = notify.report_closed(
        session=session, settings=mail, report=master, public_note="Nettoyé le 3 mars <b>par la régie</b>."
    )

    assert sorted(m.recipient for m in messages) == ["jeanne.martin@example.org", "voisin@example.org"]
    assert "autre@example.org" not in {m.recipient for m in outbox(session)}
    assert unrelated.id not in {m.report_id for m in messages}
    own, theirs = (
        next(m for m in messages if m.recipient == r) for r in ("jeanne.martin@example.org", "voisin@example.org")
    )
    assert own.report_id == master.id
    assert own.subject == f"Signalement {master.reference} : résolu"
    assert theirs.report_id == other.id
    assert theirs.subject == f"Signalement {other.reference} : résolu"
    assert master.reference in theirs.body_text and other.reference in theirs.body_text
    assert f"https://gusp.ville.test/suivi/{other.reference}" in theirs.body_html
    for message in messages:
        assert "Nettoyé le 3 mars <b>par la régie</b>." in message.body_text
        assert "Nettoyé le 3 mars &lt;b&gt;par la régie&lt;/b&gt;." in message.body_html
        assert "résolu" in message.body_text


def test_report_closed_by_rejection_says_why_in_the_closed_vocabulary(session, mail):
    report = builders.make_report(session, mail, **RESIDENT)
    report.status = states.ReportStatus.REJETE
    report.rejection_reason = states.RejectionReason.HORS_COMPETENCE
    session.flush()

    [message] = notify.report_closed(session=session, settings=mail, report=report, public_note=None)

    assert message.subject == f"Signalement {report.reference} : n'a pas été retenu"
    assert "ne relève pas des partenaires" in message.body_text
    assert "Message de l'équipe" not in message.body_text


def test_report_closed_refuses_an_open_report(session, mail):
    report = builders.make_report(session, mail, **RESIDENT)
    clear_outbox(session)

    with pytest.raises(ValueError):
        notify.report_closed(session=session, settings=mail, report=report, public_note="")
    assert outbox(session) == []


def _overdue_world(session, mail):
    """Two active coordinators and an admin (the digest's readers); overdue, not yet due, closed and merged reports."""
    coordinators = [make_user(session, email="coord1@ville.test"), make_user(session, email="coord2@ville.test")]
    make_user(session, email="parti@ville.test", active=False)
    make_user(session, email="chef@ville.test", role=states.Role.ADMIN, active=False)
    make_user(session, email="agent@ville.test", role=states.Role.AGENT)
    coordinators.append(make_user(session, email="admin@ville.test", role=states.Role.ADMIN))
    partner = make_partner(session)
    now = datetime(2026, 3, 12, 6, 30, tzinfo=UTC)  # 07:30 in Paris
    late = builders.make_report(session, mail)
    late.partner_id, late.due_at = partner.id, now - timedelta(days=3, hours=23)
    late_unassigned = builders.make_report(session, mail, quartier=builders.JAS_DE_BOUFFAN)
    late_unassigned.due_at = now - timedelta(hours=5)
    not_due = builders.make_report(session, mail)
    not_due.due_at = now + timedelta(hours=1)
    resolved = builders.make_report(session, mail)
    resolved.due_at, resolved.status = now - timedelta(days=1), states.ReportStatus.RESOLU
    merged = builders.make_report(session, mail)
    merged.due_at, merged.master_report_id = now - timedelta(days=1), late.id
    session.flush()
    clear_outbox(session)
    return now, coordinators, (late, late_unassigned), (not_due, resolved, merged)


def test_overdue_digest_lists_late_open_reports_to_each_active_coordinator(session, mail):
    now, coordinators, late, not_listed = _overdue_world(session, mail)

    assert notify.overdue_digest(session=session, settings=mail, now=now) == 3

    messages = outbox(session)
    assert [m.recipient for m in messages] == [c.email for c in coordinators]
    message = messages[0]
    assert message.kind == "overdue_digest"
    assert message.subject == "GUSP : 2 signalements en retard au 12/03/2026"
    assert message.data == {"day": "2026-03-12", "user_id": coordinators[0].id, "count": 2}
    assert message.report_id is None
    for body in (message.body_text, message.body_html):
        for report in late:
            assert report.reference in body
            assert f"https://gusp.ville.test/gestion?ref={report.reference}" in body
        for report in not_listed:
            assert report.reference not in body
        assert "Pays d'Aix Habitat" in body or "Pays d&#39;Aix Habitat" in body
        assert "non attribué" in body
        assert "3 jours" in body and ("moins d'un jour" in body or "moins d&#39;un jour" in body)  # rounded down
        assert "4 jours" not in body
        assert "Jas de Bouffan" in body or "Jas-de-Bouffan" in body or "Bouffan" in body


def test_overdue_digest_is_queued_once_a_day(session, mail):
    now, _, _, _ = _overdue_world(session, mail)

    assert notify.overdue_digest(session=session, settings=mail, now=now) == 3
    assert notify.overdue_digest(session=session, settings=mail, now=now + timedelta(hours=9)) == 0
    latecomer = make_user(session, email="coord3@ville.test")
    assert notify.overdue_digest(session=session, settings=mail, now=now + timedelta(hours=10)) == 1
    assert notify.overdue_digest(session=session, settings=mail, now=now + timedelta(days=1)) == 4

    day = OutboxMessage.data["day"].astext
    days = session.execute(select(day, func.count()).group_by(day).order_by(day)).all()
    assert days == [("2026-03-12", 4), ("2026-03-13", 4)]
    assert latecomer.email in {m.recipient for m in outbox(session)}


def test_overdue_digest_sends_nothing_when_nothing_is_late(session, mail):
    make_user(session, email="coord1@ville.test")
    report = builders.make_report(session, mail)
    now = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
    report.due_at = now + timedelta(days=2)
    session.flush()
    clear_outbox(session)

    assert notify.overdue_digest(session=session, settings=mail, now=now) == 0
    assert outbox(session) == []


def test_password_reset_queues_no_usable_link_and_makes_it_at_sending_time(session, mail):
    """Issue 10, point 6: neither the outbox row nor `password_resets` holds a working link."""
    user = make_user(session, email="agent@ville.test", role=states.Role.AGENT, name="Paul <Dupont>")
    reset = credentials.request_password_reset(session=session, settings=mail, email="agent@ville.test")

    message = notify.password_reset(session=session, settings=mail, user=user, reset=reset)

    assert message.recipient == "agent@ville.test"
    assert message.subject == "GUSP : réinitialisation de votre mot de passe"
    assert message.data == {"user_id": user.id, "secret": True, "reset": reset.token_hash}
    assert "jeton=" not in message.body_text and "jeton=" not in message.body_html
    assert "Paul &lt;Dupont&gt;" in message.body_html

    text, html = notify.final_bodies(session=session, settings=mail, message=message)
    link = re.search(r"\S+/reinitialiser#jeton=([\w-]+)", text)
    assert link and f'href="{link.group(0)}"' in html
    token = link.group(1)
    assert message.data["reset"] == hashlib.sha256(token.encode()).hexdigest() == reset.token_hash
    again, _ = notify.final_bodies(session=session, settings=mail, message=message)  # a retried send
    assert token not in again  # a new token: the first one no longer works
    with pytest.raises(errors.BadRequest):
        credentials.reset_password(session=session, settings=mail, token=token, new_password="x" * 20)


def test_enqueue_gives_each_row_its_own_message_id_and_a_one_line_subject(session):
    first = notify.enqueue(
        session=session,
        kind="test",
        recipient=" a@example.org ",
        subject="Ligne 1\r\nBcc: x@example.org",
        text="corps",
        html=None,
    )
    second = notify.enqueue(session=session, kind="test", recipient="b@example.org", subject="s", text="t", html=None)

    assert first.message_id != second.message_id
    assert first.recipient == "a@example.org"
    assert first.subject == "Ligne 1 Bcc: x@example.org"
    assert first.data == {} and first.body_html is None


def test_report_closed_masks_phones_and_emails_of_the_public_note(session, mail):
    master = builders.make_report(session, mail, **RESIDENT)
    master.status = states.ReportStatus.RESOLU
    session.flush()
    clear_outbox(session)

    [message] = notify.report_closed(session=session, settings=mail, report=master,
                                     public_note="Vu avec M. Durand (06 11 22 33 44, durand@example.org).")

    for body in (message.body_text, message.body_html):
        assert "06 11 22 33 44" not in body and "durand@example.org" not in body
        assert "[numéro masqué]" in body and "[adresse masquée]" in body
