"""The sending side, against a real SMTP server: headers, retries, failures, a killed worker, two workers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from gusp import credentials, db, notify, states, storage, worker
from gusp.config import PROJECT_DIR
from gusp.models import OutboxMessage, User
from tests import builders, smtp

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)  # the tests' clock; queue() makes messages due
MAIL_FIELDS = (
    "database_url",
    "smtp_host",
    "smtp_port",
    "smtp_user",
    "smtp_password",
    "smtp_starttls",
    "smtp_ssl",
    "smtp_timeout_s",
    "mail_from",
    "public_url",
    "outbox_max_attempts",
)


@pytest.fixture
def sessions(session: Session) -> sessionmaker[Session]:
    """Worker sessions on the test's connection: their commits are savepoints, rolled back at the end."""
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


def queue(session: Session, count: int = 1, **overrides: object) -> list[OutboxMessage]:
    fields: dict[str, object] = {
        "kind": "test",
        "recipient": "resident@example.org",
        "subject": "Signalement GUSP-2026-000001 : bien reçu",
        "text": "Bonjour,\nvotre signalement est bien reçu.\n",
        "html": "<p>Bonjour, <b>bien reçu</b>.</p>",
    }
    fields.update(overrides)
    messages = [notify.enqueue(session=session, **fields) for _ in range(count)]
    for message in messages:  # due at T0 however long the suite ran before this test started
        message.available_at = T0 - timedelta(minutes=5)
    session.commit()
    return messages


def reload(session: Session, message: OutboxMessage) -> OutboxMessage:
    session.expire_all()
    return session.get(OutboxMessage, message.id)


def test_a_message_goes_out_with_its_headers_and_both_parts(session, sessions, settings, smtp_server):
    mail = smtp.mail_settings(settings, smtp_server)
    [message] = queue(session)

    result = worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)

    assert result == worker.WorkerResult(sent=1)
    [received] = smtp_server.messages
    assert smtp_server.handler.envelopes == [("gusp@ville.test", ["resident@example.org"])]
    assert received["From"] == "GUSP <gusp@ville.test>"
    assert received["To"] == "resident@example.org"
    assert received["Subject"] == "Signalement GUSP-2026-000001 : bien reçu"
    assert received["Message-ID"] == message.message_id
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Date"]
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content() == "Bonjour,\nvotre signalement est bien reçu.\n"
    assert "<b>bien reçu</b>" in received.get_body(("html",)).get_content()
    row = reload(session, message)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, T0, None)


def test_a_text_only_message_is_a_single_part(session, sessions, settings, smtp_server):
    mail = smtp.mail_settings(settings, smtp_server)
    queue(session, html=None)

    worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)

    [received] = smtp_server.messages
    assert received.get_content_type() == "text/plain"


def test_an_unreachable_server_means_a_later_retry_then_one_delivery(session, sessions, settings):
    port = smtp.free_port()
    mail = smtp.mail_settings(settings, port=port)
    sender = worker.SmtpSender(mail)
    [message] = queue(session)

    assert worker.send_pending(sessionmaker=sessions, settings=mail, sender=sender, now=T0) == worker.WorkerResult(
        retried=1
    )

    row = reload(session, message)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert "ConnectionRefusedError" in row.last_error
    assert T0 + timedelta(seconds=47) <= row.available_at <= T0 + timedelta(seconds=73)

    with smtp.running_smtp_server(port) as server:
        too_soon = worker.send_pending(
            sessionmaker=sessions, settings=mail, sender=sender, now=T0 + timedelta(seconds=30)
        )
        later = worker.send_pending(sessionmaker=sessions, settings=mail, sender=sender, now=T0 + timedelta(minutes=2))
        again = worker.send_pending(sessionmaker=sessions, settings=mail, sender=sender, now=T0 + timedelta(hours=1))

        assert (too_soon.processed, later, again.processed) == (0, worker.WorkerResult(sent=1), 0)
        assert [m["Message-ID"] for m in server.messages] == [message.message_id]
    row = reload(session, message)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, T0 + timedelta(minutes=2))


def test_a_message_failing_every_attempt_ends_failed_and_kept(session, sessions, settings):
    mail = smtp.mail_settings(settings, port=smtp.free_port(), outbox_max_attempts=3)
    [message] = queue(session)
    outcomes = []
    for hour in range(4):
        now = T0 + timedelta(hours=7 * hour)
        outcomes.append(
            worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=now)
        )

    assert outcomes == [
        worker.WorkerResult(retried=1),
        worker.WorkerResult(retried=1),
        worker.WorkerResult(failed=1),
        worker.WorkerResult(),
    ]
    row = reload(session, message)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    assert "ConnectionRefusedError" in row.last_error


def test_the_back_off_doubles_and_is_capped():
    for attempts, minutes in [(1, 1), (2, 2), (3, 4), (6, 32), (9, 256), (10, 360), (20, 360)]:
        delay = worker.retry_delay(attempts)
        assert timedelta(minutes=minutes) * 0.8 <= delay <= timedelta(minutes=minutes) * 1.2


