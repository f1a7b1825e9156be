"""The outbox side of notifications: a message is a row written with the change that causes it.

Every enqueuer renders its French template (plain text and HTML) and adds one `outbox` row per
recipient in the caller's transaction, flushed, never committed: if the change is rolled back,
so is the message, and a committed change always has its message. `gusp.worker` sends the rows.

Residents are written to only when they left an e-mail *and* consented; partners get what they
need to act (internal data included) but never a resident's contact details.
"""

from __future__ import annotations

import math
import uuid
from urllib.parse import quote
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import credentials, db, deadlines, states, throttle
from gusp.config import Settings
from gusp.public import redact, visibility
from gusp.models import Category, OutboxMessage, Partner, PasswordReset, Report, ReporterContact, ReportPhoto, User

TEMPLATES_DIR = Path(__file__).resolve().parent / "mail_templates"
DIGEST_MAX_ROWS = 100  # beyond, the digest says "… et N autres": the list page has them all
_SUBJECT_MAX = 300  # the column's length
RESET_LINK_PLACEHOLDER = "[lien-de-reinitialisation]"  # replaced by the worker at sending time


class MailKind(StrEnum):
    """Which template a row was rendered from (`outbox.kind`)."""

    REPORT_RECEIVED = "report_received"
    REPORT_ACKNOWLEDGED = "report_acknowledged"
    REPORT_COMMENTED = "report_commented"
    REPORT_ASSIGNED = "report_assigned"
    REPORT_CLOSED = "report_closed"
    OVERDUE_DIGEST = "overdue_digest"
    PASSWORD_RESET = "password_reset"
    STAFF_NOTICE = "staff_notice"


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


def enqueue(
    *,
    session: Session,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    report_id: int | None = None,
    data: dict | None = None,
    message_id: str | None = None,
) -> OutboxMessage:
    """Add one pending message; its Message-ID is fixed now so that a resend is recognisable."""
    message = OutboxMessage(
        kind=str(kind),
        recipient=recipient.strip(),
        subject=" ".join(subject.split())[:_SUBJECT_MAX],  # one line: no header injection
        body_text=text,
        body_html=html,
        report_id=report_id,
        status=states.OutboxStatus.PENDING,
        attempts=0,
        message_id=message_id or f"<{uuid.uuid4().hex}@gusp>",
        data=data or {},
    )
    session.add(message)
    session.flush()
    return message


