"""Loading management zones: creation, update by code, refusals that name the feature and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from gusp import errors
from gusp.geo import zones

from .. import builders_routing as r
from . import builders_geo as b

LAT, LON = 43.5265, 5.4290  # Encagnane
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[5.40, 43.50], [5.41, 43.51], [5.41, 43.50], [5.40, 43.51], [5.40, 43.50]]],
}


def zone(code: str | None, nom: str | None = None, geometry: dict | None = None, **properties) -> dict:
    props = {"code": code, "nom": nom} | properties
    return {
        "type": "Feature",
        "properties": {k: v for k, v in props.items() if v is not None},
        "geometry": b.square(LON, LAT) if geometry is None else geometry,
    }


def stored(session: Session) -> dict[str, tuple]:
    rows = session.execute(
        text(
            "SELECT z.code, z.name, p.name AS partner, ST_AsBinary(z.geom) AS wkb"
            " FROM management_zones z LEFT JOIN partners p ON p.id = z.partner_id"
        )
    ).all()
    return {row.code: (row.name, row.partner, shapely.from_wkb(bytes(row.wkb))) for row in rows}


def test_zones_are_created_with_their_manager(session: Session, tmp_path: Path):
    r.make_partner(session, "Pays d'Aix Habitat", kind="bailleur")
    residence = b.square(LON, LAT, 120)
    multi = {"type": "MultiPolygon", "coordinates": [b.square(LON + 0.01, LAT, 50)["coordinates"]]}
    path = b.write(tmp_path, b.collection([
        zone("PAH-01", "Résidence Les Facultés", residence, partenaire="Pays d'Aix Habitat"),
        zone("VOIRIE-01", None, multi),
    ]))

    result = zones.load(session=session, path=path)

    assert (result.created, result.updated, result.unchanged, result.not_in_file) == (2, 0, 0, [])
    rows = stored(session)
    assert rows["PAH-01"][:2] == ("Résidence Les Facultés", "Pays d'Aix Habitat")
    assert rows["PAH-01"][2].equals(shape(residence))
    assert isinstance(rows["PAH-01"][2], shapely.MultiPolygon)
    assert rows["VOIRIE-01"][:2] == ("VOIRIE-01", None)  # no nom: the code; no partenaire: no manager


def test_reloading_updates_by_code_and_keeps_zones_not_in_the_file(session: Session, tmp_path: Path):
    r.make_partner(session, "Pays d'Aix Habitat", kind="bailleur")
    r.make_partner(session, "Famille et Provence", kind="bailleur")
    first = b.collection([
        zone("PAH-01", "Les Facultés", partenaire="Pays d'Aix Habitat"),
        zone("PAH-02", "Les Platanes", b.square(LON + 0.01, LAT), partenaire="Pays d'Aix Habitat"),
        zone("FP-01", "Corsy", b.square(LON + 0.02, LAT), partenaire="Famille et Provence"),
    ])
    zones.load(session=session, path=b.write(tmp_path, first))
    ids = dict(session.execute(text("SELECT code, id FROM management_zones")).all())
    moved = b.square(LON, LAT + 0.001)
    second = b.collection([
        zone("PAH-01", "Les Facultés", moved, partenaire="Pays d'Aix Habitat"),  # new shape
        zone("PAH-02", "Les Platanes", b.square(LON + 0.01, LAT), partenaire="Famille et Provence"),  # new manager
        zone("NEW-01", "Nouvelle"),
    ])

    result = zones.load(session=session, path=b.write(tmp_path, second))

    assert (result.created, result.updated, result.unchanged) == (1, 2, 0)
    assert result.not_in_file == ["FP-01"]
    rows = stored(session)
    assert rows["PAH-01"][2].equals(shape(moved))
    assert rows["PAH-02"][1] == "Famille et Provence"
    assert "FP-01" in rows  # kept: rules may name it
    after = dict(session.execute(text("SELECT code, id FROM management_zones")).all())
    assert {code: after[code] for code in ids} == ids  # updated in place: rules keep pointing to them

    again = zones.load(session=session, path=b.write(tmp_path, second))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_zone_listed_without_partenaire_loses_its_manager(session: Session, tmp_path: Path):
    r.make_partner(session, "Pays d'Aix Habitat", kind="bailleur")
    zones.load(session=session, path=b.write(tmp_path, b.collection([zone("PAH-01", partenaire="Pays d'Aix Habitat")])))
    result = zones.load(session=session, path=b.write(tmp_path, b.collection([zone("PAH-01")])))
    assert result.updated == 1
    assert stored(session)["PAH-01"][1] is None


REFUSED = {
    "self-intersection": (zone("Z-BAD", "Noeud", BOWTIE), "geometrie_invalide", "Z-BAD", "auto-intersection"),
    "point": (zone("Z-BAD", "Point", {"type": "Point", "coordinates": [5.4, 43.5]}), "type_geometrie", "Z-BAD",
              "Polygon ou MultiPolygon"),
    "no geometry": ({"type": "Feature", "properties": {"code": "Z-BAD"}, "geometry": None},
                    "geometrie_manquante", "Z-BAD", "géométrie manquante"),
    "malformed": (zone("Z-BAD", "Mal formé", {"type": "Polygon", "coordinates": [[[5.4, 43.5]]]}),
                  "coordonnees_mal_formees", "Z-BAD", "mal formées"),
    "Lambert-93 coordinates": (zone("Z-BAD", "L93", b.to_lambert93(b.square(LON, LAT))), "coordonnees_hors_limites",
                               "Z-BAD", "WGS84"),
    "missing code": (zone(None, "Sans code"), "code_manquant", "« Sans code »", "« code » manquant"),
    "blank code": (zone("  ", "Code blanc"), "code_manquant", "« Code blanc »", "« code » manquant"),
    "duplicate code": (zone("Z-OK", "Encore"), "code_en_double", "Z-OK", "features[1]"),
    "unknown partner": (zone("Z-BAD", "Résidence", partenaire="Logirem"), "partenaire_inconnu", "Z-BAD",
                        "« Logirem » inconnu"),
    "partner with the wrong case": (zone("Z-BAD", "Résidence", partenaire="pays d'aix habitat"),
                                    "partenaire_inconnu", "Z-BAD", "vouliez-vous dire « Pays d'Aix Habitat » ?"),
    "code too long": (zone("Z" * 65, "Long"), "valeur_trop_longue", "Long", "64 caractères"),
    "not a feature": ({"type": "Polygon", "coordinates": []}, "entite_invalide", "sans code ni nom", "Feature"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_zone_is_named_and_nothing_is_applied(case: str, session: Session, tmp_path: Path):
    bad, reason, label, why = REFUSED[case]
    r.make_partner(session, "Pays d'Aix Habitat", kind="bailleur")
    zones.load(session=session, path=b.write(tmp_path, b.collection([zone("Z-OLD", "Ancienne")])))
    before = stored(session)
    renamed = zone("Z-OLD", "Ancienne renommée")
    valid_new = zone("Z-OK", "Valide", partenaire="Pays d'Aix Habitat")

    with pytest.raises(errors.Unprocessable) as refused:
        zones.load(session=session, path=b.write(tmp_path, b.collection([renamed, valid_new, bad])))

    error = refused.value
    assert (error.code, error.details["feature"], error.details["reason"]) == ("zone_invalide", 2, reason)
    assert "features[2]" in error.message and label in error.message and why in error.message
    assert "Aucune zone du fichier n'a été chargée" in error.message
    assert stored(session) == before


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{pas du JSON", "json_invalide"),
        ("[1, 2]", "pas_une_featurecollection"),
        (json.dumps(zone("Z-1")), "pas_une_featurecollection"),
        ('{"type": "FeatureCollection"}', "pas_une_featurecollection"),
        (json.dumps(b.collection([], crs={"type": "name", "properties": {"name": "EPSG:2154"}})),
         "crs_non_pris_en_charge"),
    ],
)
def test_a_file_that_is_not_a_wgs84_feature_collection_is_refused(
    content: str, reason: str, session: Session, tmp_path: Path
):
    with pytest.raises(errors.Unprocessable) as refused:
        zones.load(session=session, path=b.write(tmp_path, content))
    assert (refused.value.code, refused.value.details["reason"]) == ("fichier_zones_invalide", reason)
    assert stored(session) == {}


@pytest.mark.parametrize("name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326"])
def test_a_declared_wgs84_crs_is_accepted(name: str, session: Session, tmp_path: Path):
    data = b.collection([zone("Z-1")], crs={"type": "name", "properties": {"name": name}})
    assert zones.load(session=session, path=b.write(tmp_path, data)).created == 1


def test_a_byte_order_mark_is_tolerated(session: Session, tmp_path: Path):
    path = tmp_path / "zones.geojson"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(b.collection([zone("Z-1")])).encode())
    assert zones.load(session=session, path=path).created == 1
