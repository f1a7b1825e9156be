"""Builders for routing and duplicates tests: partners, zones around a point, rules, moved points."""

from __future__ import annotations

import itertools

import pyproj
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import select
from sqlalchemy.orm import Session

from gusp import partners
from gusp.models import ManagementZone, Partner, Quartier, RoutingRule

from .geo import builders_geo

GEOD = pyproj.Geod(ellps="WGS84")
_numbers = itertools.count(1)


def make_partner(session: Session, name: str | None = None, *, kind: str = "ville", active: bool = True,
                 **fields: object) -> Partner:
    partner = partners.create_partner(
        session=session, name=name or f"Partenaire {next(_numbers)}", kind=kind, **fields
    )
    if not active:
        partners.update_partner(session=session, partner_id=partner.id, active=False)
    return partner


def make_zone(session: Session, *, lat: float, lon: float, side_m: float = 100.0, code: str | None = None,
              partner: Partner | None = None) -> ManagementZone:
    """A square zone of about `side_m` metres a side centred on the point."""
    square = builders_geo.local_box(lon, lat, -side_m / 2, -side_m / 2, side_m / 2, side_m / 2)
    zone = ManagementZone(
        code=code or f"ZONE-{next(_numbers)}",
        name=f"Zone {code or 'de test'}",
        partner_id=partner.id if partner else None,
        geom=from_shape(MultiPolygon([square]), srid=4326),
    )
    session.add(zone)
    session.flush()
    return zone


def make_rule(session: Session, category: str, partner: Partner, *, quartier: str | None = None,
              zone: ManagementZone | None = None) -> RoutingRule:
    return partners.create_rule(
        session=session,
        category_code=category,
        partner_id=partner.id,
        quartier_id=quartier_id(session, quartier) if quartier else None,
        zone_id=zone.id if zone else None,
    )


def quartier_id(session: Session, code: str) -> int:
    return session.scalars(select(Quartier.id).where(Quartier.code == code)).one()


def moved(lat: float, lon: float, azimuth: float, metres: float) -> tuple[float, float]:
    """(lat, lon) of the point `metres` geodesic metres away towards `azimuth` (degrees from north)."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return lat2, lon2


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance between two (lat, lon) points on the WGS84 ellipsoid, without PostGIS."""
    _, _, metres = GEOD.inv(a[1], a[0], b[1], b[0])
    return metres
