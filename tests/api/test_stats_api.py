"""The statistics API and the exports over HTTP: staff only, filters as query parameters, the previous
year beside the period, files with their types and names, and the dashboard page."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest

from tests import builders
from tests.builders_stats import at, partner, report

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)

Q1 = {"date_from": "2024-01-01", "date_to": "2024-03-31"}


@pytest.fixture
def coordinator(session):
    return builders.staff(session, "coordinateur")[1]


@pytest.fixture
def dataset(session, settings):
    bailleur = partner(session, "Bailleur test")
    for created in (at(2024, 1, 10), at(2024, 2, 10), at(2023, 1, 15)):
        report(session, settings, created=created, status="resolu", partner=bailleur, assigned=created,
               resolved=created.replace(day=created.day + 2), due=created.replace(day=created.day + 5),
               contact_email="habitant@example.org", contact_consent="true")
    report(session, settings, created=at(2024, 3, 5), quartier=builders.JAS_DE_BOUFFAN, category="eclairage")
    return bailleur


def test_statistics_need_a_signed_in_member_of_staff(client):
    for path in ("/api/v1/stats/volumes", "/api/v1/stats/hotspots", "/api/v1/exports/reports.csv"):
        response = client.get(path)
        assert response.status_code == 401 and response.json()["code"] == "non_authentifie"


def test_volumes_with_the_previous_year(client, coordinator, dataset):
    response = client.get("/api/v1/stats/volumes", headers=coordinator,
                          params={**Q1, "group_by": "quartier,category", "compare": "previous_year"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["period"], r["quartier_code"], r["category_code"], r["count"]) for r in body["data"]] == [
        ("2024-01", builders.ENCAGNANE, "proprete", 1),
        ("2024-02", builders.ENCAGNANE, "proprete", 1),
        ("2024-03", builders.JAS_DE_BOUFFAN, "eclairage", 1),
    ]
    assert body["total"] == 3 and body["meta"]["include_duplicates"] is False
    previous = body["comparison"]
    assert (previous["meta"]["period_start"], previous["meta"]["period_end"]) == ("2023-01-01", "2023-03-31")
    assert [(r["period"], r["count"]) for r in previous["data"]] == [("2023-01", 1)]
    assert previous["comparison"] is None


def test_every_figure_answers_with_its_meta(client, coordinator, dataset):
    for path in ("rates", "delays", "backlog", "overdue", "hotspots"):
        response = client.get(f"/api/v1/stats/{path}", headers=coordinator, params=Q1)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["meta"]["timezone"] == "Europe/Paris"
    delays = client.get("/api/v1/stats/delays", headers=coordinator, params={**Q1, "group_by": "category"}).json()
    assert [(r["category_code"], r["creation_to_resolution"]["median_days"]) for r in delays["data"]] == [
        ("proprete", 2.0)]
    rates = client.get("/api/v1/stats/rates", headers=coordinator, params={**Q1, "quartier": builders.ENCAGNANE})
    assert [(r["quartier_code"], r["count"], r["per_1000"]) for r in rates.json()["data"]] == [
        (builders.ENCAGNANE, 2, 2000 / 4642)]


def test_bad_parameters_are_clear_4xx(client, coordinator):
    cases = [
        ({"date_from": "2024-03-01", "date_to": "2024-01-01"}, "periode_invalide"),
        ({"quartier": "QN00000X"}, "quartier_inconnu"),
        ({"group_by": "humeur"}, "regroupement_invalide"),
    ]
    for params, code in cases:
        response = client.get("/api/v1/stats/volumes", headers=coordinator, params=params)
        assert response.status_code == 422 and response.json()["code"] == code, response.text
    assert client.get("/api/v1/stats/volumes", headers=coordinator, params={"interval": "week"}).status_code == 422
    assert client.get("/api/v1/stats/hotspots", headers=coordinator, params={"eps_m": 5000}).status_code == 422


def test_a_partner_exports_only_its_own_reports(client, session, settings, dataset):
    other = partner(session, "Métropole test", "metropole")
    report(session, settings, created=at(2024, 2, 1), status="en_cours", partner=other, assigned=at(2024, 2, 1))
    headers = builders.staff(session, "partenaire", partner_id=dataset.id)[1]

    response = client.get("/api/v1/exports/reports.csv", headers=headers, params=Q1)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="signalements_2024-01-01_2024-03-31.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 3 and {r[8] for r in rows[1:]} == {"Bailleur test"}
    assert "habitant@example.org" not in response.text
    volumes = client.get("/api/v1/stats/volumes", headers=headers, params=Q1).json()
    assert volumes["total"] == 2 and volumes["meta"]["restricted"] is True


def test_spreadsheet_and_geojson_exports(client, coordinator, dataset):
    xlsx = client.get("/api/v1/exports/reports.xlsx", headers=coordinator, params=Q1)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content))["Signalements"].max_row == 4
    ods = client.get("/api/v1/exports/reports.ods", headers=coordinator, params=Q1)
    assert ods.status_code == 200 and ods.headers["content-type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert ods.content.startswith(b"PK")
    geojson = client.get("/api/v1/exports/reports.geojson", headers=coordinator, params=Q1)
    assert geojson.headers["content-type"] == "application/geo+json"
    features = json.loads(geojson.content)["features"]
    assert len(features) == 3 and "habitant@example.org" not in geojson.text


def test_the_openapi_schema_documents_the_statistics(client):
    paths = client.get("/openapi.json").json()["paths"]
    for name in ("volumes", "rates", "delays", "backlog", "overdue", "hotspots"):
        assert f"/api/v1/stats/{name}" in paths
    assert "/api/v1/exports/reports.ods" in paths and "/statistiques" not in paths
    compare = {p["name"] for p in paths["/api/v1/stats/volumes"]["get"]["parameters"]}
    assert {"compare", "date_from", "date_to", "quartier", "category", "partner", "source",
            "include_duplicates", "group_by", "interval"} <= compare


def test_the_dashboard_page_is_served_in_french(client):
    response = client.get("/statistiques")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text and re.search(r"/static/v-[0-9a-f]+/stats\.js", response.text)