def test_a_refused_recipient_fails_at_once(session, sessions, settings, smtp_server):
    mail = smtp.mail_settings(settings, smtp_server)
    smtp_server.handler.refused_recipients.add("inconnu@example.org")
    [message] = queue(session, recipient="inconnu@example.org")

    result = worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)

    assert result == worker.WorkerResult(failed=1)
    row = reload(session, message)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error


@pytest.mark.parametrize(
    ("reply", "status"), [("554 5.6.0 Contenu refusé", "failed"), ("451 4.3.0 Réessayez", "pending")]
)
def test_a_refused_content_fails_for_good_on_5xx_only(session, sessions, settings, smtp_server, reply, status):
    mail = smtp.mail_settings(settings, smtp_server)
    smtp_server.handler.data_reply = reply
    [message] = queue(session)

    worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)

    row = reload(session, message)
    assert (row.status, row.attempts) == (status, 1)
    assert reply[:3] in row.last_error
    assert smtp_server.messages == []


def test_a_password_reset_link_does_not_stay_in_the_outbox_once_sent(session, sessions, settings, smtp_server):
    mail = smtp.mail_settings(settings, smtp_server)
    user = User(email="agent@ville.test", full_name="Paul Dupont", password_hash="x", role=states.Role.AGENT)
    user.active = True
    session.add(user)
    session.flush()
    reset = credentials.request_password_reset(session=session, settings=mail, email="agent@ville.test")
    message = notify.password_reset(session=session, settings=mail, user=user, reset=reset)
    message.available_at = T0 - timedelta(minutes=5)
    session.commit()

    worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)

    [received] = smtp_server.messages
    token = re.search(r"/reinitialiser#jeton=([\w-]+)", received.get_body(("plain",)).get_content()).group(1)
    row = reload(session, message)
    assert row.status == "sent"
    assert token not in row.body_text and row.body_html is None
    new_password = "une phrase de passe toute neuve"
    credentials.reset_password(session=session, settings=mail, token=token, new_password=new_password)  # it works


def test_the_daily_digest_waits_for_seven_and_goes_out_once_a_day(session, sessions, settings, smtp_server):
    mail = smtp.mail_settings(settings, smtp_server)
    session.add(
        User(email="coord@ville.test", full_name="Camille Durand", password_hash="x", role=states.Role.COORDINATEUR)
    )
    report = builders.make_report(session, mail)
    report.due_at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    session.commit()
    paris_6_59 = datetime(2026, 3, 12, 5, 59, tzinfo=UTC)

    assert worker.daily_digest(sessionmaker=sessions, settings=mail, now=paris_6_59) == 0
    assert worker.daily_digest(sessionmaker=sessions, settings=mail, now=paris_6_59 + timedelta(minutes=1)) == 1
    assert worker.daily_digest(sessionmaker=sessions, settings=mail, now=paris_6_59 + timedelta(hours=8)) == 0
    worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)
    assert worker.daily_digest(sessionmaker=sessions, settings=mail, now=paris_6_59 + timedelta(hours=12)) == 0
    worker.send_pending(
        sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0 + timedelta(hours=12)
    )

    digests = [m for m in smtp_server.messages if m["To"] == "coord@ville.test"]
    assert [m["Subject"] for m in digests] == ["GUSP : 1 signalement en retard au 12/03/2026"]
    assert report.reference in digests[0].get_body(("plain",)).get_content()
    assert worker.daily_digest(sessionmaker=sessions, settings=mail, now=paris_6_59 + timedelta(days=1, hours=2)) == 1


# --- with real commits: a killed process, two workers, the loop -------------------------------

KILLED_WORKER = """
import json, sys
from gusp import db, worker
from gusp.config import Settings
args = json.loads(sys.argv[1])
settings = Settings().model_copy(update=args["settings"])
engine = db.make_engine(settings.database_url, connect_args={"application_name": args["application_name"]})
worker.send_pending(sessionmaker=db.make_sessionmaker(engine), settings=settings, sender=worker.SmtpSender(settings))
"""


def committed_queue(sessions: sessionmaker[Session], count: int) -> list[OutboxMessage]:
    with sessions() as session, db.transaction(session):
        return queue(session, count)


