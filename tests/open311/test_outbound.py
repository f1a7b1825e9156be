"""GUSP as an Open311 client: two real GUSP instances, each with its own database, exchange a report.

"Here" is the test's GUSP (a committed database, the real worker functions); "the partner" is a
second GUSP served by uvicorn on a loopback port, reached over HTTP like any partner's server.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import db, errors, notify, states, storage, triage, worker
from gusp.config import PROJECT_DIR
from gusp.models import OutboxMessage, Partner, Report, ReporterContact, ReportEvent, User
from gusp.models.open311 import Open311RemoteUpdate, Open311Transmission, PartnerOpen311
from gusp.open311 import clients
from gusp.open311.outbound import links, polling, remote
from tests import builders, builders_routing, smtp

CONSENT = {"contact_email": "nadia.kaci@example.org", "contact_name": "Nadia Kaci", "contact_consent": "true"}


@pytest.fixture
def here(committed_settings, smtp_server):
    """This GUSP: a committed database, mail to a real SMTP server, photos from 127.0.0.1 accepted."""
    settings = smtp.mail_settings(committed_settings, smtp_server, open311_media_allowed_hosts=["127.0.0.1"],
                                  outbox_max_attempts=3)
    engine = db.make_engine(settings.database_url)
    yield settings, db.make_sessionmaker(engine), smtp_server
    engine.dispose()


@pytest.fixture
def partner_key(remote_gusp) -> str:
    _, remote_settings = remote_gusp
    with db.command_session(remote_settings.database_url) as session:
        return clients.create_client(session=session, name=f"GUSP de la Ville {uuid.uuid4().hex[:8]}")[0]


def linked_partner(settings, sessions, endpoint: str, key: str, **link: object) -> int:
    with sessions() as session, db.transaction(session):
        partner = builders_routing.make_partner(session, "Bailleur Sud", emails=[])
        links.set_link(session=session, settings=settings, partner_id=partner.id, endpoint=endpoint, api_key=key,
                       **link)
        return partner.id


def assigned_report(settings, sessions, partner_id: int, **fields: object) -> str:
    with sessions() as session, db.transaction(session):
        report = builders.make_report(session, settings, photos=[builders.jpeg(800, 600), builders.jpeg(300, 400)],
                                      description="Sacs éventrés au pied du bâtiment B.", **fields)
        coordinator = builders.staff(session, "coordinateur")[0]
        triage.assign(session=session, settings=settings, report=report, partner=session.get(Partner, partner_id),
                      actor=coordinator)
        return report.reference


def send(settings, sessions) -> worker.WorkerResult:
    return worker.send_pending(sessionmaker=sessions, settings=settings, sender=worker.SmtpSender(settings))


def open311_messages(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "open311_request")
                                .order_by(OutboxMessage.id)))


def remote_reports(remote_settings, key: str) -> list[str]:
    """The references of the partner's reports made with our key."""
    with db.command_session(remote_settings.database_url) as session:
        client = clients.resolve_key(session=session, value=key)
        return list(session.scalars(select(Report.reference).where(Report.open311_client_id == client.id)))


