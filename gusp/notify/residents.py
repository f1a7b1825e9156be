"""Mails to residents: only to those who left an e-mail *and* consented, never with internal data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import states, throttle
from gusp.config import Settings
from gusp.models import OutboxMessage, Report, ReporterContact
from gusp.notify import queue, rendering
from gusp.public import redact

# Closed vocabulary shown to residents: why their report was not kept (never a free-text note).
REJECTION_LABELS: dict[states.RejectionReason, str] = {
    states.RejectionReason.HORS_COMPETENCE: "ce problème ne relève pas des partenaires de la GUSP",
    states.RejectionReason.DOUBLON: "ce problème avait déjà été signalé",
    states.RejectionReason.NON_FONDE: "le problème n'a pas été constaté sur place",
    states.RejectionReason.HORS_PERIMETRE: "ce lieu est en dehors des quartiers suivis par la GUSP",
}
# The verb of a closing mail's subject, by status reached ("Signalement GUSP-… : résolu").
STATUS_VERBS: dict[states.ReportStatus, str] = {
    states.ReportStatus.RESOLU: "résolu",
    states.ReportStatus.CLOS: "clos",
}


def report_received(*, session: Session, settings: Settings, report: Report) -> list[OutboxMessage]:
    """Acknowledge a new report to its reporter, with the reference and the follow link."""
    contact = session.get(ReporterContact, report.id)
    if not rendering.reachable(contact):
        return []
    if report.created_by_user_id is None:  # filed by a stranger: no mail bombing through intake
        throttle.mail_to(session=session, settings=settings, address=contact.email)
    subject, text, html = receipt(settings, reference=report.reference, category=rendering.category_label(session, report))
    return [
        queue.enqueue(
            session=session,
            kind=queue.MailKind.REPORT_RECEIVED,
            recipient=contact.email,
            subject=subject,
            text=text,
            html=html,
            report_id=report.id,
        )
    ]


def receipt(settings: Settings, *, reference: str, category: str) -> tuple[str, str, str]:
    """Subject, text and HTML of the acknowledgement of a new report (one line of subject)."""
    subject = f"Signalement {reference} : bien reçu"
    text, html = rendering.render(
        queue.MailKind.REPORT_RECEIVED, title=subject, reference=reference, category=category,
        follow_url=rendering.follow_url(settings, reference),
    )
    return queue.one_line(subject), text, html


def report_acknowledged(*, session: Session, settings: Settings, report: Report) -> list[OutboxMessage]:
    """Tell the reporter that the report was taken into account (qualified), with who handles it and by when."""
    return _to_reporter(
        session=session, settings=settings, report=report, kind=queue.MailKind.REPORT_ACKNOWLEDGED,
        subject=f"Signalement {report.reference} : pris en compte",
        partner=report.partner.name if report.partner is not None else None,
        due=rendering.fr_date(report.due_at, settings) if report.due_at else None,
    )


def report_commented(*, session: Session, settings: Settings, report: Report, note: str) -> list[OutboxMessage]:
    """Pass a public comment of the staff on to the reporter."""
    return _to_reporter(
        session=session, settings=settings, report=report, kind=queue.MailKind.REPORT_COMMENTED,
        subject=f"Signalement {report.reference} : un nouveau message",
        note=redact.redact_text(note.strip()),  # as on the follow page: no phone number or address in clear
    )


def _to_reporter(
    *, session: Session, settings: Settings, report: Report, kind: queue.MailKind, subject: str, **context: object
) -> list[OutboxMessage]:
    """One mail to the reporter of `report` if reachable (an e-mail and consent), else none."""
    contact = session.get(ReporterContact, report.id)
    if not rendering.reachable(contact):
        return []
    text, html = rendering.render(
        kind, title=subject, reference=report.reference, category=rendering.category_label(session, report),
        follow_url=rendering.follow_url(settings, report.reference), **context,
    )
    return [queue.enqueue(session=session, kind=kind, recipient=contact.email, subject=subject, text=text, html=html,
                    report_id=report.id)]


def report_closed(
    *, session: Session, settings: Settings, report: Report, public_note: str | None
) -> list[OutboxMessage]:
    """Tell the reporters of a resolved or rejected report, and of its merged duplicates, with the public note.

    One mail per address: a resident who reported both the master and a duplicate hears once,
    about his own report first.
    """
    status = states.ReportStatus(report.status)
    if status in states.OPEN:
        raise ValueError(f"report_closed on an open report ({report.reference}: {status})")
    duplicates = session.scalars(select(Report).where(Report.master_report_id == report.id).order_by(Report.id)).all()
    rejected = status is states.ReportStatus.REJETE
    reason = REJECTION_LABELS.get(report.rejection_reason) if rejected and report.rejection_reason else None
    messages: list[OutboxMessage] = []
    seen: set[str] = set()
    for own in [report, *duplicates]:
        contact = session.get(ReporterContact, own.id)
        if not rendering.reachable(contact) or contact.email.lower() in seen:
            continue
        seen.add(contact.email.lower())
        verdict = "n'a pas été retenu" if rejected else STATUS_VERBS.get(status, "est traité")
        subject = f"Signalement {own.reference} : {verdict}"
        text, html = rendering.render(
            queue.MailKind.REPORT_CLOSED,
            title=subject,
            reference=own.reference,
            master_reference=report.reference if own is not report else None,
            rejected=rejected,
            reason=reason,
            status=states.STATUS_LABELS[status],
            # it also reaches the reporters of the duplicates: redacted like any public note
            note=redact.redact_text((public_note or "").strip()) or None,
            follow_url=rendering.follow_url(settings, own.reference),
        )
        messages.append(
            queue.enqueue(
                session=session,
                kind=queue.MailKind.REPORT_CLOSED,
                recipient=contact.email,
                subject=subject,
                text=text,
                html=html,
                report_id=own.id,
                data={"status": status.value, "master_id": report.id},
            )
        )
    return messages
