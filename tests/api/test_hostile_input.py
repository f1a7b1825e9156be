"""Hostile input gets a 4xx JSON answer, never a 500 (issue 10, point 9); a 500 closes the connection cleanly."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from gusp import partners
from gusp.api.main import create_app
from tests import builders

HUGE = [2**31, 2**63, 2**70]


@pytest.fixture
def coordinator(session):
    return builders.staff(session, "coordinateur")[1]


def refused(response, status=None):
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] and body["message"]
    return body


def test_nul_is_refused_in_json_path_query_and_form(client, session, settings, coordinator):
    assert refused(client.post("/api/v1/auth/login", json={"email": "a\u0000@b.fr", "password": "x" * 12}),
                   400)["code"] == "caractere_nul"
    assert refused(client.get("/api/v1/reports/GUSP-2026-%00"), 400)["code"] == "caractere_nul"
    assert refused(client.get("/api/v1/gestion/reports", params={"q": "sac\x00"}, headers=coordinator), 400)
    assert refused(client.get("/api/v1/reports/nearby", params={"category": "proprete\x00", "lat": 0, "lon": 0}), 400)
    form = builders.form(session, description="Tags sur le mur\x00")
    assert refused(client.post("/api/v1/reports", data=form), 400)["code"] == "caractere_nul"
    partner = partners.create_partner(session=session, name="Ville", kind="ville", emails=[])
    assert refused(client.patch(f"/api/v1/partners/{partner.id}", json={"name": "Vi\u0000lle"}, headers=coordinator),
                   400)


def test_nul_in_open311_answers_in_open311_format(client):
    response = client.get("/open311/v2/requests/GUSP%00.json")
    assert response.status_code == 400
    assert isinstance(response.json(), list) and response.json()[0]["code"] == 400


def test_an_escaped_backslash_before_u0000_is_not_a_nul(client):
    # "\\u0000" in JSON is a backslash followed by "u0000": a harmless text.
    response = client.post("/api/v1/auth/login", content=b'{"email": "a\\\\u0000@b.fr", "password": "xxxxxxxxxxxx"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize("huge", HUGE)
def test_ids_beyond_the_columns_are_refused(client, session, coordinator, huge):
    partner = partners.create_partner(session=session, name="Ville", kind="ville", emails=[])
    calls = [
        client.patch(f"/api/v1/partners/{huge}", json={"name": "X"}, headers=coordinator),
        client.get(f"/api/v1/diagnostics/{huge}", headers=coordinator),
        client.delete(f"/api/v1/routing-rules/{huge}", headers=coordinator),
        client.delete(f"/api/v1/auth/tokens/{huge}", headers=coordinator),
        client.post("/api/v1/routing-rules", json={"category_code": "proprete", "partner_id": huge},
                    headers=coordinator),
        client.post("/api/v1/routing-rules", json={"category_code": "proprete", "partner_id": partner.id,
                                                   "quartier_id": huge}, headers=coordinator),
        client.get("/api/v1/gestion/reports", params={"partner": huge}, headers=coordinator),
        client.get("/api/v1/stats/volumes", params={"partner": huge}, headers=coordinator),
        client.post("/api/v1/gestion/reports/bulk", json={"references": ["GUSP-2026-000001"], "action": "assign",
                                                          "partner_id": huge}, headers=coordinator),
    ]
    for response in calls:
        refused(response, 422)


def test_a_null_partner_field_is_refused(client, session, coordinator):
    partner = partners.create_partner(session=session, name="Ville", kind="ville", emails=["v@x.example"])
    for field in ("emails", "name", "kind", "active"):
        body = refused(client.patch(f"/api/v1/partners/{partner.id}", json={field: None}, headers=coordinator), 422)
        assert body["code"] == "valeur_nulle" and body["field"] == field
    emptied = client.patch(f"/api/v1/partners/{partner.id}", json={"delay_days": None}, headers=coordinator)
    assert emptied.status_code == 200, emptied.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "0001-01-02"])
def test_extreme_dates_with_the_previous_year(client, coordinator, day):
    params = {"date_from": day, "date_to": day, "compare": "previous_year"}
    assert refused(client.get("/api/v1/stats/volumes", params=params, headers=coordinator), 422)["field"] == "date_from"


def test_the_widest_accepted_period_compares_with_the_previous_year(client, coordinator):
    params = {"date_from": "1900-01-01", "date_to": "2999-12-31", "compare": "previous_year", "interval": "year"}
    response = client.get("/api/v1/stats/volumes", params=params, headers=coordinator)
    assert response.status_code == 200, response.text


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _cursor("-created_at", "2026-01-01T00:00:00+00:00", 2**70),
    "WyItY3JlYXRlZF9hdCIsICIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMWU0MDBd",  # id 1e400: infinity
    _cursor("-created_at", "2026-01-01T00:00:00", 5),  # no offset
    _cursor("-created_at", "2026-01-01T00:00:00+00:00", -1),
    _cursor("-created_at", ["x"], 1),
    "!!!",
])
def test_forged_cursors(client, coordinator, cursor):
    body = refused(client.get("/api/v1/gestion/reports", params={"cursor": cursor}, headers=coordinator), 400)
    assert body["code"] == "curseur_invalide"


@pytest.mark.parametrize("extension", ["csv", "geojson", "xlsx", "ods"])
def test_exports_refuse_an_unknown_quartier_before_streaming(client, session, settings, coordinator, extension):
    builders.make_report(session, settings, description="Encombrants")
    response = client.get(f"/api/v1/exports/reports.{extension}", params={"quartier": "NULLE-PART"},
                          headers=coordinator)
    assert refused(response, 422)["code"] == "quartier_inconnu"


def test_an_unexpected_error_is_a_json_500_that_closes_the_connection(settings, session):
    from tests.web.conftest import serve

    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with serve(app) as url, httpx.Client(base_url=url) as http:
        response = http.get("/boom")
        assert response.status_code == 500
        assert response.headers["connection"] == "close"
        assert response.json()["code"] == "erreur_interne"
        assert response.headers["x-frame-options"] == "DENY"  # the outermost handler answers it
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert http.get("/api/v1/categories").status_code == 200  # a new connection works
    app.state.engine.dispose()