def test_a_report_and_its_status_changes_travel_between_two_gusp(here, remote_gusp, partner_key):
    settings, sessions, smtp_server = here
    base, remote_settings = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", partner_key,
                                service_codes={"proprete": "encombrants"})
    reference = assigned_report(settings, sessions, partner_id, **CONSENT)

    assert send(settings, sessions).sent >= 1

    [remote_reference] = remote_reports(remote_settings, partner_key)
    with db.command_session(remote_settings.database_url) as session:
        theirs = session.scalars(select(Report).where(Report.reference == remote_reference)).one()
        assert reference in theirs.description
        assert (theirs.source, theirs.category_code) == ("open311", "encombrants")  # the partner's service
        assert [(p.width, p.height) for p in theirs.photos] == [(800, 600), (300, 400)]  # sent as file parts
        assert session.get(ReporterContact, theirs.id) is None  # the resident's contact never leaves GUSP
        assert "nadia" not in theirs.description.lower()
    with sessions() as session:
        ours = session.scalars(select(Report).where(Report.reference == reference)).one()
        [transmission] = session.scalars(select(Open311Transmission)).all()
        assert (transmission.report_id, transmission.remote_id) == (ours.id, remote_reference)
        [message] = open311_messages(session)
        assert (message.status, message.attempts) == ("sent", 1)
        note = session.scalars(select(ReportEvent).where(ReportEvent.report_id == ours.id,
                                                         ReportEvent.kind == "commented")).one()
        assert note.note == f"Transmis à Bailleur Sud par Open311 (demande n° {remote_reference})."
        assert note.note_public is False

    # The partner works on it in its own GUSP: qualifies, takes, resolves with a note and a photo.
    with db.command_session(remote_settings.database_url) as session:
        theirs = session.scalars(select(Report).where(Report.reference == remote_reference)).one()
        crew = builders_routing.make_partner(session, "Régie de quartier")
        triage.assign(session=session, settings=remote_settings, report=theirs, partner=crew, actor=None)
        triage.change_status(session=session, settings=remote_settings, report=theirs,
                             to=states.ReportStatus.EN_COURS, actor=None)
        triage.resolve(session=session, settings=remote_settings, storage=storage.from_settings(remote_settings),
                       report=theirs, actor=None, note="Sacs enlevés, local poubelles nettoyé.",
                       after_photo=io.BytesIO(builders.jpeg(640, 480, (20, 120, 40))))

    result = polling.poll_all(sessionmaker=sessions, settings=settings, now=datetime.now(UTC))

    with sessions() as session:
        assert links.get_link(session=session, partner_id=partner_id).last_poll_error is None
    assert (result.partners, result.applied, result.failed) == (1, 2, 0)
    with sessions() as session:
        ours = session.scalars(select(Report).where(Report.reference == reference)).one()
        assert ours.status == states.ReportStatus.RESOLU
        changes = session.scalars(select(ReportEvent).where(ReportEvent.report_id == ours.id,
                                                            ReportEvent.kind == "status_changed")
                                  .order_by(ReportEvent.id)).all()
        assert [(e.data["new"], e.data["open311_status"]) for e in changes[-2:]] == [
            ("en_cours", "in_progress"), ("resolu", "fixed")]
        assert (changes[-1].note, changes[-1].note_public) == ("Sacs enlevés, local poubelles nettoyé.", True)
        [after] = [p for p in ours.photos if p.kind == "apres"]
        assert (after.width, after.height) == (640, 480)
        outcomes = session.scalars(select(Open311RemoteUpdate.outcome).order_by(Open311RemoteUpdate.id)).all()
        assert outcomes == ["ignored", "applied", "applied"]  # action_scheduled: already pris_en_compte here
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.kind == notify.MailKind.REPORT_CLOSED)
                               ).one().recipient == "nadia.kaci@example.org"  # the resident hears, as usual

    again = polling.poll_all(sessionmaker=sessions, settings=settings, now=datetime.now(UTC))
    assert (again.applied, again.noted, again.failed) == (0, 0, 0)  # each update applied once


def test_a_refusal_by_the_partner_goes_to_the_coordinators(here, remote_gusp, partner_key):
    settings, sessions, _ = here
    base, remote_settings = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", partner_key)
    reference = assigned_report(settings, sessions, partner_id)
    send(settings, sessions)
    with db.command_session(remote_settings.database_url) as session:
        [remote_reference] = remote_reports(remote_settings, partner_key)
        theirs = session.scalars(select(Report).where(Report.reference == remote_reference)).one()
        triage.change_status(session=session, settings=remote_settings, report=theirs,
                             to=states.ReportStatus.REJETE, reason=states.RejectionReason.HORS_COMPETENCE,
                             actor=None, note="Parking privé : voir le syndic.", note_public=True)

    result = polling.poll_all(sessionmaker=sessions, settings=settings, now=datetime.now(UTC))

    assert (result.applied, result.noted) == (0, 1)
    with sessions() as session:
        ours = session.scalars(select(Report).where(Report.reference == reference)).one()
        assert ours.status == states.ReportStatus.PRIS_EN_COMPTE  # only a coordinator rejects
        last = session.scalars(select(ReportEvent).where(ReportEvent.report_id == ours.id)
                               .order_by(ReportEvent.id.desc()).limit(1)).one()
        assert last.note == ("Par Open311 : Bailleur Sud ne relève pas de sa compétence. "
                             "Parking privé : voir le syndic.")
        assert last.note_public is False
        coordinators = session.scalars(select(User.email).where(User.role == "coordinateur")).all()
        notices = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == notify.MailKind.STAFF_NOTICE)
                                  ).all()
        assert sorted(m.recipient for m in notices) == sorted(coordinators)
        assert "Parking privé" in notices[0].body_text


def test_an_unreachable_server_is_retried_then_failed_and_visible(here, remote_gusp, partner_key):
    settings, sessions, _ = here
    base, _ = remote_gusp
    nowhere = f"http://127.0.0.1:{smtp.free_port()}/open311/v2"
    partner_id = linked_partner(settings, sessions, nowhere, partner_key)
    assigned_report(settings, sessions, partner_id)

    assert send(settings, sessions).retried == 1
    with sessions() as session:
        [message] = open311_messages(session)
        assert (message.status, message.attempts) == ("pending", 1)
        assert message.last_error.startswith("Unavailable: ConnectError")
        assert message.available_at > datetime.now(UTC)  # backed off
        message.available_at = datetime.now(UTC)
        session.commit()
    for _ in range(2):
        with sessions() as session, db.transaction(session):
            for message in open311_messages(session):
                message.available_at = datetime.now(UTC)
        send(settings, sessions)

    with sessions() as session:
        [message] = open311_messages(session)
        assert (message.status, message.attempts) == ("failed", 3)
        state = links.state(session=session, partner_id=partner_id)
        assert (state.sent, state.pending, len(state.failures)) == (0, 0, 1)
        assert state.failures[0].error.startswith("Unavailable")

    # The admin fixes the address and retries: the report arrives.
    with sessions() as session, db.transaction(session):
        link = links.get_link(session=session, partner_id=partner_id)
        links.set_link(session=session, settings=settings, partner_id=partner_id, endpoint=f"{base}/open311/v2",
                       api_key=None, service_codes=link.service_codes)
        assert links.retry_failed(session=session, partner_id=partner_id) == 1
    assert send(settings, sessions).sent == 1
    with sessions() as session:
        assert links.state(session=session, partner_id=partner_id).sent == 1


