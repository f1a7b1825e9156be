"""Who is in charge of a report: the most specific routing rule that matches it, in one query.

A rule matches a report of its category when its quartier (if it names one) is the report's
attributed quartier and its zone (if it names one) contains the report's point, boundary
included, as for quartiers. The most specific match wins:

    zone and quartier  >  zone only  >  quartier only  >  category only

so a rule for a bailleur's land beats the quartier's rule, which beats the city-wide one: a
report about a hall on a bailleur's land goes to that bailleur. Zones may overlap (a bailleur's
residence inside a Métropole maintenance sector); when rules of the same rank name several zones
containing the point, the smallest zone — the most local manager — wins, then the lowest zone id,
so the same report always goes to the same partner. Rules to an inactive partner are skipped, and
the next match applies. The key (category, quartier, zone) is unique, so within a rank nothing
else can tie.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp.models import Partner, Report

# The report's stored row is read (category, snapshotted quartier, point): the caller's pending
# changes are flushed first. A zone's area is geodesic (m²), not in square degrees.
_PARTNER_FOR = text(
    """
    SELECT p.*
    FROM reports rep
    JOIN routing_rules r ON r.category_code = rep.category_code
    JOIN partners p ON p.id = r.partner_id AND p.active
    LEFT JOIN management_zones z ON z.id = r.zone_id
    WHERE rep.id = :report_id
      AND (r.quartier_id IS NULL OR r.quartier_id = rep.quartier_id)
      AND (r.zone_id IS NULL OR ST_Intersects(z.geom, rep.location))
    ORDER BY r.zone_id IS NOT NULL DESC,
             r.quartier_id IS NOT NULL DESC,
             ST_Area(z.geom::geography),
             r.zone_id
    LIMIT 1
    """
)


def partner_for(*, session: Session, report: Report) -> Partner | None:
    """The partner of the most specific matching rule with an active partner; None if no rule applies."""
    session.flush()
    return session.scalars(
        select(Partner).from_statement(_PARTNER_FOR), {"report_id": report.id}
    ).first()
