"""Loading perimeter files: the real Aix file, updates, refusals that change nothing, CRS, ANCT format."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
import shapely
from shapely import affinity
from shapely.geometry import mapping, shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import errors
from gusp.config import Settings
from gusp.geo import loading, perimeters

from . import builders_geo as b

ETALAB = "Licence Ouverte / Open Licence v2.0 (Etalab)"


def snapshot(session: Session) -> tuple[list, list]:
    """Everything a load may touch, to prove a refused one touched nothing."""
    quartiers = session.execute(
        text(
            "SELECT code, nom, commune, insee, type, population, source, licence, ST_AsEWKB(geom),"
            " updated_at, created_at FROM quartiers ORDER BY code"
        )
    ).all()
    areas = session.execute(text("SELECT insee, commune, ST_AsEWKB(geom) FROM service_areas ORDER BY insee")).all()
    return quartiers, areas


def stored_geometry(session: Session, code: str) -> shapely.Geometry | None:
    wkb = session.execute(text("SELECT ST_AsBinary(geom) FROM quartiers WHERE code = :c"), {"c": code}).scalar()
    return None if wkb is None else shapely.from_wkb(bytes(wkb))


def updated_at(session: Session) -> dict:
    return dict(session.execute(text("SELECT code, updated_at FROM quartiers")).all())


def draw_pinette(session: Session, geometry: dict) -> None:
    session.execute(
        text("UPDATE quartiers SET geom = ST_Multi(ST_GeomFromGeoJSON(:g)) WHERE code = :c"),
        {"g": json.dumps(geometry), "c": b.PINETTE},
    )


def test_the_real_file_is_loaded_with_its_properties(session: Session, settings: Settings):
    rows = {q.code: q for q in session.execute(text("SELECT *, geom IS NOT NULL AS has_geom FROM quartiers")).all()}
    assert sorted(rows) == sorted([*b.CODES.values(), b.PINETTE])
    jas = rows["QN01313M"]
    assert (jas.nom, jas.commune, jas.insee, jas.type, jas.population) == (
        "Jas de Bouffan", "Aix-en-Provence", "13001", "QPV", 6900,
    )
    assert jas.source.startswith("ANCT, Quartiers prioritaires de la politique de la ville, géographie 2024")
    assert jas.licence == ETALAB
    assert all(rows[code].has_geom for code in b.CODES.values())
    pinette = rows[b.PINETTE]
    assert (pinette.type, pinette.population, pinette.has_geom, pinette.licence) == (
        "quartier_de_veille", 1903, False, None,
    )
    assert pinette.source.startswith("Ville d'Aix-en-Provence")
    for code, geom in b.real_perimeters(settings.perimeters_file).items():
        assert stored_geometry(session, code).equals_exact(geom, tolerance=0)


def test_reloading_the_same_file_changes_nothing(session: Session, settings: Settings):
    before = snapshot(session)
    result = perimeters.load(session=session, path=settings.perimeters_file)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)
    assert result.without_geometry == [b.PINETTE]
    assert result.kept_geometry == [] and result.not_in_file == []
    assert snapshot(session) == before


def test_a_modified_file_updates_only_what_changed(session: Session, settings: Settings, tmp_path: Path):
    data = b.real_collection(settings.perimeters_file)
    by_code = {f["properties"]["code"]: f for f in data["features"]}
    by_code["QN01314M"]["properties"]["nom"] = "Beisson - Pont de l'Arc"
    by_code["QN01316M"]["properties"]["population"] = 1200
    encagnane = affinity.translate(shape(by_code["QN01315M"]["geometry"]), xoff=0.0001)
    by_code["QN01315M"]["geometry"] = mapping(encagnane)
    ring = by_code["QN01313M"]["geometry"]["coordinates"][0][0]
    ring[10] = [ring[10][0] + 1e-6, ring[10][1]]  # one vertex, 8 cm: the bounding box does not move
    data["features"].append(b.feature("QN01399Z", "Nouveau quartier", b.square(5.45, 43.51)))
    before = updated_at(session)

    result = perimeters.load(session=session, path=b.write(tmp_path, data))

    assert (result.created, result.updated, result.unchanged) == (1, 4, 1)
    after = updated_at(session)
    for code in ("QN01313M", "QN01314M", "QN01315M", "QN01316M"):
        assert after[code] > before[code]
    assert after[b.PINETTE] == before[b.PINETTE]
    assert perimeters.get_by_code(session=session, code="QN01314M").nom == "Beisson - Pont de l'Arc"
    assert stored_geometry(session, "QN01315M").equals_exact(encagnane, tolerance=0)


def test_a_null_geometry_never_erases_a_drawn_perimeter(session: Session, settings: Settings):
    drawn = b.square(5.4300, 43.5150, side_m=300)
    draw_pinette(session, drawn)
    before = updated_at(session)

    result = perimeters.load(session=session, path=settings.perimeters_file)

    assert result.kept_geometry == [b.PINETTE]
    assert result.without_geometry == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 5)
    assert stored_geometry(session, b.PINETTE).equals(shape(drawn))
    assert updated_at(session) == before


def test_a_null_geometry_keeps_an_official_perimeter_too(session: Session, settings: Settings, tmp_path: Path):
    data = b.real_collection(settings.perimeters_file)
    data["features"][0]["geometry"] = None  # Jas de Bouffan
    result = perimeters.load(session=session, path=b.write(tmp_path, data))
    assert result.kept_geometry == ["QN01313M"]
    assert result.updated == 0
    assert stored_geometry(session, "QN01313M") is not None


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[5.40, 43.50], [5.41, 43.51], [5.41, 43.50], [5.40, 43.51], [5.40, 43.50]]],
}
# A ring that goes there and back: no area at all, nothing for make_valid to keep.
FLAT = {
    "type": "Polygon",
    "coordinates": [[[5.40, 43.50], [5.41, 43.51], [5.40, 43.50], [5.41, 43.51], [5.40, 43.50]]],
}
SQUARE = b.square(5.46, 43.52)
POINT = {"type": "Point", "coordinates": [5.4, 43.5]}
OUT_OF_RANGE = {"type": "Polygon", "coordinates": [[[200, 43], [201, 43], [201, 44], [200, 43]]]}
REFUSED = {
    "no area left once repaired": (b.feature("QN01398Y", "Aller-retour", FLAT), "geometrie_invalide", "QN01398Y"),
    "point": (b.feature("QN01398Y", "Un point", POINT), "type_geometrie", "QN01398Y"),
    "linestring": (
        b.feature("QN01398Y", "Une ligne", {"type": "LineString", "coordinates": [[5.4, 43.5], [5.41, 43.51]]}),
        "type_geometrie", "QN01398Y",
    ),
    "malformed": (b.feature("QN01398Y", "Mal formé", {"type": "Polygon", "coordinates": [[[5.4, 43.5]]]}),
                  "coordonnees_mal_formees", "QN01398Y"),
    "missing code": (b.feature(None, "Sans code", SQUARE), "code_manquant", "Sans code"),
    "blank code": (b.feature("   ", "Code blanc", SQUARE), "code_manquant", "Code blanc"),
    "missing nom": (b.feature("QN01398Y", None, SQUARE), "nom_manquant", "QN01398Y"),
    "unknown type": (b.feature("QN01398Y", "Zone", SQUARE, type="ZUS"), "type_inconnu", "QN01398Y"),
    "negative population": (b.feature("QN01398Y", "Moins", SQUARE, population=-5), "population_invalide", "QN01398Y"),
    "fractional population": (b.feature("QN01398Y", "Demi", SQUARE, population=12.5), "population_invalide", "Demi"),
    "text population": (b.feature("QN01398Y", "Texte", SQUARE, population="beaucoup"), "population_invalide", "Texte"),
    "bad insee": (b.feature("QN01398Y", "Insee", SQUARE, insee="ABCDE"), "insee_invalide", "QN01398Y"),
    "out of WGS84": (b.feature("QN01398Y", "Hors", OUT_OF_RANGE), "coordonnees_hors_limites", "QN01398Y"),
    "duplicate code": (b.feature("QN01397X", "Doublon", SQUARE), "code_en_double", "QN01397X"),
    "not a feature": ({"type": "Polygon", "coordinates": []}, "entite_invalide", "sans code ni nom"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_feature_is_named_and_nothing_is_applied(
    case: str, session: Session, settings: Settings, tmp_path: Path
):
    bad, reason, label = REFUSED[case]
    renamed = b.real_collection(settings.perimeters_file)["features"][0]
    renamed["properties"]["nom"] = "Jas de Bouffan renommé"
    valid_new = b.feature("QN01397X", "Valide", b.square(5.47, 43.53))
    path = b.write(tmp_path, b.collection([renamed, valid_new, bad]))
    before = snapshot(session)

    with pytest.raises(errors.Unprocessable) as refused:
        perimeters.load(session=session, path=path)

    error = refused.value
    assert error.code == "perimetre_invalide"
    assert error.details["feature"] == 2
    assert error.details["reason"] == reason
    assert "features[2]" in error.message and label in error.message
    assert snapshot(session) == before  # not even the two valid features before it


def test_a_self_crossing_outline_is_repaired_loaded_and_listed(session: Session, tmp_path: Path):
    """A real regional file had 32 such outlines: they load, repaired by make_valid, and are named."""
    path = b.write(tmp_path, b.collection([b.feature("QN01398Y", "Noeud papillon", BOWTIE),
                                           b.feature("QN01397X", "Valide", b.square(5.47, 43.53))]))

    result = perimeters.load(session=session, path=path)

    assert result.created == 2
    assert [(r.code, r.why) for r in result.repaired] == [("QN01398Y", "auto-intersection en 5.405 43.505")]
    stored = stored_geometry(session, "QN01398Y")
    assert stored.is_valid and stored.geom_type == "MultiPolygon" and len(stored.geoms) == 2
    assert stored.area == pytest.approx(5e-5)  # both lobes of the bow tie, nothing lost
    assert stored.covers(shapely.Point(5.4025, 43.505)) and stored.covers(shapely.Point(5.4075, 43.505))


def test_an_outline_that_cannot_be_repaired_says_why(session: Session, tmp_path: Path):
    path = b.write(tmp_path, b.collection([b.feature("QN01398Y", "Aller-retour", FLAT)]))
    with pytest.raises(errors.Unprocessable) as refused:
        perimeters.load(session=session, path=path)
    assert "irréparable : auto-intersection en 5.41 43.51" in refused.value.message


def test_a_dry_run_says_what_would_change_and_changes_nothing(session: Session, settings: Settings, tmp_path: Path):
    renamed = b.real_collection(settings.perimeters_file)["features"][0]
    renamed["properties"]["nom"] = "Jas de Bouffan renommé"
    path = b.write(tmp_path, b.collection([renamed, b.feature("QN01398Y", "Noeud papillon", BOWTIE)]))
    before = snapshot(session)

    result = perimeters.load(session=session, path=path, dry_run=True)

    assert result.dry_run
    assert (result.created_codes, result.updated_codes) == (["QN01398Y"], [renamed["properties"]["code"]])
    assert [r.code for r in result.repaired] == ["QN01398Y"]
    assert snapshot(session) == before
    assert session.execute(text("SELECT to_regclass('gusp_perimeters_staging')")).scalar() is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{ce n'est pas du JSON", "json_invalide"),
        ('{"type": "FeatureCollection", "features": [', "json_invalide"),
        ("[1, 2, 3]", "pas_une_featurecollection"),
        (json.dumps(b.feature("QN01398Y", "Seul", SQUARE)), "pas_une_featurecollection"),
        ('{"type": "FeatureCollection"}', "pas_une_featurecollection"),
        ('{"type": "FeatureCollection", "features": {}}', "pas_une_featurecollection"),
        ('{"type": "Topology", "features": []}', "pas_une_featurecollection"),
        (
            json.dumps(b.collection([], crs={"type": "name", "properties": {"name": "EPSG:3857"}})),
            "crs_non_pris_en_charge",
        ),
    ],
)
def test_a_file_that_is_not_a_feature_collection_is_refused(
    content: str, reason: str, session: Session, tmp_path: Path
):
    before = snapshot(session)
    with pytest.raises(errors.Unprocessable) as refused:
        perimeters.load(session=session, path=b.write(tmp_path, content))
    assert refused.value.code == "fichier_perimetres_invalide"
    assert refused.value.details["reason"] == reason
    assert snapshot(session) == before


def test_the_session_is_still_usable_after_a_refusal(session: Session, settings: Settings, tmp_path: Path):
    with pytest.raises(errors.Unprocessable):
        perimeters.load(session=session, path=b.write(tmp_path, b.collection([b.feature(None, "x", SQUARE)])))
    result = perimeters.load(session=session, path=settings.perimeters_file)
    assert result.unchanged == 5


def test_a_polygon_is_stored_as_a_multipolygon(session: Session, tmp_path: Path):
    perimeters.load(session=session, path=b.write(tmp_path, b.collection([b.feature("QN01397X", "Carré", SQUARE)])))
    kind, parts = session.execute(
        text("SELECT ST_GeometryType(geom), ST_NumGeometries(geom) FROM quartiers WHERE code = 'QN01397X'")
    ).one()
    assert (kind, parts) == ("ST_MultiPolygon", 1)
    assert stored_geometry(session, "QN01397X").geoms[0].equals(shape(SQUARE))


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
        {"type": "name", "properties": {"name": "EPSG:2154"}},
        {"type": "name", "properties": {"name": "http://www.opengis.net/def/crs/EPSG/0/2154"}},
        {"type": "EPSG", "properties": {"code": 2154}},
    ],
)
def test_a_lambert93_file_is_transformed_to_wgs84(crs: dict, session: Session, settings: Settings, tmp_path: Path):
    data = b.real_collection(settings.perimeters_file)
    for f in data["features"]:
        if f["geometry"] is not None:
            f["geometry"] = b.to_lambert93(f["geometry"])
    path = b.write(tmp_path, b.collection(data["features"], crs=crs))

    result = perimeters.load(session=session, path=path)

    assert result.srid == 2154
    for code, official in b.real_perimeters(settings.perimeters_file).items():
        assert stored_geometry(session, code).hausdorff_distance(official) < 1e-7  # about 1 cm


def test_a_crs_member_after_the_features_is_still_read(session: Session, settings: Settings, tmp_path: Path):
    jas = b.real_collection(settings.perimeters_file)["features"][0]
    jas["geometry"] = b.to_lambert93(jas["geometry"])
    lambert = {"type": "name", "properties": {"name": "EPSG:2154"}}
    data = {"features": [jas], "crs": lambert, "type": "FeatureCollection"}  # crs and type come last
    assert perimeters.load(session=session, path=b.write(tmp_path, data)).srid == 2154
    official = b.real_perimeters(settings.perimeters_file)["QN01313M"]
    assert stored_geometry(session, "QN01313M").hausdorff_distance(official) < 1e-7


def test_wgs84_coordinates_labelled_lambert93_are_refused(session: Session, tmp_path: Path):
    crs = {"type": "name", "properties": {"name": "EPSG:2154"}}
    path = b.write(tmp_path, b.collection([b.feature("QN01397X", "Carré", SQUARE)], crs=crs))
    with pytest.raises(errors.Unprocessable) as refused:
        perimeters.load(session=session, path=path)
    assert refused.value.details == {"feature": 0, "reason": "coordonnees_hors_limites"}


def test_an_anct_national_format_file_is_mapped(session: Session, tmp_path: Path):
    features = [
        b.anct_feature("QN01307M", "Centre Nord", b.square(5.37, 43.31), insee_com="13055, 13071",
                       lib_com="Marseille, Septèmes-les-Vallons", fid=1),
        b.anct_feature("QN00101M", "Croix Blanche", b.square(5.23, 46.20), insee_com="01053",
                       lib_com="Bourg-en-Bresse", fid=2),
    ]
    name = "QP2024_France_Hexagonale_Outre_Mer_WGS84"
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path = b.write(tmp_path, b.collection(features, name=name, crs=crs))

    result = perimeters.load(session=session, path=path)

    assert (result.created, result.updated) == (2, 0)
    assert result.not_in_file == sorted([*b.CODES.values(), b.PINETTE])
    centre_nord = perimeters.get_by_code(session=session, code="QN01307M")
    assert (centre_nord.nom, centre_nord.insee, centre_nord.commune, centre_nord.type, centre_nord.population) == (
        "Centre Nord", "13055", "Marseille", "QPV", None,
    )
    assert centre_nord.licence == ETALAB
    assert centre_nord.source == f"ANCT, Quartiers prioritaires de la politique de la ville ({name})"
    areas = session.execute(text("SELECT insee FROM service_areas ORDER BY insee")).scalars().all()
    assert areas == ["01053", "13001", "13055"]


def test_licence_and_source_may_come_from_the_collection(session: Session, tmp_path: Path):
    features = [
        b.feature("QN01397X", "Sans mentions", SQUARE),
        b.feature("QN01396W", "Avec mentions", b.square(5.47, 43.53), source="Ville", licence="ODbL"),
    ]
    path = b.write(tmp_path, b.collection(features, licence="Licence Ouverte", source="Préfecture"))
    perimeters.load(session=session, path=path)
    rows = session.execute(text("SELECT code, source, licence FROM quartiers WHERE code LIKE 'QN0139%' ORDER BY code"))
    assert [tuple(r) for r in rows] == [
        ("QN01396W", "Ville", "ODbL"),
        ("QN01397X", "Préfecture", "Licence Ouverte"),
    ]


def test_a_file_with_a_byte_order_mark_loads(session: Session, settings: Settings, tmp_path: Path):
    path = tmp_path / "bom.geojson"
    path.write_bytes(b"\xef\xbb\xbf" + settings.perimeters_file.read_bytes())
    assert perimeters.load(session=session, path=path).unchanged == 5


def test_an_empty_collection_changes_nothing(session: Session, tmp_path: Path):
    before = snapshot(session)
    result = perimeters.load(session=session, path=b.write(tmp_path, b.collection([])))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert len(result.not_in_file) == 5
    assert snapshot(session) == before


def test_service_areas_are_the_hull_of_each_communes_perimeters(session: Session, settings: Settings):
    rows = session.execute(text("SELECT insee, commune, ST_GeometryType(geom) AS kind FROM service_areas")).all()
    assert [tuple(r) for r in rows] == [("13001", "Aix-en-Provence", "ST_Polygon")]
    covered = session.execute(
        text("SELECT bool_and(ST_Covers(s.geom, q.geom)) FROM quartiers q, service_areas s WHERE q.geom IS NOT NULL")
    ).scalar_one()
    assert covered
    hull = shapely.MultiPolygon(
        [p for g in b.real_perimeters(settings.perimeters_file).values() for p in g.geoms]
    ).convex_hull
    stored = shapely.from_wkb(bytes(session.execute(text("SELECT ST_AsBinary(geom) FROM service_areas")).scalar_one()))
    assert stored.equals(hull)



def test_a_reload_keeps_a_drawn_perimeter_in_the_service_area(session: Session, settings: Settings):
    """The file gives Pinette no outline: its stored one still counts, read back from the table."""
    far_east = b.square(5.50, 43.53, side_m=200)  # east of Beisson, beyond the official hull
    draw_pinette(session, far_east)
    result = perimeters.load(session=session, path=settings.perimeters_file)
    assert (result.kept_geometry, result.service_areas) == ([b.PINETTE], 1)
    covers = session.execute(
        text("SELECT ST_Covers(geom, ST_GeomFromGeoJSON(:g)) FROM service_areas"), {"g": json.dumps(far_east)}
    ).scalar_one()
    assert covers


def test_a_quartier_created_meanwhile_is_updated_not_copied_twice(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """New quartiers are copied straight into the table without a table lock: if one appears between
    the read of the stored codes and the copy, the copy is undone and every row goes through the upsert."""
    data = b.real_collection(settings.perimeters_file)
    data["features"][0]["properties"]["nom"] = "Jas de Bouffan renommé"
    data["features"].append(b.feature("QN01399Z", "Nouveau quartier", b.square(5.45, 43.51)))
    stored = loading._stored
    reads = []

    def unaware(conn: psycopg.Connection) -> dict[str, bool]:
        reads.append(1)
        return {} if len(reads) == 1 else stored(conn)  # the first read misses the 5 stored quartiers

    monkeypatch.setattr(loading, "_stored", unaware)
    result = perimeters.load(session=session, path=b.write(tmp_path, data))

    assert len(reads) == 2
    assert (result.created_codes, result.updated_codes, result.unchanged) == (["QN01399Z"], ["QN01313M"], 4)
    assert result.without_geometry == [b.PINETTE] and result.not_in_file == []
    counts = session.execute(text("SELECT count(*), count(DISTINCT code) FROM quartiers")).one()
    assert tuple(counts) == (6, 6)
    assert perimeters.get_by_code(session=session, code="QN01313M").nom == "Jas de Bouffan renommé"


def test_refreshing_service_areas_takes_a_drawn_perimeter_in(session: Session):
    far_east = b.square(5.50, 43.53, side_m=200)  # east of Beisson, beyond the official hull
    draw_pinette(session, far_east)
    assert perimeters.refresh_service_areas(session=session) == 1
    covers = session.execute(
        text("SELECT ST_Covers(geom, ST_GeomFromGeoJSON(:g)) FROM service_areas"), {"g": json.dumps(far_east)}
    ).scalar_one()
    assert covers


def test_the_feature_collection_is_ordered_by_nom_with_pinette_null(session: Session, settings: Settings):
    served = json.loads(perimeters.feature_collection(session=session))
    assert served["type"] == "FeatureCollection"
    assert [f["properties"]["nom"] for f in served["features"]] == [
        "Beisson", "Corsy", "Encagnane", "Jas de Bouffan", "Pinette",
    ]
    pinette = served["features"][-1]
    assert pinette["geometry"] is None
    assert pinette["properties"] == {
        "id": perimeters.get_by_code(session=session, code=b.PINETTE).id,  # for the pages that filter by it
        "code": b.PINETTE, "nom": "Pinette", "commune": "Aix-en-Provence", "insee": "13001",
        "type": "quartier_de_veille", "population": 1903,
        "source": pinette["properties"]["source"], "licence": None,
        "point": None,  # no perimeter, no point to place a report without a map
    }
    jas = served["features"][3]
    assert jas["properties"]["licence"] == ETALAB and jas["properties"]["population"] == 6900
    official = b.real_perimeters(settings.perimeters_file)["QN01313M"]
    assert shape(jas["geometry"]).hausdorff_distance(official) < 1e-6
    decimals = [len(str(c).split(".")[1]) for c in jas["geometry"]["coordinates"][0][0][0] if "." in str(c)]
    assert max(decimals) <= 6


def test_get_by_code(session: Session):
    assert perimeters.get_by_code(session=session, code="QN01316M").nom == "Corsy"
    assert perimeters.get_by_code(session=session, code="inconnu") is None


@pytest.mark.parametrize(
    "name",
    [
        "urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326",
        "urn:ogc:def:crs:EPSG:6.6:4326",
    ],
)
def test_the_usual_wgs84_labels_are_accepted(name: str, session: Session, settings: Settings, tmp_path: Path):
    data = b.real_collection(settings.perimeters_file) | {"crs": {"type": "name", "properties": {"name": name}}}
    result = perimeters.load(session=session, path=b.write(tmp_path, data))
    assert (result.srid, result.unchanged) == (4326, 5)