def wait_for(condition, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_a_worker_killed_between_claim_and_answer_leaves_the_message_to_the_next(committed_settings, smtp_server):
    mail = smtp.mail_settings(committed_settings, smtp_server, smtp_timeout_s=60)
    engine = db.make_engine(mail.database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        [message] = committed_queue(sessions, 1)
        smtp_server.handler.hold.set()  # the relay receives the DATA and does not answer
        args = {"settings": {k: getattr(mail, k) for k in MAIL_FIELDS}, "application_name": "gusp-killed-worker"}
        process = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, json.dumps(args)], cwd=PROJECT_DIR)
        try:
            assert smtp_server.handler.data_started.wait(30), "the worker never reached DATA"
            with sessions() as session:  # claimed: locked by the worker, still pending
                assert session.scalars(select(OutboxMessage).with_for_update(skip_locked=True)).all() == []
                assert session.get(OutboxMessage, message.id).status == "pending"
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(10) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
        with engine.connect() as connection:  # PostgreSQL saw the client die: rolled back, unlocked
            wait_for(
                lambda: (
                    not connection.scalar(
                        text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gusp-killed-worker'")
                    )
                )
            )
        wait_for(lambda: smtp_server.handler.in_data == 0)  # the relay dropped the unanswered DATA
        smtp_server.handler.hold.clear()
        with sessions() as session:
            row = session.get(OutboxMessage, message.id)
            assert (row.status, row.attempts, row.sent_at) == ("pending", 0, None)

        result = worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail))

        assert result == worker.WorkerResult(sent=1)
        assert [m["Message-ID"] for m in smtp_server.messages] == [message.message_id]
        with sessions() as session:
            row = session.get(OutboxMessage, message.id)
            assert (row.status, row.attempts) == ("sent", 1)
            assert row.sent_at is not None
    finally:
        engine.dispose()


def test_two_workers_at_once_never_send_a_message_twice(committed_settings, smtp_server):
    mail = smtp.mail_settings(committed_settings, smtp_server)
    smtp_server.handler.delay_s = 0.01  # so that both workers are busy at the same time
    engine = db.make_engine(mail.database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        messages = committed_queue(sessions, 40)
        start = threading.Barrier(2)
        results: list[worker.WorkerResult] = []
        failures: list[BaseException] = []

        def run() -> None:
            try:
                start.wait()
                results.append(
                    worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), batch=100)
                )
            except BaseException as error:  # reported below, with the assertions
                failures.append(error)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert failures == []
        assert min(r.sent for r in results) > 0, results  # both took part
        assert sum(r.sent for r in results) == 40
        received = [m["Message-ID"] for m in smtp_server.messages]
        assert len(received) == 40
        assert sorted(received) == sorted(m.message_id for m in messages)
        with sessions() as session:
            assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}
            assert set(session.scalars(select(OutboxMessage.attempts))) == {1}
    finally:
        engine.dispose()


def test_run_forever_sends_what_is_queued_and_stops_when_asked(committed_settings, smtp_server):
    mail = smtp.mail_settings(committed_settings, smtp_server)
    engine = db.make_engine(mail.database_url)
    sessions = db.make_sessionmaker(engine)
    stop = threading.Event()
    loop = threading.Thread(
        target=worker.run_forever,
        kwargs={
            "sessionmaker": sessions,
            "settings": mail,
            "sender": worker.SmtpSender(mail),
            "stop": stop,
            "poll_s": 0.05,
        },
    )
    try:
        loop.start()
        [first] = committed_queue(sessions, 1)
        wait_for(lambda: len(smtp_server.messages) == 1)
        [second] = committed_queue(sessions, 1)
        wait_for(lambda: len(smtp_server.messages) == 2)
        stop.set()
        loop.join(timeout=10)
        assert not loop.is_alive()
        assert [m["Message-ID"] for m in smtp_server.messages] == [first.message_id, second.message_id]
    finally:
        stop.set()
        loop.join(timeout=10)
        engine.dispose()


@pytest.mark.real_clock  # file modification times follow the real clock
def test_the_daily_run_sweeps_photo_files_no_row_names(committed_settings, smtp_server):
    mail = smtp.mail_settings(committed_settings, smtp_server)
    store = storage.from_settings(mail)
    orphan, recent = "ab" * 32 + ".jpg", "cd" * 32 + ".jpg"
    store.put(orphan, b"left by a failed request two days ago")
    store.put(recent, b"being used by a request right now")
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(store.path(orphan), (two_days_ago, two_days_ago))
    engine = db.make_engine(mail.database_url)
    stop = threading.Event()
    loop = threading.Thread(target=worker.run_forever, kwargs={
        "sessionmaker": db.make_sessionmaker(engine), "settings": mail, "sender": worker.SmtpSender(mail),
        "stop": stop, "poll_s": 0.05, "digest_hour": 0})
    try:
        loop.start()
        wait_for(lambda: not store.exists(orphan))
        assert store.exists(recent)  # within the grace period (24 h by default)
    finally:
        stop.set()
        loop.join(timeout=10)
        engine.dispose()


def test_each_sent_message_is_logged_without_its_recipient_or_content(session, sessions, settings, smtp_server,
                                                                       caplog):
    mail = smtp.mail_settings(settings, smtp_server)
    messages = queue(session, 2, recipient="jeanne.martin@example.org", text="Votre lien : https://x.test/#jeton=SECRET")

    with caplog.at_level("INFO", logger="gusp.worker"):
        worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=T0)

    sent = [r.getMessage() for r in caplog.records if " sent: " in r.getMessage()]
    assert sent == [f"outbox {m.id} sent: test, report -, attempt 1" for m in messages]
    assert "jeanne" not in caplog.text and "SECRET" not in caplog.text
