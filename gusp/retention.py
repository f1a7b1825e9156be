"""Personal data is kept no longer than promised: a reporter's contact details go once the
report they follow has been resolved or closed for `contact_retention_months` (the consent text
on the reporting page says so). The reporter of a merged duplicate follows its master."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp.config import Settings

_PURGE = text(
    """
    DELETE FROM reporter_contacts c
    USING reports r
    LEFT JOIN reports m ON m.id = r.master_report_id
    WHERE c.report_id = r.id
      AND CASE
            WHEN COALESCE(m.status, r.status) IN ('clos', 'rejete')
                THEN COALESCE(m.closed_at, r.closed_at) < now() - make_interval(months => :months)
            WHEN COALESCE(m.status, r.status) = 'resolu'
                THEN COALESCE(m.resolved_at, r.resolved_at) < now() - make_interval(months => :months)
            ELSE false
          END
    """
)


def purge_contacts(*, session: Session, settings: Settings) -> int:
    """Delete the contact details whose retention period is over; returns how many."""
    result = session.execute(_PURGE, {"months": settings.contact_retention_months})
    session.flush()
    return result.rowcount or 0
