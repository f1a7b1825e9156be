"""The map tiles (`/api/v1/tiles/{z}/{x}/{y}.mvt`), decoded with mapbox-vector-tile: the triage list's
reports per filter and per role, clusters that add up exactly, a cache that a change invalidates."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gusp import db, map_tiles, partners, report_search, states, triage
from gusp.api.main import create_app
from tests import builders

LIST = "/api/v1/gestion/reports"


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def decode(response) -> dict[str, list[dict]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == map_tiles.MEDIA_TYPE
    layers = mapbox_vector_tile.decode(response.content)
    return {name: [f["properties"] for f in layer["features"]] for name, layer in layers.items()}


def tile_refs(client, headers, points, params=None, z=map_tiles.POINTS_ZOOM) -> set[str]:
    """The references in the tiles of zoom z that hold the given (lat, lon) points."""
    found: set[str] = set()
    for x, y in {tile_of(lat, lon, z) for lat, lon in points}:
        layers = decode(client.get(f"/api/v1/tiles/{z}/{x}/{y}.mvt", params=params, headers=headers))
        found |= {f["reference"] for f in layers.get("reports", [])}
    return found


def list_refs(client, headers, params=None) -> set[str]:
    response = client.get(LIST, params={**(params or {}), "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return {line["reference"] for line in response.json()["data"]}


def location(session, report) -> tuple[float, float]:
    return session.execute(text("SELECT ST_Y(location), ST_X(location) FROM reports WHERE id = :i"),
                           {"i": report.id}).one()


@pytest.mark.clock
def test_tiles_hold_the_reports_of_the_list_for_each_filter(client, session, settings):
    _, coordinator = builders.staff(session, "coordinateur")
    ville = partners.create_partner(session=session, name="Ville", kind="ville", emails=["v@x.example"])
    sacs = builders.make_report(session, settings, description="Sacs poubelles éventrés devant le hall")
    lampe = builders.make_report(session, settings, category="eclairage", quartier=builders.JAS_DE_BOUFFAN,
                                 description="Lampadaire éteint")
    late = builders.make_report(session, settings, category="voirie", description="Trou dans la chaussée")
    triage.assign(session=session, settings=settings, report=late, partner=ville, actor=None)
    late.due_at = late.assigned_at - timedelta(days=1)
    triage.set_priority(session=session, settings=settings, report=lampe, priority="urgente", actor=None)
    session.flush()
    points = [location(session, r) for r in (sacs, lampe, late)]

    for params in ({}, {"category": "eclairage"}, {"quartier": builders.JAS_DE_BOUFFAN},
                   {"status": "pris_en_compte"}, {"status": ["nouveau", "pris_en_compte"]}, {"partner": ville.id},
                   {"priority": "urgente"}, {"overdue": "true"}, {"overdue": "false"}, {"q": "poubelle"},
                   {"hors_perimetre": "true"}):
        expected = list_refs(client, coordinator, params)
        assert tile_refs(client, coordinator, points, params) == expected, params
        assert expected or params == {"hors_perimetre": "true"}
    assert tile_refs(client, coordinator, points) == {sacs.reference, lampe.reference, late.reference}
    x, y = tile_of(*points[2], map_tiles.POINTS_ZOOM)
    late_feature = decode(client.get(f"/api/v1/tiles/{map_tiles.POINTS_ZOOM}/{x}/{y}.mvt",
                                     params={"overdue": "true"}, headers=coordinator))["reports"][0]
    assert late_feature == {"reference": late.reference, "status": "pris_en_compte", "category": "voirie",
                            "overdue": True}


def test_a_partner_s_tiles_hold_only_its_reports_and_a_group_only_its_quartiers(client, session, settings):
    ville = partners.create_partner(session=session, name="Ville", kind="ville", emails=["v@x.example"])
    autre = partners.create_partner(session=session, name="Autre", kind="ville", emails=["a@x.example"])
    mine = builders.make_report(session, settings)
    theirs = builders.make_report(session, settings)
    unassigned = builders.make_report(session, settings, quartier=builders.JAS_DE_BOUFFAN)
    triage.assign(session=session, settings=settings, report=mine, partner=ville, actor=None)
    triage.assign(session=session, settings=settings, report=theirs, partner=autre, actor=None)
    jas = session.scalar(text("SELECT id FROM quartiers WHERE code = :c"), {"c": builders.JAS_DE_BOUFFAN})
    _, partner = builders.staff(session, "partenaire", partner_id=ville.id)
    _, group = builders.staff(session, "groupe", quartier_ids=[jas])
    _, coordinator = builders.staff(session, "coordinateur")
    session.flush()
    points = [location(session, r) for r in (mine, theirs, unassigned)]

    assert tile_refs(client, partner, points) == {mine.reference} == list_refs(client, partner)
    assert tile_refs(client, group, points) == {unassigned.reference} == list_refs(client, group)
    table = client.get("/api/v1/stats/map", headers=partner).json()
    assert table["total"] == 1 and table["data"][0]["by_status"] == {"pris_en_compte": 1}
    assert tile_refs(client, coordinator, points) == {mine.reference, theirs.reference, unassigned.reference}
    # Same tile, different scopes: different ETags, never one's cached tile for the other.
    x, y = tile_of(*points[0], 12)
    tags = {client.get(f"/api/v1/tiles/12/{x}/{y}.mvt", headers=h).headers["etag"] for h in (partner, coordinator)}
    assert len(tags) == 2


def test_anonymous_callers_get_a_json_401_and_outside_tiles_a_json_404(client, session):
    response = client.get("/api/v1/tiles/12/2100/1490.mvt")
    assert response.status_code == 401
    assert response.json()["code"] and response.json()["message"]
    _, coordinator = builders.staff(session, "coordinateur")
    for path in ("/api/v1/tiles/3/8/0.mvt", "/api/v1/tiles/23/0/0.mvt", "/api/v1/tiles/-1/0/0.mvt"):
        response = client.get(path, headers=coordinator)
        assert response.status_code == 404, path
        assert response.json()["code"] == "tuile_introuvable"


def _spread(session, report, count: int) -> None:
    """`count` copies of a report scattered around it (~±300 m), with statuses in turn, in one statement."""
    session.execute(text("""
        INSERT INTO reports (reference, status, source, category_code, description, location, attribution,
                             quartier_id, priority, due_at, similar_count, updated_at, created_at)
        SELECT r.reference || '-' || i, (ARRAY['nouveau','pris_en_compte','en_cours','resolu','clos','rejete'])[1 + i % 6],
               r.source, r.category_code, r.description,
               ST_SetSRID(ST_MakePoint(ST_X(r.location) + ((i * 37) % 100 - 50) * 0.00006,
                                       ST_Y(r.location) + ((i * 61) % 100 - 50) * 0.00004), 4326),
               r.attribution, r.quartier_id, r.priority,
               CASE WHEN i % 5 = 0 THEN now() - interval '1 day' END, 0, now(), r.created_at
        FROM reports r, generate_series(1, :n) AS i WHERE r.id = :id
    """), {"n": count, "id": report.id})


@pytest.mark.parametrize("z", [11, 13, 15, 16])
def test_clusters_add_up_to_the_count_exactly(client, session, settings, z):
    _, coordinator = builders.staff(session, "coordinateur")
    seed = builders.make_report(session, settings)
    other = builders.make_report(session, settings, quartier=builders.JAS_DE_BOUFFAN)
    _spread(session, seed, 300)
    _spread(session, other, 120)
    # One report exactly on a corner of tiles of this zoom: it must be counted once.
    corner_x, corner_y = tile_of(*location(session, seed), z)
    session.execute(text("UPDATE reports SET location = ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 3857), 4326) "
                         "WHERE reference = :r"),
                    {"x": -map_tiles.WORLD + corner_x * 2 * map_tiles.WORLD / 2**z,
                     "y": map_tiles.WORLD - corner_y * 2 * map_tiles.WORLD / 2**z, "r": seed.reference + "-7"})
    expected = Counter(status for (status,) in session.execute(text("SELECT status FROM reports")))
    overdue = session.scalar(text("SELECT count(*) FROM reports WHERE due_at < now() AND status IN "
                                  "('nouveau', 'pris_en_compte', 'en_cours')"))
    x0, y0 = tile_of(43.55, 5.40, z)
    x1, y1 = tile_of(43.50, 5.49, z)
    counted: Counter = Counter()
    counted_overdue = 0
    references: list[str] = []
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            layers = decode(client.get(f"/api/v1/tiles/{z}/{x}/{y}.mvt", headers=coordinator))
            for cluster in layers.get("clusters", []):
                assert cluster["count"] == sum(cluster[s.value] for s in states.ReportStatus) > 1
                counted.update({s.value: cluster[s.value] for s in states.ReportStatus})
                counted_overdue += cluster["overdue"]
            for point in layers.get("reports", []):
                counted[point["status"]] += 1
                counted_overdue += point["overdue"]
                references.append(point["reference"])
    assert +counted == expected and sum(expected.values()) == 422
    assert counted_overdue == overdue > 0
    assert len(references) == len(set(references))
    # The table beside the map counts the same reports, exactly.
    table = client.get("/api/v1/stats/map", headers=coordinator).json()
    assert table["total"] == 422 and table["by_status"] == dict(expected) and table["overdue"] == overdue
    assert {row["quartier_code"]: row["total"] for row in table["data"]} == {builders.ENCAGNANE: 301,
                                                                             builders.JAS_DE_BOUFFAN: 121}


def test_a_committed_change_invalidates_the_cached_tile(committed_settings):
    settings = committed_settings
    with db.command_session(settings.database_url) as session:
        report = builders.make_report(session, settings)
        _, coordinator = builders.staff(session, "coordinateur")
        reference = report.reference
        lat, lon = location(session, report)
    app = create_app(settings)
    x, y = tile_of(lat, lon, 14)
    url = f"/api/v1/tiles/14/{x}/{y}.mvt"
    try:
        with TestClient(app) as client:
            first = client.get(url, headers=coordinator)
            assert first.headers["cache-control"] == "private, no-cache"
            assert decode(first)["reports"][0]["status"] == "nouveau"
            tag = first.headers["etag"]
            assert client.get(url, headers={**coordinator, "If-None-Match": tag}).status_code == 304
            assert client.get(url, headers=coordinator).content == first.content  # from the cache

            changed = client.post(f"{LIST}/{reference}/status", json={"status": "pris_en_compte"}, headers=coordinator)
            assert changed.status_code == 200, changed.text
            again = client.get(url, headers={**coordinator, "If-None-Match": tag})
            assert again.status_code == 200 and again.headers["etag"] != tag
            assert decode(again)["reports"][0]["status"] == "pris_en_compte"
    finally:
        app.state.engine.dispose()


def test_tiles_follow_the_list_for_a_zone_and_a_search_with_sql_characters(client, session, settings):
    """The tile's SQL is text around the list's compiled conditions: `%`, quotes and a zone pass as values."""
    _, coordinator = builders.staff(session, "coordinateur")
    odd = builders.make_report(session, settings, description="Tag « 100% l'abribus » ; DROP TABLE reports")
    plain = builders.make_report(session, settings, quartier=builders.JAS_DE_BOUFFAN, description="Banc cassé")
    session.flush()
    points = [location(session, r) for r in (odd, plain)]
    (lat, lon), (lat2, lon2) = points
    zone = f"{lon - 0.0001},{lat - 0.0001},{lon + 0.0001},{lat + 0.0001}"
    for params in ({"q": "100% l'abribus"}, {"bbox": zone}, {"q": "banc", "bbox": f"{lon2 - 1e-4},{lat2 - 1e-4},"
                                                                           f"{lon2 + 1e-4},{lat2 + 1e-4}"}):
        expected = list_refs(client, coordinator, params)
        assert len(expected) == 1, params
        for z in (12, map_tiles.POINTS_ZOOM):
            assert tile_refs(client, coordinator, points, params, z=z) == expected, (params, z)


def test_the_tile_s_transaction_runs_without_jit_at_the_data_version(session, settings):
    builders.make_report(session, settings)
    session.flush()
    now, version = map_tiles.clock_and_version(session)
    assert session.scalar(text("SHOW jit")) == "off"  # costed high, a tile would be JIT-compiled for seconds
    assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"  # psycopg prepares the same text
    assert now == session.scalar(text("SELECT now()"))
    last, called = session.execute(text("SELECT last_value, is_called FROM report_map_version")).one()
    assert version == (last if called else 0)


def test_a_report_left_nouveau_past_the_triage_deadline_is_late_on_the_map_as_in_the_list(client, session, settings):
    assert settings.triage_delay_days > 0
    _, coordinator = builders.staff(session, "coordinateur")
    waiting = builders.make_report(session, settings, description="Personne ne l'a encore vu")
    fresh = builders.make_report(session, settings, description="Arrivé à l'instant")
    waiting.created_at -= timedelta(days=settings.triage_delay_days, hours=1)
    session.flush()
    points = [location(session, r) for r in (waiting, fresh)]

    assert list_refs(client, coordinator, {"overdue": "true"}) == {waiting.reference}
    assert tile_refs(client, coordinator, points, {"overdue": "true"}) == {waiting.reference}
    assert tile_refs(client, coordinator, points, {"overdue": "false"}) == {fresh.reference}
    x, y = tile_of(*points[0], map_tiles.POINTS_ZOOM)
    flags = {f["reference"]: f["overdue"] for f in decode(client.get(
        f"/api/v1/tiles/{map_tiles.POINTS_ZOOM}/{x}/{y}.mvt", headers=coordinator))["reports"]}
    assert flags[waiting.reference] is True and flags.get(fresh.reference, False) is False
    table = client.get("/api/v1/stats/map", headers=coordinator).json()
    assert (table["total"], table["overdue"]) == (2, 1)
    x, y = tile_of(*points[0], 12)
    clusters = decode(client.get(f"/api/v1/tiles/12/{x}/{y}.mvt", headers=coordinator)).get("clusters", [])
    assert sum(c["overdue"] for c in clusters) == 1


def test_a_block_s_tiles_are_the_tiles_rendered_one_by_one(session, settings):
    coordinator, _ = builders.staff(session, "coordinateur")
    reports = [builders.make_report(session, settings, description=f"Signalement {i}") for i in range(6)]
    reports += [builders.make_report(session, settings, quartier=builders.JAS_DE_BOUFFAN, description="Banc")
                for _ in range(3)]
    session.flush()
    lat, lon = location(session, reports[0])
    now, _ = map_tiles.clock_and_version(session)
    asked = {"session": session, "user": coordinator, "now": now, "tz": ZoneInfo(settings.timezone),
             "filters": report_search.Filters()}
    for z in (4, 11, 13, 15):
        block = map_tiles.block_of(map_tiles.Tile(z, *tile_of(lat, lon, z)))
        tiles = map_tiles.render_block(block=block, **asked)
        assert len(tiles) == 64 and sum(1 for body in tiles.values() if body) >= 1
        for tile, body in tiles.items():
            assert features(body) == features(map_tiles.render(tile=tile, **asked)), tile
    assert map_tiles.block_of(map_tiles.Tile(map_tiles.POINTS_ZOOM, 0, 0)) is None  # points: tile by tile
    assert map_tiles.block_of(map_tiles.Tile(2, 0, 0)) is None


def features(body: bytes) -> dict[str, list]:
    layers = mapbox_vector_tile.decode(body) if body else {}
    return {name: sorted(repr(sorted(f["properties"].items())) + repr(f["geometry"]) for f in layer["features"])
            for name, layer in layers.items()}


@pytest.mark.parametrize("z, x, y", [(0, 0, 0), (1, 1, 0), (13, 4219, 2993), (22, 2123456, 1500000)])
def test_a_tile_s_envelope_in_degrees_is_postgis_s(session, z, x, y):
    expected = session.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                    "(SELECT ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326) e) q"),
                               {"z": z, "x": x, "y": y}).one()
    assert map_tiles.Tile(z, x, y).lon_lat_bounds() == pytest.approx(tuple(expected), abs=1e-9)