def report_received(*, session: Session, settings: Settings, report: Report) -> list[OutboxMessage]:
    """Acknowledge a new report to its reporter, with the reference and the follow link."""
    contact = session.get(ReporterContact, report.id)
    if not _reachable(contact):
        return []
    if report.created_by_user_id is None:  # filed by a stranger: no mail bombing through intake
        throttle.mail_to(session=session, settings=settings, address=contact.email)
    subject, text, html = receipt(settings, reference=report.reference, category=_category(session, report))
    return [
        enqueue(
            session=session,
            kind=MailKind.REPORT_RECEIVED,
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
    text, html = _render(
        MailKind.REPORT_RECEIVED, title=subject, reference=reference, category=category,
        follow_url=follow_url(settings, reference),
    )
    return " ".join(subject.split())[:_SUBJECT_MAX], text, html


def report_acknowledged(*, session: Session, settings: Settings, report: Report) -> list[OutboxMessage]:
    """Tell the reporter that the report was taken into account (qualified), with who handles it and by when."""
    return _to_reporter(
        session=session, settings=settings, report=report, kind=MailKind.REPORT_ACKNOWLEDGED,
        subject=f"Signalement {report.reference} : pris en compte",
        partner=report.partner.name if report.partner is not None else None,
        due=_fr_date(report.due_at, settings) if report.due_at else None,
    )


def report_commented(*, session: Session, settings: Settings, report: Report, note: str) -> list[OutboxMessage]:
    """Pass a public comment of the staff on to the reporter."""
    return _to_reporter(
        session=session, settings=settings, report=report, kind=MailKind.REPORT_COMMENTED,
        subject=f"Signalement {report.reference} : un nouveau message",
        note=redact.redact_text(note.strip()),  # as on the follow page: no phone number or address in clear
    )


def _to_reporter(
    *, session: Session, settings: Settings, report: Report, kind: MailKind, subject: str, **context: object
) -> list[OutboxMessage]:
    """One mail to the reporter of `report` if reachable (an e-mail and consent), else none."""
    contact = session.get(ReporterContact, report.id)
    if not _reachable(contact):
        return []
    text, html = _render(
        kind, title=subject, reference=report.reference, category=_category(session, report),
        follow_url=follow_url(settings, report.reference), **context,
    )
    return [enqueue(session=session, kind=kind, recipient=contact.email, subject=subject, text=text, html=html,
                    report_id=report.id)]


def report_assigned(*, session: Session, settings: Settings, report: Report, partner: Partner) -> list[OutboxMessage]:
    """Hand a report to each address of its partner: what, where, by when, and the staff link."""
    recipients = _unique(partner.emails or [])
    if not recipients:
        return []
    lat, lon = session.execute(
        select(func.ST_Y(Report.location), func.ST_X(Report.location)).where(Report.id == report.id)
    ).one()
    subject = f"Signalement {report.reference} : {_category(session, report)} à traiter"
    text, html = _render(
        MailKind.REPORT_ASSIGNED,
        title=subject,
        reference=report.reference,
        partner=partner.name,
        category=_category(session, report),
        priority=str(report.priority).capitalize(),
        quartier=_quartier(report),
        lat=lat,
        lon=lon,
        map_url=f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=19/{lat:.6f}/{lon:.6f}",
        due=_fr_datetime(report.due_at, settings) if report.due_at else None,
        created=_fr_datetime(report.created_at, settings),
        description=report.description,
        photos=[_url(settings, path) for path in _report_photo_paths(session, report)],
        staff_url=staff_url(settings, report.reference),
    )
    return [
        enqueue(
            session=session,
            kind=MailKind.REPORT_ASSIGNED,
            recipient=email,
            subject=subject,
            text=text,
            html=html,
            report_id=report.id,
            data={"partner_id": partner.id},
        )
        for email in recipients
    ]


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
        if not _reachable(contact) or contact.email.lower() in seen:
            continue
        seen.add(contact.email.lower())
        verdict = "n'a pas été retenu" if rejected else STATUS_VERBS.get(status, "est traité")
        subject = f"Signalement {own.reference} : {verdict}"
        text, html = _render(
            MailKind.REPORT_CLOSED,
            title=subject,
            reference=own.reference,
            master_reference=report.reference if own is not report else None,
            rejected=rejected,
            reason=reason,
            status=states.STATUS_LABELS[status],
            # it also reaches the reporters of the duplicates: redacted like any public note
            note=redact.redact_text((public_note or "").strip()) or None,
            follow_url=follow_url(settings, own.reference),
        )
        messages.append(
            enqueue(
                session=session,
                kind=MailKind.REPORT_CLOSED,
                recipient=contact.email,
                subject=subject,
                text=text,
                html=html,
                report_id=own.id,
                data={"status": status.value, "master_id": report.id},
            )
        )
    return messages


def staff_notice(
    *, session: Session, settings: Settings, report: Report, intro: str, text: str | None = None,
    text_label: str = "Texte reçu", data: dict | None = None,
) -> list[OutboxMessage]:
    """Tell each active coordinator of something that arrived from outside (an Open311 comment,
    a partner's answer) and waits for a look."""
    coordinators = session.scalars(
        select(User).where(User.role == states.Role.COORDINATEUR, User.active.is_(True)).order_by(User.id)
    ).all()
    subject = f"Signalement {report.reference} : {intro}"
    rendered = _render(
        MailKind.STAFF_NOTICE, title=subject, intro=intro[:1].upper() + intro[1:] + ".", text=text,
        text_label=text_label, reference=report.reference, category=_category(session, report),
        staff_url=staff_url(settings, report.reference),
    )
    return [
        enqueue(session=session, kind=MailKind.STAFF_NOTICE, recipient=user.email, subject=subject,
                text=rendered[0], html=rendered[1], report_id=report.id, data=data)
        for user in coordinators
    ]


def overdue_digest(*, session: Session, settings: Settings, now: datetime) -> int:
    """Queue today's digest of overdue open reports to each active coordinator and admin; 0 when none,
    or already queued.

    Once per (Paris) day and coordinator: an advisory lock serialises concurrent runs, the
    `data.day` check skips those already queued, and the Message-ID (day + user) is unique anyway.
    """
    tz = ZoneInfo(settings.timezone)
    day = now.astimezone(tz).date()
    due = deadlines.due_expression(settings)
    overdue = session.execute(
        select(Report, Partner.name, due)
        .outerjoin(Partner, Partner.id == Report.partner_id)
        .where(
            Report.status.in_([s.value for s in states.OPEN]),
            due < now,
            Report.master_report_id.is_(None),  # a merged duplicate is followed through its master
        )
        .order_by(due, Report.id)
    ).all()
    if not overdue:
        return 0
    db.advisory_xact_lock(session, f"outbox:{MailKind.OVERDUE_DIGEST}:{day.isoformat()}")
    already = set(
        session.scalars(
            select(OutboxMessage.data["user_id"].as_integer()).where(
                OutboxMessage.kind == MailKind.OVERDUE_DIGEST,
                OutboxMessage.data["day"].astext == day.isoformat(),
            )
        )
    )
    coordinators = [  # and admins: they answer for the service too
        user
        for user in session.scalars(
            select(User)
            .where(User.role.in_([states.Role.COORDINATEUR, states.Role.ADMIN]), User.active.is_(True))
            .order_by(User.id)
        )
        if user.id not in already
    ]
    if not coordinators:
        return 0
    rows = [
        {
            "reference": report.reference,
            "quartier": _quartier(report),
            "partner": partner_name or "non attribué",
            "late": _days_late(due_at, now),
            "url": staff_url(settings, report.reference),
        }
        for report, partner_name, due_at in overdue[:DIGEST_MAX_ROWS]
    ]
    count = len(overdue)
    subject = f"GUSP : {count} signalement{'s' if count > 1 else ''} en retard au {day:%d/%m/%Y}"
    for user in coordinators:
        text, html = _render(
            MailKind.OVERDUE_DIGEST,
            title=subject,
            name=user.full_name,
            count=count,
            day=f"{day:%d/%m/%Y}",
            rows=rows,
            more=max(0, count - DIGEST_MAX_ROWS),
        )
        enqueue(
            session=session,
            kind=MailKind.OVERDUE_DIGEST,
            recipient=user.email,
            subject=subject,
            text=text,
            html=html,
            data={"day": day.isoformat(), "user_id": user.id, "count": count},
            message_id=f"<overdue-{day.isoformat()}-{user.id}@gusp>",
        )
    return len(coordinators)


def password_reset(*, session: Session, settings: Settings, user: User, reset: PasswordReset) -> OutboxMessage:
    """Queue a reset mail whose link is made only when the worker sends it (`final_bodies`): the
    stored row holds a placeholder, never a usable link."""
    throttle.mail_to(session=session, settings=settings, address=user.email)
    subject = "GUSP : réinitialisation de votre mot de passe"
    text, html = _render(
        MailKind.PASSWORD_RESET,
        title=subject,
        name=user.full_name,
        email=user.email,
        link=RESET_LINK_PLACEHOLDER,
        minutes=settings.password_reset_minutes,
    )
    return enqueue(
        session=session,
        kind=MailKind.PASSWORD_RESET,
        recipient=user.email,
        subject=subject,
        text=text,
        html=html,
        data={"user_id": user.id, "secret": True, "reset": reset.token_hash},
    )


def reset_link(settings: Settings, token: str) -> str:
    """In the fragment: never sent to the server, so never in an access log; the page POSTs it."""
    return _url(settings, f"/reinitialiser#jeton={token}")


def final_bodies(*, session: Session, settings: Settings, message: OutboxMessage) -> tuple[str, str | None]:
    """The bodies to send now: a reset mail gets a fresh token (ValueError when the link is dead)."""
    if message.kind != MailKind.PASSWORD_RESET or "reset" not in (message.data or {}):
        return message.body_text, message.body_html
    issued = credentials.issue_reset_token(session=session, reset_hash=message.data["reset"])
    if issued is None:
        raise ValueError("lien de réinitialisation utilisé, remplacé ou expiré avant l'envoi")
    token, token_hash = issued
    message.data = {**message.data, "reset": token_hash}  # a retry finds the row again
    link = reset_link(settings, token)

    def filled(body: str | None) -> str | None:
        return body.replace(RESET_LINK_PLACEHOLDER, link) if body is not None else None

    return filled(message.body_text), filled(message.body_html)


def follow_url(settings: Settings, reference: str) -> str:
    return _url(settings, f"/suivi/{reference}")


def staff_url(settings: Settings, reference: str) -> str:
    """The console opened on the report (`/gestion?ref=…`): the one page staff work from."""
    return _url(settings, f"/gestion?ref={quote(reference, safe='')}")


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string in a mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(kind: MailKind, **context: object) -> tuple[str, str]:
    """The plain-text and the HTML body of a template; only the HTML one is escaped."""
    env = _environment()
    return env.get_template(f"{kind}.txt").render(context), env.get_template(f"{kind}.html").render(context)


def _category(session: Session, report: Report) -> str:
    """Read by code: triage may change `category_code` without touching the loaded relationship."""
    category = session.get(Category, report.category_code)
    return category.label if category else report.category_code


def _report_photo_paths(session: Session, report: Report) -> list[str]:
    """Links to the resident's photos (not the partner's "after" photos): the public URL while a photo
    is public (a partner's mailbox needs no account), the staff URL (sign-in) for a hidden photo or
    one of a sensitive category or awaiting publication."""
    photos = session.scalars(
        select(ReportPhoto)
        .where(ReportPhoto.report_id == report.id, ReportPhoto.kind == "signalement")
        .order_by(ReportPhoto.position)
    )
    return [f"/media/{p.display_key}" if visibility.photo_is_public(report, p) else f"/api/v1/gestion/media/{p.display_key}"
            for p in photos]


def _reachable(contact: ReporterContact | None) -> bool:
    return bool(contact and contact.email and contact.consent)


def _unique(emails: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for email in emails:
        if email and email.strip():
            seen.setdefault(email.strip().lower(), email.strip())
    return list(seen.values())


def _quartier(report: Report) -> str:
    if report.quartier is not None:
        return report.quartier.nom
    if report.nearest_quartier is not None:
        return f"hors périmètre (près de {report.nearest_quartier.nom})"
    return "hors périmètre"


def _days_late(due_at: datetime, now: datetime) -> str:
    """Whole days past the deadline, rounded down: 2 days and a few seconds are "2 jours"."""
    days = math.floor((now - due_at).total_seconds() / 86400)
    if days < 1:
        return "moins d'un jour"
    return f"{days} jour{'s' if days > 1 else ''}"


def _fr_datetime(value: datetime, settings: Settings) -> str:
    return value.astimezone(ZoneInfo(settings.timezone)).strftime("%d/%m/%Y à %H:%M")


def _fr_date(value: datetime, settings: Settings) -> str:
    return value.astimezone(ZoneInfo(settings.timezone)).strftime("%d/%m/%Y")


def _url(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}"