def test_a_refused_key_fails_at_once_with_the_partners_words(here, remote_gusp):
    settings, sessions, _ = here
    base, _ = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", "o311_" + "x" * 40)
    assigned_report(settings, sessions, partner_id)

    assert send(settings, sessions).failed == 1
    with sessions() as session:
        [message] = open311_messages(session)
        assert message.attempts == 1
        assert message.last_error == ("Refused: HTTP 403: Clé d'API (api_key) absente ou invalide : "
                                      "impossible de créer la demande.")


def test_a_lost_answer_creates_nothing_twice_on_the_partner(here, remote_gusp, partner_key):
    """The worker dies after the partner created the request: the resend carries the same key."""
    settings, sessions, _ = here
    base, remote_settings = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", partner_key, photos="none")
    assigned_report(settings, sessions, partner_id)
    with sessions() as session:
        [message] = open311_messages(session)
        link = session.get(PartnerOpen311, partner_id)
        first = remote.post_request(link=link, fields=message.data["fields"], photos=[],
                                    idempotency_key=message.message_id, timeout=10)

    send(settings, sessions)

    with sessions() as session:
        assert session.scalars(select(Open311Transmission.remote_id)).one() == first.remote_id
    assert remote_reports(remote_settings, partner_key) == [first.remote_id]  # one copy only


def test_nothing_is_sent_for_a_partner_without_link_or_twice_for_the_same_partner(here, remote_gusp, partner_key):
    settings, sessions, _ = here
    base, _ = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", partner_key)
    with sessions() as session, db.transaction(session):
        plain = builders_routing.make_partner(session, "Régie municipale", emails=["regie@aix.example.org"])
        report = builders.make_report(session, settings)
        coordinator = builders.staff(session, "coordinateur")[0]
        triage.assign(session=session, settings=settings, report=report, partner=plain, actor=coordinator)
        assert open311_messages(session) == []
        linked = session.get(Partner, partner_id)
        triage.assign(session=session, settings=settings, report=report, partner=linked, actor=coordinator)
        with pytest.raises(errors.Conflict):  # the same partner again: refused, nothing sent (issue 14)
            triage.assign(session=session, settings=settings, report=report, partner=linked, actor=coordinator)
        assert len(open311_messages(session)) == 1


def test_gusp_open311_poll_does_one_round(here, remote_gusp, partner_key):
    settings, sessions, _ = here
    base, remote_settings = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", partner_key)
    reference = assigned_report(settings, sessions, partner_id)
    send(settings, sessions)
    [remote_reference] = remote_reports(remote_settings, partner_key)
    with db.command_session(remote_settings.database_url) as session:
        theirs = session.scalars(select(Report).where(Report.reference == remote_reference)).one()
        triage.resolve(session=session, settings=remote_settings, storage=storage.from_settings(remote_settings),
                       report=theirs, actor=None, note="Fait.")

    env = {**os.environ, "GUSP_DATABASE_URL": settings.database_url, "GUSP_MEDIA_DIR": str(settings.media_dir)}
    done = subprocess.run([sys.executable, "-m", "gusp.cli", "open311", "poll"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=PROJECT_DIR)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("Partenaires interrogés : 1 ; mises à jour appliquées : 1, notées : 0, "
                                   "en échec : 0.")
    with sessions() as session:
        assert session.scalars(select(Report.status).where(Report.reference == reference)).one() == "resolu"


def test_in_media_url_mode_the_form_links_our_public_photos(here, remote_gusp, partner_key):
    settings, sessions, _ = here
    base, _ = remote_gusp
    partner_id = linked_partner(settings, sessions, f"{base}/open311/v2", partner_key, photos="media_url",
                                jurisdiction_id="pah")
    assigned_report(settings, sessions, partner_id)

    with sessions() as session:
        [message] = open311_messages(session)
        fields = message.data["fields"]
        report = session.get(Report, message.report_id)
        keys = [p.display_key for p in report.photos]
    assert fields[0] == ["jurisdiction_id", "pah"]
    assert [v for k, v in fields if k == "media_url"] == [f"https://gusp.ville.test/media/{k}" for k in keys]
    assert "api_key" not in dict(fields)  # added when sending, never stored on the message
