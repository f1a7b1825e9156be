"""The one place where a report's status, partner, priority or category changes.

Every change checks the transition table (`states.TRANSITIONS`), sets the milestone
timestamps, writes one event (actor, time, old and new values, note public or internal) and,
when someone must hear of it, an outbox message in the same transaction.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import deadlines, duplicates, errors, intake, notify, photos, routing, states
from gusp.config import Settings
from gusp.models import Category, Partner, Report, ReportEvent, User
from gusp.open311.outbound import sending as open311_sending
from gusp.storage import PhotoStorage

_CLOSING = {states.ReportStatus.RESOLU, states.ReportStatus.REJETE}


def change_status(
    *,
    session: Session,
    settings: Settings,
    report: Report,
    to: states.ReportStatus,
    actor: User | None,
    note: str | None = None,
    note_public: bool = False,
    reason: states.RejectionReason | None = None,
    event_data: dict | None = None,
    at: datetime | None = None,
) -> Report:
    """Apply one transition of the table, or refuse it (409) naming the allowed ones.

    `event_data` joins the event's data: where the change came from when not from a person
    (a partner's Open311 server). `at`: the instant of the change when it is part of another
    (an assignment), so that both share their milestones' time.
    """
    to = states.ReportStatus(to)
    reason = states.RejectionReason(reason) if reason else None
    old = states.ReportStatus(report.status)
    allowed = states.TRANSITIONS[old]
    if to not in allowed:
        raise errors.Conflict(
            "transition_interdite",
            _refusal(old, to, allowed),
            field="status",
            allowed=sorted(s.value for s in allowed),
        )
    if to is states.ReportStatus.REJETE and reason is None:
        raise errors.Unprocessable("motif_manquant", "Indiquez le motif du rejet.", field="reason")
    now = at or _now(session)
    _set_milestones(report, old=old, new=to, now=now)
    report.status = to
    report.rejection_reason = reason.value if to is states.ReportStatus.REJETE and reason else None
    report.updated_at = now
    _event(
        session, report, states.EventKind.STATUS_CHANGED, actor, now,
        {"old": old.value, "new": to.value, "reason": report.rejection_reason, **(event_data or {})}, note,
        note_public,
    )
    session.flush()
    if old is states.ReportStatus.NOUVEAU and to is states.ReportStatus.PRIS_EN_COMPTE:
        notify.report_acknowledged(session=session, settings=settings, report=report)
    if to in _CLOSING:
        notify.report_closed(session=session, settings=settings, report=report, public_note=note if note_public else None)
    return report


def assign(
    *,
    session: Session,
    settings: Settings,
    report: Report,
    partner: Partner,
    actor: User | None,
    note: str | None = None,
) -> Report:
    """Hand the report to a partner, who is told: a new report is qualified (`pris_en_compte`, the
    reporter hears of it) and gets the partner's deadline from now; a change of partner keeps the
    deadline and puts an `en_cours` report back to `pris_en_compte`; the same partner again: 409."""
    if states.ReportStatus(report.status) not in states.OPEN:
        raise errors.Conflict(
            "signalement_ferme", "Ce signalement est clos ou résolu : rouvrez-le avant de l'affecter.", field="partner"
        )
    if not partner.active:
        raise errors.Unprocessable("partenaire_inactif", f"Le partenaire « {partner.name} » est désactivé.", field="partner")
    old_partner = report.partner_id
    status = states.ReportStatus(report.status)
    if old_partner == partner.id and report.assigned_at is not None and status is not states.ReportStatus.NOUVEAU:
        raise errors.Conflict(
            "deja_affecte", f"Ce signalement est déjà affecté à « {partner.name} ».", field="partner_id"
        )
    now = _now(session)
    report.partner_id = partner.id
    report.partner = partner
    if status is states.ReportStatus.NOUVEAU or report.due_at is None or report.assigned_at is None:
        # Qualified now (first time, or again after a reopening): the partner's deadline starts now.
        report.assigned_at = now
        report.due_at = due_date(settings=settings, report=report, partner=partner, start=now)
    # Otherwise a change of partner keeps the deadline promised to the resident: a late report stays late.
    report.updated_at = now
    if status is states.ReportStatus.NOUVEAU:
        change_status(session=session, settings=settings, report=report, to=states.ReportStatus.PRIS_EN_COMPTE,
                      actor=actor, at=now)
    elif status is states.ReportStatus.EN_COURS:
        # Taken by the previous partner, not by this one: waiting for the new partner to take it.
        report.status = states.ReportStatus.PRIS_EN_COMPTE
        _event(session, report, states.EventKind.STATUS_CHANGED, actor, now,
               {"old": status.value, "new": report.status, "reason": None, "cause": "reaffectation"}, None, False)
    _event(
        session, report, states.EventKind.ASSIGNED, actor, report.updated_at,  # after the status change
        {"old": old_partner, "new": partner.id, "due_at": report.due_at.isoformat()}, note, False,
    )
    session.flush()
    notify.report_assigned(session=session, settings=settings, report=report, partner=partner)
    open311_sending.report_assigned(session=session, settings=settings, report=report, partner=partner)
    return report


def set_priority(
    *, session: Session, settings: Settings, report: Report, priority: states.Priority, actor: User | None
) -> Report:
    """Change the priority; an assigned report's due date follows it."""
    priority = states.Priority(priority)
    old = report.priority
    if old == priority:
        return report
    now = _now(session)
    report.priority = priority
    if report.partner is not None and report.assigned_at is not None:
        report.due_at = due_date(settings=settings, report=report, partner=report.partner, start=report.assigned_at)
    report.updated_at = now
    _event(session, report, states.EventKind.PRIORITY_CHANGED, actor, now, {"old": old, "new": priority.value}, None, False)
    session.flush()
    return report


def change_category(
    *, session: Session, settings: Settings, report: Report, category: Category, actor: User | None
) -> Report:
    """Correct the category, then route again: a new partner in charge is assigned at once."""
    old = report.category_code
    if old == category.code:
        return report
    now = _now(session)
    report.category_code = category.code
    report.category = category
    report.updated_at = now
    _event(session, report, states.EventKind.CATEGORY_CHANGED, actor, now, {"old": old, "new": category.code}, None, False)
    session.flush()
    partner = routing.partner_for(session=session, report=report)
    if partner is not None and partner.id != report.partner_id:
        if report.assigned_at is None:
            report.partner_id, report.partner = partner.id, partner
        elif states.ReportStatus(report.status) in states.OPEN:
            assign(session=session, settings=settings, report=report, partner=partner, actor=actor,
                   note="Nouvelle catégorie : partenaire recalculé.")
    session.flush()
    return report


def comment(
    *, session: Session, report: Report, actor: User | None, note: str, public: bool = False,
    event_data: dict | None = None, settings: Settings | None = None,
) -> ReportEvent:
    """A note on the report; with `settings`, a public one is also mailed to the reporter (a staff
    comment — not the words a resident sent through Open311)."""
    if not note.strip():
        raise errors.Unprocessable("commentaire_vide", "Le commentaire est vide.", field="note")
    now = _now(session)
    event = _event(session, report, states.EventKind.COMMENTED, actor, now, dict(event_data or {}), note.strip(),
                   public)
    session.flush()
    if public and settings is not None:
        notify.report_commented(session=session, settings=settings, report=report, note=note)
    return event


def merge(
    *,
    session: Session,
    settings: Settings,
    duplicate: Report,
    master: Report,
    actor: User | None,
    note: str | None = None,
    note_public: bool = False,
) -> Report:
    """Close `duplicate` as a `doublon` of `master`; its reporter follows the master from then on.

    The coordinator's note stays internal unless flagged public; the reporter is told which report to follow."""
    duplicates.attach_duplicate(session=session, duplicate=duplicate, master=master)
    master = session.get(Report, duplicate.master_report_id) or master
    now = _now(session)
    _event(session, duplicate, states.EventKind.MERGED, actor, now, {"master": master.reference}, note,
           bool(note) and note_public)
    _event(session, master, states.EventKind.DUPLICATE_ATTACHED, actor, now,
           {"duplicate": duplicate.reference, "similar_count": master.similar_count}, None, False)
    public = f"Ce problème a déjà été signalé : suivez le signalement {master.reference}."
    change_status(session=session, settings=settings, report=duplicate, to=states.ReportStatus.REJETE, actor=actor,
                  note=public, note_public=True, reason=states.RejectionReason.DOUBLON)
    return master


def resolve(
    *,
    session: Session,
    settings: Settings,
    storage: PhotoStorage,
    report: Report,
    actor: User | None,
    note: str | None,
    after_photo: BinaryIO | None = None,
    event_data: dict | None = None,
) -> Report:
    """A partner's resolution: a public note for the reporter and, if sent, an "after" photo."""
    processed = [photos.process(after_photo, settings=settings, field="after_photo")] if after_photo else []
    intake.store_files(session=session, storage=storage, processed=processed)
    report = change_status(session=session, settings=settings, report=report, to=states.ReportStatus.RESOLU,
                           actor=actor, note=note, note_public=bool(note), event_data=event_data)
    intake.add_photo_rows(session=session, report=report, processed=processed, now=report.resolved_at, kind="apres")
    return report


def due_date(*, settings: Settings, report: Report, partner: Partner, start: datetime) -> datetime:
    """The shorter of the category's and the partner's deadline; `haute` halves it, `urgente` is one day."""
    delays = [d for d in (report.category.delay_days if report.category else None, partner.delay_days) if d]
    days = min(delays) if delays else settings.default_delay_days
    if report.priority == states.Priority.HAUTE:
        days = math.ceil(days / 2)
    elif report.priority == states.Priority.URGENTE:
        days = 1
    return start + timedelta(days=days)


def is_overdue(report: Report, *, now: datetime, settings: Settings | None = None) -> bool:
    """Open and past its deadline; with `settings`, a report left `nouveau` past the triage deadline too."""
    due = deadlines.effective_due(report, settings=settings)
    return states.ReportStatus(report.status) in states.OPEN and due is not None and due < now


def _set_milestones(report: Report, *, old: states.ReportStatus, new: states.ReportStatus, now: datetime) -> None:
    if new is states.ReportStatus.PRIS_EN_COMPTE and report.acknowledged_at is None:
        report.acknowledged_at = now
    if new is states.ReportStatus.EN_COURS and report.acknowledged_at is None:
        report.acknowledged_at = now
    if new is states.ReportStatus.RESOLU:
        report.resolved_at = now
    if new in (states.ReportStatus.CLOS, states.ReportStatus.REJETE):
        report.closed_at = now
    if old is states.ReportStatus.RESOLU and new is states.ReportStatus.PRIS_EN_COMPTE:  # reopened
        report.resolved_at = None
    if old is states.ReportStatus.REJETE:  # reopened
        report.closed_at = None


def _refusal(old: states.ReportStatus, to: states.ReportStatus, allowed: frozenset[states.ReportStatus]) -> str:
    label = states.STATUS_LABELS
    if not allowed:
        return f"Un signalement « {label[old]} » ne peut plus changer de statut."
    choices = ", ".join(f"« {label[s]} »" for s in sorted(allowed))
    return f"Impossible de passer de « {label[old]} » à « {label[to]} ». Statuts possibles : {choices}."


def _event(
    session: Session,
    report: Report,
    kind: states.EventKind,
    actor: User | None,
    now: datetime,
    data: dict,
    note: str | None,
    public: bool,
) -> ReportEvent:
    event = ReportEvent(
        report_id=report.id,
        kind=kind,
        at=now,
        actor=actor.full_name if actor else None,
        actor_user_id=actor.id if actor else None,
        data=data,
        note=note,
        note_public=public,
    )
    session.add(event)
    return event


def _now(session: Session) -> datetime:
    return session.scalar(text("SELECT clock_timestamp()"))
