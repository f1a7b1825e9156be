"""GET /api/v1/quartiers and /api/v1/categories, and the OpenAPI description of intake."""

from __future__ import annotations

import json

from shapely.geometry import Point, shape

from gusp.config import DATA_DIR


def test_quartiers_are_a_geojson_feature_collection_with_source_and_licence(client):
    response = client.get("/api/v1/quartiers")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in collection["features"]}
    official = {f["properties"]["code"]: f for f in json.loads((DATA_DIR / "qpv_perimetres.geojson").read_text())["features"]}
    assert by_code.keys() == official.keys()
    for code, feature in official.items():
        served = by_code[code]
        for key in ("nom", "commune", "insee", "type", "population", "source", "licence"):
            assert served["properties"][key] == feature["properties"][key]
        if feature["geometry"] is None:
            assert served["geometry"] is None
        else:
            assert shape(served["geometry"]).symmetric_difference(shape(feature["geometry"])).area < 1e-10
    assert by_code["VEILLE-13001-PINETTE"]["properties"]["type"] == "quartier_de_veille"


def test_categories_come_from_the_data_file_in_its_order(client):
    expected = json.loads((DATA_DIR / "categories.json").read_text())["categories"]

    body = client.get("/api/v1/categories").json()

    assert body["count"] == len(expected) == 15
    assert [(c["code"], c["label"]) for c in body["data"]] == [(c["code"], c["label"]) for c in expected]


def test_openapi_documents_the_multipart_intake_and_its_errors(client):
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/reports"]["post"]

    def resolve(node: dict) -> dict:
        return spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    body = resolve(post["requestBody"]["content"]["multipart/form-data"]["schema"])
    fields = set(body.get("properties", {}))
    for part in body.get("allOf", []):
        fields |= set(resolve(part)["properties"])
    assert {"category", "description", "lat", "lon", "accuracy_m", "contact_email", "contact_consent", "photos"} <= fields
    assert {"201", "413", "415", "422"} <= set(post["responses"])
    assert any(p["name"] == "idempotency-key" for p in post["parameters"])
    public = spec["components"]["schemas"]["ReportPublic"]["properties"]
    assert not any("contact" in name for name in public)


def test_each_perimeter_comes_with_a_point_inside_it_for_pages_without_a_map(client):
    for feature in client.get("/api/v1/quartiers").json()["features"]:
        point = feature["properties"]["point"]
        if feature["geometry"] is None:
            assert point is None
        else:
            assert shape(feature["geometry"]).contains(Point(point)), feature["properties"]["code"]
