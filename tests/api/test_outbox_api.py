"""Failed and pending mails for coordinators, and "renvoyer" (issue 14, point 5): after a relay
outage, what was given up goes out again through the real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, text
from sqlalchemy.orm import sessionmaker

from gusp import notify, partners, states, worker
from gusp.models import OutboxMessage
from tests import builders, smtp

URL = "/api/v1/gestion/outbox"


def _failed(session, settings, report) -> OutboxMessage:
    [message] = notify.report_received(session=session, settings=settings, report=report)
    message.status, message.attempts, message.last_error = states.OutboxStatus.FAILED, 8, "ConnectionRefusedError"
    session.flush()
    return message


def test_coordinators_list_failed_and_pending_mails_and_send_them_again(client, session, settings, smtp_server):
    _, coordinator = builders.staff(session, "coordinateur")
    report = builders.make_report(session, settings, contact_email="jeanne@example.org", contact_consent="true")
    session.execute(delete(OutboxMessage))
    failed = _failed(session, settings, report)
    [pending] = notify.report_received(session=session, settings=settings, report=report)

    page = client.get(URL, headers=coordinator).json()
    assert [m["id"] for m in page["data"]] == [failed.id, pending.id]  # failed first
    assert page["totals"] == {"failed": 1, "pending": 1}
    line = page["data"][0]
    assert line["status"] == "failed" and line["attempts"] == 8 and line["last_error"] == "ConnectionRefusedError"
    assert line["report_reference"] == report.reference and line["kind_label"] == "Accusé de réception au déclarant"
    assert client.get(URL, params={"status": "failed"}, headers=coordinator).json()["count"] == 1
    assert client.get(f"{URL}/counts", headers=coordinator).json() == {"failed": 1, "pending": 1}

    again = client.post(f"{URL}/{failed.id}/resend", headers=coordinator)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "pending" and again.json()["attempts"] == 0

    mail = smtp.mail_settings(settings, smtp_server)
    sessions = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    now = session.scalar(text("SELECT now()")) + timedelta(seconds=1)
    assert worker.send_pending(sessionmaker=sessions, settings=mail, sender=worker.SmtpSender(mail), now=now).sent == 2
    assert [m["To"] for m in smtp_server.messages] == ["jeanne@example.org", "jeanne@example.org"]
    assert client.get(f"{URL}/counts", headers=coordinator).json() == {"failed": 0, "pending": 0}

    refused = client.post(f"{URL}/{failed.id}/resend", headers=coordinator)
    assert refused.status_code == 409 and refused.json()["code"] == "message_deja_envoye"
    missing = client.post(f"{URL}/999999999/resend", headers=coordinator)
    assert missing.status_code == 404 and missing.json()["message"].startswith("Aucun message")


def test_only_coordinators_and_admins_see_the_outbox(client, session, settings):
    regie = partners.create_partner(session=session, name="Régie", kind="ville", emails=["r@x.example"])
    partner = builders.staff(session, "partenaire", partner_id=regie.id)[1]
    group = builders.staff(session, "groupe")[1]
    admin = builders.staff(session, "admin")[1]
    for headers in (partner, group):
        refused = client.get(URL, headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "interdit"
    assert client.get(URL, headers=admin).status_code == 200
    assert client.get(URL).status_code == 401

