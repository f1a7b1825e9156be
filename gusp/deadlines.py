"""Deadlines that make a report overdue: the partner's (`due_at`, set by `triage.assign`), or,
for a report still `nouveau` without one, the triage deadline (`triage_delay_days` after intake)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func

from gusp import states
from gusp.config import Settings
from gusp.models import Report


def effective_due(report: Report, *, settings: Settings | None) -> datetime | None:
    """The deadline that counts: the partner's; for a report still `nouveau` without one, the
    triage deadline (`triage_delay_days` after intake), so that nothing waits unseen."""
    if report.due_at is not None or settings is None or settings.triage_delay_days <= 0:
        return report.due_at
    if report.status != states.ReportStatus.NOUVEAU:
        return None
    return report.created_at + timedelta(days=settings.triage_delay_days)


def due_expression(settings: Settings):
    """`effective_due` in SQL, for filters and the digest."""
    if settings.triage_delay_days <= 0:
        return Report.due_at
    triage_due = case((Report.status == states.ReportStatus.NOUVEAU.value,
                       Report.created_at + timedelta(days=settings.triage_delay_days)), else_=None)
    return func.coalesce(Report.due_at, triage_due)
