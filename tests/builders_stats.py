"""Builders for statistics tests: reports through the real intake, then milestones set by hand so that
every median, percentile and bucket is known in advance."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gusp.config import Settings
from gusp.models import Partner, Report
from tests import builders

PARIS = ZoneInfo("Europe/Paris")
# Populations of data/qpv_perimetres.geojson.
POPULATION = {builders.JAS_DE_BOUFFAN: 6900, builders.ENCAGNANE: 4642, "QN01314M": 1312, "QN01316M": 1173,
              "VEILLE-13001-PINETTE": 1903}


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A local (Paris) time."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def partner(session: Session, name: str, kind: str = "bailleur") -> Partner:
    found = Partner(name=name, kind=kind, emails=[f"{kind}@example.org"], active=True)
    session.add(found)
    session.flush()
    return found


def report(
    session: Session,
    settings: Settings,
    *,
    created: datetime,
    quartier: str = builders.ENCAGNANE,
    category: str = "proprete",
    status: str = "nouveau",
    partner: Partner | None = None,
    assigned: datetime | None = None,
    resolved: datetime | None = None,
    closed: datetime | None = None,
    due: datetime | None = None,
    master: Report | None = None,
    **fields: object,
) -> Report:
    """A real report (attributed by its point), whose workflow columns are then set as given."""
    made = builders.make_report(session, settings, quartier=quartier, category=category, **fields)
    made.created_at = created
    made.status = status
    made.partner_id = partner.id if partner else None
    made.acknowledged_at = assigned
    made.assigned_at = assigned
    made.resolved_at = resolved
    made.closed_at = closed
    made.due_at = due
    if status == "rejete":
        made.rejection_reason = "doublon" if master else "non_fonde"
    made.master_report_id = master.id if master else None
    session.flush()
    return made
