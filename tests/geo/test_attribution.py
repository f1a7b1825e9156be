"""Attribution of a point to a quartier, and the service area, on the real Aix perimeters.

Expected distances come from pyproj + Shapely (azimuthal equidistant projection centred on the
point), not from PostGIS, and are checked to 0.5 %.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import Point, mapping
from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import errors, states
from gusp.config import Settings
from gusp.geo import attribution, perimeters

from . import builders_geo as b

COURS_MIRABEAU = (43.5263, 5.4474)
MARSEILLE = (43.2965, 5.3698)
PARIS = (48.8566, 2.3522)


def ids(session: Session) -> dict[str, int]:
    return dict(session.execute(text("SELECT code, id FROM quartiers")).all())


def expected_nearest(settings: Settings, lat: float, lon: float) -> tuple[str, float]:
    """The nearest official perimeter and its geodesic distance, computed without PostGIS."""
    official = b.real_perimeters(settings.perimeters_file)
    distances = {code: b.geodesic_distance_m(lon, lat, geom) for code, geom in official.items()}
    code = min(distances, key=distances.get)
    return code, distances[code]


def assert_hors_perimetre(session: Session, settings: Settings, lat: float, lon: float) -> attribution.Attribution:
    found = attribution.attribute(session=session, lat=lat, lon=lon)
    code, distance = expected_nearest(settings, lat, lon)
    assert found.kind is states.Attribution.HORS_PERIMETRE
    assert found.quartier_id is None
    assert found.nearest_quartier_id == ids(session)[code]
    assert found.nearest_distance_m == pytest.approx(distance, rel=0.005)
    return found


@pytest.mark.parametrize("code", list(b.CODES.values()))
def test_a_point_inside_a_perimeter_belongs_to_it(code: str, session: Session, settings: Settings):
    inside = b.real_perimeters(settings.perimeters_file)[code].representative_point()
    found = attribution.attribute(session=session, lat=inside.y, lon=inside.x)
    assert found == attribution.Attribution(states.Attribution.PERIMETRE, ids(session)[code], None, None)


@pytest.mark.parametrize("code", list(b.CODES.values()))
def test_a_vertex_of_the_boundary_belongs_to_the_perimeter(code: str, session: Session, settings: Settings):
    lon, lat = b.real_perimeters(settings.perimeters_file)[code].geoms[0].exterior.coords[0]
    found = attribution.attribute(session=session, lat=lat, lon=lon)
    assert (found.kind, found.quartier_id) == (states.Attribution.PERIMETRE, ids(session)[code])


def test_the_cours_mirabeau_is_outside_every_perimeter(session: Session, settings: Settings):
    found = assert_hors_perimetre(session, settings, *COURS_MIRABEAU)
    assert 500 < found.nearest_distance_m < 2000


@pytest.mark.parametrize(("code", "azimuth", "metres"), [("QN01314M", 0, 200), ("QN01313M", 270, 2000)])
def test_a_point_outside_gets_the_nearest_quartier_and_its_distance(
    code: str, azimuth: float, metres: float, session: Session, settings: Settings
):
    perimeter = b.real_perimeters(settings.perimeters_file)[code]
    # From the northernmost (azimuth 0) or westernmost (270) vertex, straight outwards.
    coords = list(perimeter.geoms[0].exterior.coords)
    start = max(coords, key=lambda c: c[1]) if azimuth == 0 else min(coords, key=lambda c: c[0])
    lon, lat = b.moved(*start, azimuth, metres)
    found = assert_hors_perimetre(session, settings, lat, lon)
    assert found.nearest_quartier_id == ids(session)[code]
    assert 0.8 * metres < found.nearest_distance_m <= metres * 1.001


def test_the_nearest_is_geodesic_not_in_degrees(session: Session, tmp_path: Path):
    """East at 1,000 m is nearer than north at 1,050 m, though fewer degrees lie northwards."""
    lon, lat = 2.0, 45.0
    east = b.local_box(lon, lat, 1000, -50, 1100, 50)
    north = b.local_box(lon, lat, -50, 1050, 50, 1150)
    features = [
        b.feature("EST", "Est", mapping(east), insee="63113"),
        b.feature("NORD", "Nord", mapping(north), insee="63113"),
    ]
    perimeters.load(session=session, path=b.write(tmp_path, b.collection(features)))
    assert north.distance(Point(lon, lat)) < east.distance(Point(lon, lat))  # in degrees, north looks nearer

    found = attribution.attribute(session=session, lat=lat, lon=lon)

    assert found.nearest_quartier_id == ids(session)["EST"]
    assert found.nearest_distance_m == pytest.approx(b.geodesic_distance_m(lon, lat, east), rel=0.005)
    assert found.nearest_distance_m == pytest.approx(1000, rel=0.005)


def test_overlapping_perimeters_give_the_smallest(session: Session, settings: Settings):
    inside = b.real_perimeters(settings.perimeters_file)["QN01313M"].representative_point()
    session.execute(
        text("UPDATE quartiers SET geom = ST_Multi(ST_GeomFromGeoJSON(:g)) WHERE code = :c"),
        {"g": json.dumps(b.square(inside.x, inside.y, side_m=100)), "c": b.PINETTE},
    )
    found = attribution.attribute(session=session, lat=inside.y, lon=inside.x)
    assert found.quartier_id == ids(session)[b.PINETTE]


def test_without_any_perimeter_there_is_no_nearest(session: Session):
    session.execute(text("UPDATE quartiers SET geom = NULL"))
    found = attribution.attribute(session=session, lat=COURS_MIRABEAU[0], lon=COURS_MIRABEAU[1])
    assert found == attribution.Attribution(states.Attribution.HORS_PERIMETRE, None, None, None)


def test_out_of_range_coordinates_are_refused(session: Session):
    with pytest.raises(errors.Unprocessable) as refused:
        attribution.attribute(session=session, lat=91.0, lon=5.4)
    assert (refused.value.code, refused.value.field) == ("coordonnees_invalides", "lat")


@pytest.mark.parametrize(("place", "inside"), [(COURS_MIRABEAU, True), (MARSEILLE, False), (PARIS, False)])
def test_the_service_area_takes_aix_not_marseille_nor_paris(
    place: tuple[float, float], inside: bool, session: Session, settings: Settings
):
    lat, lon = place
    margin = settings.service_area_margin_m
    assert attribution.in_service_area(session=session, lat=lat, lon=lon, margin_m=margin) is inside


@pytest.mark.parametrize(("metres", "inside"), [(4900, True), (5200, False)])
def test_the_margin_is_geodesic_metres(metres: float, inside: bool, session: Session, settings: Settings):
    easternmost = max(
        (c for g in b.real_perimeters(settings.perimeters_file).values() for c in g.geoms[0].exterior.coords),
        key=lambda c: c[0],
    )
    lon, lat = b.moved(*easternmost, 90, metres)
    assert attribution.in_service_area(session=session, lat=lat, lon=lon, margin_m=5000) is inside


def test_without_service_areas_every_point_is_accepted(session: Session):
    session.execute(text("DELETE FROM service_areas"))
    assert attribution.in_service_area(session=session, lat=PARIS[0], lon=PARIS[1], margin_m=5000)
