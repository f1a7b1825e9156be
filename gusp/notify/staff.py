"""Mails to staff: a partner handed a report, coordinators told of what came from outside, the daily digest."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gusp import db, deadlines, states
from gusp.config import Settings
from gusp.models import OutboxMessage, Partner, Report, User
from gusp.notify import queue, rendering

DIGEST_MAX_ROWS = 100  # beyond, the digest says "… et N autres": the list page has them all


def report_assigned(*, session: Session, settings: Settings, report: Report, partner: Partner) -> list[OutboxMessage]:
    """Hand a report to each address of its partner: what, where, by when, and the staff link."""
    recipients = rendering.unique(partner.emails or [])
    if not recipients:
        return []
    lat, lon = session.execute(
        select(func.ST_Y(Report.location), func.ST_X(Report.location)).where(Report.id == report.id)
    ).one()
    subject = f"Signalement {report.reference} : {rendering.category_label(session, report)} à traiter"
    text, html = rendering.render(
        queue.MailKind.REPORT_ASSIGNED,
        title=subject,
        reference=report.reference,
        partner=partner.name,
        category=rendering.category_label(session, report),
        priority=str(report.priority).capitalize(),
        quartier=rendering.quartier_label(report),
        lat=lat,
        lon=lon,
        map_url=f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=19/{lat:.6f}/{lon:.6f}",
        due=rendering.fr_datetime(report.due_at, settings) if report.due_at else None,
        created=rendering.fr_datetime(report.created_at, settings),
        description=report.description,
        photos=[rendering.url(settings, path) for path in rendering.report_photo_paths(session, report)],
        staff_url=rendering.staff_url(settings, report.reference),
    )
    return [
        queue.enqueue(
            session=session,
            kind=queue.MailKind.REPORT_ASSIGNED,
            recipient=email,
            subject=subject,
            text=text,
            html=html,
            report_id=report.id,
            data={"partner_id": partner.id},
        )
        for email in recipients
    ]


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
    rendered = rendering.render(
        queue.MailKind.STAFF_NOTICE, title=subject, intro=intro[:1].upper() + intro[1:] + ".", text=text,
        text_label=text_label, reference=report.reference, category=rendering.category_label(session, report),
        staff_url=rendering.staff_url(settings, report.reference),
    )
    return [
        queue.enqueue(session=session, kind=queue.MailKind.STAFF_NOTICE, recipient=user.email, subject=subject,
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
    db.advisory_xact_lock(session, f"outbox:{queue.MailKind.OVERDUE_DIGEST}:{day.isoformat()}")
    already = set(
        session.scalars(
            select(OutboxMessage.data["user_id"].as_integer()).where(
                OutboxMessage.kind == queue.MailKind.OVERDUE_DIGEST,
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
            "quartier": rendering.quartier_label(report),
            "partner": partner_name or "non attribué",
            "late": rendering.days_late(due_at, now),
            "url": rendering.staff_url(settings, report.reference),
        }
        for report, partner_name, due_at in overdue[:DIGEST_MAX_ROWS]
    ]
    count = len(overdue)
    subject = f"GUSP : {count} signalement{'s' if count > 1 else ''} en retard au {day:%d/%m/%Y}"
    for user in coordinators:
        text, html = rendering.render(
            queue.MailKind.OVERDUE_DIGEST,
            title=subject,
            name=user.full_name,
            count=count,
            day=f"{day:%d/%m/%Y}",
            rows=rows,
            more=max(0, count - DIGEST_MAX_ROWS),
        )
        queue.enqueue(
            session=session,
            kind=queue.MailKind.OVERDUE_DIGEST,
            recipient=user.email,
            subject=subject,
            text=text,
            html=html,
            data={"day": day.isoformat(), "user_id": user.id, "count": count},
            message_id=f"<overdue-{day.isoformat()}-{user.id}@gusp>",
        )
    return len(coordinators)
