"""Every invalid request: a 4xx with a stable code and a French message, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gusp.models import Report, ReportEvent, ReportPhoto
from tests import builders
from tests.api.test_reports import post


def assert_nothing_written(session, settings) -> None:
    assert session.scalar(select(func.count()).select_from(Report)) == 0
    assert session.scalar(select(func.count()).select_from(ReportPhoto)) == 0
    assert session.scalar(select(func.count()).select_from(ReportEvent)) == 0
    assert builders.stored_files(settings) == []


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"category": None}, "category", "champ_manquant"),
        ({"category": "piscine"}, "category", "categorie_inconnue"),
        ({"description": "x" * 4001}, "description", "texte_trop_long"),
        ({"description": "   "}, "description", "description_manquante"),
        ({"lat": None}, "lat", "champ_manquant"),
        ({"lat": "quarante-trois"}, "lat", "nombre_invalide"),
        ({"lat": "91"}, "lat", "valeur_hors_limites"),
        ({"lon": "-181"}, "lon", "valeur_hors_limites"),
        ({"lon": ""}, "lon", "champ_manquant"),
        ({"accuracy_m": "-3"}, "accuracy_m", "valeur_hors_limites"),
        ({"contact_email": "pas-une-adresse", "contact_consent": "true"}, "contact_email", "email_invalide"),
        ({"contact_phone": "123", "contact_consent": "true"}, "contact_phone", "telephone_invalide"),
        ({"contact_name": "Karim", "contact_consent": "false"}, "contact_consent", "consentement_manquant"),
        ({"contact_consent": "peut-être"}, "contact_consent", "booleen_invalide"),
        ({"contact_name": "x" * 201, "contact_consent": "true"}, "contact_name", "texte_trop_long"),
        ({"source": "agent"}, "source", "source_invalide"),
        ({"source": "fax"}, "source", "valeur_inconnue"),
    ],
)
def test_each_invalid_field_is_named_with_a_french_message(client, session, settings, overrides, field, code):
    response = post(client, builders.form(session, **overrides))

    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"] and body["message"][0].isupper()
    assert {"code": code, "field": field} in [{"code": e["code"], "field": e["field"]} for e in body["errors"]]
    assert_nothing_written(session, settings)


def test_several_invalid_fields_are_all_reported(client, session, settings):
    response = post(client, builders.form(session, lat="abc", lon="999", category=None))

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"lat", "lon", "category"}


def test_too_many_photos(client, session, settings):
    response = post(client, builders.form(session), [builders.jpeg(64, 64)] * (settings.max_photos + 1))

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("trop_de_photos", "photos")
    assert_nothing_written(session, settings)


def test_non_image_photo_is_415(client, session, settings):
    response = post(client, builders.form(session), [b"<svg xmlns='http://www.w3.org/2000/svg'/>"])

    assert response.status_code == 415
    assert response.json()["code"] == "type_photo_non_supporte"
    assert_nothing_written(session, settings)


def test_one_bad_photo_among_good_ones_writes_nothing(client, session, settings):
    good = builders.jpeg(800, 600)
    truncated = builders.jpeg(800, 600, colour=(10, 200, 10))[:1500]

    response = post(client, builders.form(session), [good, good[:0] + builders.jpeg(500, 500), truncated])

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["index"]) == ("photo_illisible", 2)
    assert_nothing_written(session, settings)


def test_photo_over_the_size_limit_is_413(app, client, session, settings):
    app.state.settings = settings.model_copy(update={"max_photo_bytes": 20_000})

    response = post(client, builders.form(session), [builders.jpeg(1200, 900) + b"\0" * 30_000])

    assert response.status_code == 413
    assert response.json()["code"] == "photo_trop_lourde"
    assert_nothing_written(session, settings)


def test_request_body_over_the_whole_limit_is_413_before_parsing(client, session, settings):
    limit = settings.max_photos * settings.max_photo_bytes + 1024 * 1024
    declared = client.post(
        "/api/v1/reports",
        content=b"x" * (limit + 1),
        headers={"content-type": "multipart/form-data; boundary=zzz"},
    )

    def chunks():  # no Content-Length: the limit is counted while streaming
        for _ in range(limit // (1024 * 1024) + 2):
            yield b"y" * (1024 * 1024)

    streamed = client.post(
        "/api/v1/reports", content=chunks(), headers={"content-type": "multipart/form-data; boundary=zzz"}
    )

    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["code"] == "requete_trop_lourde"
    assert_nothing_written(session, settings)


def test_bad_idempotency_key_is_400(client, session, settings):
    for key in ("cle avec espaces", "x" * 129):
        response = post(client, builders.form(session), headers={"Idempotency-Key": key})

        assert response.status_code == 400
        assert (response.json()["code"], response.json()["field"]) == ("cle_idempotence_invalide", "Idempotency-Key")
    assert_nothing_written(session, settings)


def test_json_body_instead_of_a_form_is_a_clear_422(client, session, settings):
    response = client.post("/api/v1/reports", json={"category": "proprete"})

    assert response.status_code == 422
    assert response.json()["code"] == "champ_manquant"
    assert response.json()["message"] == "Ce champ est obligatoire."


def test_unknown_route_and_method_are_json(client):
    assert client.get("/api/v1/nulle-part").json()["code"] == "introuvable"
    response = client.delete("/api/v1/categories")
    assert (response.status_code, response.json()["code"]) == (405, "methode_non_autorisee")
