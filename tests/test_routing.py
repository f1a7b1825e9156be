"""Routing: the most specific matching rule wins — zone and quartier, zone, quartier, category."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gusp import partners, routing
from gusp.config import Settings
from gusp.geo import zones
from gusp.models import ManagementZone

from . import builders as b
from . import builders_routing as r
from .geo import builders_geo

SPECIFICITY = ("category", "quartier", "zone", "zone+quartier")  # least to most specific


def report_in_zone(session: Session, settings: Settings, category: str = "proprete"):
    """A report inside Encagnane and a 100 m zone around it."""
    lat, lon = b.point_in(session, b.ENCAGNANE)
    zone = r.make_zone(session, lat=lat, lon=lon)
    return b.make_report(session, settings, quartier=b.ENCAGNANE, category=category), zone


def add_rule(session: Session, kind: str, zone, category: str = "proprete"):
    partner = r.make_partner(session, f"Partenaire {kind}")
    r.make_rule(
        session, category, partner,
        quartier=b.ENCAGNANE if "quartier" in kind else None,
        zone=zone if "zone" in kind else None,
    )
    return partner


def test_no_rule_no_partner(session: Session, settings: Settings):
    report, _ = report_in_zone(session, settings)
    assert routing.partner_for(session=session, report=report) is None


@pytest.mark.parametrize(
    "present",
    [combo for n in range(1, 5) for combo in itertools.combinations(SPECIFICITY, n)],
    ids=lambda combo: ",".join(combo),
)
def test_the_most_specific_rule_wins(session: Session, settings: Settings, present: tuple[str, ...]):
    report, zone = report_in_zone(session, settings)
    made = {kind: add_rule(session, kind, zone) for kind in present}
    winner = max(present, key=SPECIFICITY.index)
    assert routing.partner_for(session=session, report=report) == made[winner]


def test_rules_of_another_category_quartier_or_zone_do_not_apply(session: Session, settings: Settings):
    report, zone = report_in_zone(session, settings)
    lat, lon = b.point_in(session, b.JAS_DE_BOUFFAN)
    elsewhere = r.make_zone(session, lat=lat, lon=lon)
    general = add_rule(session, "category", zone)
    r.make_rule(session, "encombrants", r.make_partner(session, "Encombrants"), zone=zone)
    r.make_rule(session, "proprete", r.make_partner(session, "Jas"), quartier=b.JAS_DE_BOUFFAN)
    r.make_rule(session, "proprete", r.make_partner(session, "Ailleurs"), zone=elsewhere)
    r.make_rule(session, "proprete", r.make_partner(session, "Jas, ailleurs"), quartier=b.JAS_DE_BOUFFAN,
                zone=elsewhere)
    assert routing.partner_for(session=session, report=report) == general


def test_a_zone_rule_applies_outside_the_quartiers_too(session: Session, settings: Settings):
    report = b.make_report(session, settings, lat=43.5263, lon=5.4474)  # cours Mirabeau, hors QPV
    assert report.quartier_id is None
    zone = r.make_zone(session, lat=43.5263, lon=5.4474)
    add_rule(session, "quartier", zone)
    general = add_rule(session, "category", zone)
    assert routing.partner_for(session=session, report=report) == general
    zoned = add_rule(session, "zone", zone)
    assert routing.partner_for(session=session, report=report) == zoned


def zone_vertex(session: Session, zone: ManagementZone) -> tuple[float, float]:
    return tuple(session.execute(
        text("SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) p"
             " FROM management_zones WHERE id = :id) s"), {"id": zone.id}
    ).one())


def test_a_point_on_the_zone_boundary_is_in_the_zone(session: Session, settings: Settings):
    lat, lon = b.point_in(session, b.ENCAGNANE)
    report = b.make_report(session, settings, quartier=b.ENCAGNANE, lat=lat, lon=lon)
    zone = r.make_zone(session, lat=lat, lon=lon)
    corner = zone_vertex(session, zone)
    on_edge = b.make_report(session, settings, quartier=b.ENCAGNANE, lat=corner[0], lon=corner[1])
    zoned = add_rule(session, "zone", zone)
    assert routing.partner_for(session=session, report=report) == zoned
    assert routing.partner_for(session=session, report=on_edge) == zoned


def test_an_inactive_partner_is_skipped_for_the_next_match(session: Session, settings: Settings):
    report, zone = report_in_zone(session, settings)
    general = add_rule(session, "category", zone)
    local = add_rule(session, "quartier", zone)
    zoned = add_rule(session, "zone", zone)
    both = add_rule(session, "zone+quartier", zone)
    expected = [(both, zoned), (zoned, local), (local, general), (general, None)]
    for asleep, then in expected:
        partners.update_partner(session=session, partner_id=asleep.id, active=False)
        assert routing.partner_for(session=session, report=report) == then


def test_overlapping_zones_the_smallest_wins(session: Session, settings: Settings):
    lat, lon = b.point_in(session, b.ENCAGNANE)
    report = b.make_report(session, settings, quartier=b.ENCAGNANE)
    sector = r.make_zone(session, lat=lat, lon=lon, side_m=400, code="SECTEUR")
    residence = r.make_zone(session, lat=lat, lon=lon, side_m=80, code="RESIDENCE")
    metropole = r.make_partner(session, "Métropole", kind="metropole")
    bailleur = r.make_partner(session, "Bailleur", kind="bailleur")
    r.make_rule(session, "proprete", bailleur, zone=residence)  # created first: order plays no part
    r.make_rule(session, "proprete", metropole, zone=sector)
    assert routing.partner_for(session=session, report=report) == bailleur
    # The rank comes first: the big zone's zone+quartier rule beats the small zone's zone-only rule.
    ville = r.make_partner(session, "Ville")
    r.make_rule(session, "proprete", ville, zone=sector, quartier=b.ENCAGNANE)
    assert routing.partner_for(session=session, report=report) == ville


def test_routing_follows_a_changed_category(session: Session, settings: Settings):
    report, zone = report_in_zone(session, settings)
    add_rule(session, "category", zone)
    bulky = r.make_partner(session, "Métropole - Encombrants", kind="metropole")
    r.make_rule(session, "encombrants", bulky)
    report.category_code = "encombrants"  # not yet flushed: partner_for flushes first
    assert routing.partner_for(session=session, report=report) == bulky


def test_a_hall_report_on_a_bailleur_s_land_goes_to_the_bailleur(
    session: Session, settings: Settings, tmp_path: Path
):
    ville = r.make_partner(session, "Ville d'Aix-en-Provence")
    bailleur = r.make_partner(session, "Pays d'Aix Habitat", kind="bailleur")
    lat, lon = b.point_in(session, b.ENCAGNANE)
    residence = builders_geo.feature("PAH-ENCAGNANE", "Résidence Les Facultés", builders_geo.square(lon, lat, 120),
                                     partenaire="Pays d'Aix Habitat")
    zones.load(session=session, path=builders_geo.write(tmp_path, builders_geo.collection([residence])))
    land = zone_by_code(session, "PAH-ENCAGNANE")
    r.make_rule(session, "parties_communes", ville)
    r.make_rule(session, "parties_communes", bailleur, zone=land)

    hall = b.make_report(session, settings, quartier=b.ENCAGNANE, category="parties_communes")
    far_lat, far_lon = r.moved(lat, lon, 90, 400)
    street = b.make_report(session, settings, lat=far_lat, lon=far_lon, category="parties_communes")

    assert routing.partner_for(session=session, report=hall) == bailleur
    assert routing.partner_for(session=session, report=street) == ville


def zone_by_code(session: Session, code: str) -> ManagementZone:
    return session.scalars(select(ManagementZone).where(ManagementZone.code == code)).one()
