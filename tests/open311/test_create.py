"""POST requests and GET tokens/{token}: the ordinary intake, the client recorded, every error in both formats."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gusp import states
from gusp.models import Report, ReporterContact, ReportEvent, ReportPhoto
from gusp.open311 import clients, services
from tests import builders, builders_routing
from tests.open311 import builders_open311 as o311


def count(session, model=Report) -> int:
    return session.scalar(select(func.count()).select_from(model))


def report(session, reference: str) -> Report:
    return session.scalars(select(Report).where(Report.reference == reference)).one()


def errors_of(response, fmt: str) -> list[str]:
    if fmt == "json":
        found = o311.json_errors(response)
        assert all(code == response.status_code for code, _ in found)
    else:
        found = o311.xml_errors(response)
        assert all(code == str(response.status_code) for code, _ in found)
    return [description for _, description in found]


def test_a_request_in_json_goes_through_the_intake_and_names_its_client(client, session):
    key, app_client = o311.make_client(session, "Appli Quartiers")
    response = o311.post(client, o311.fields(session, key, quartier=builders.JAS_DE_BOUFFAN))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    [created] = response.json()
    assert list(created) == ["service_request_id", "token", "service_notice", "account_id"]
    assert created["service_request_id"].startswith("GUSP-20")
    assert created["account_id"] is None and created["service_notice"]

    stored = report(session, created["service_request_id"])
    assert (stored.source, stored.open311_client_id) == ("open311", app_client.id)
    assert stored.quartier.code == builders.JAS_DE_BOUFFAN  # attributed like any report
    assert stored.open311_token == created["token"]
    [event] = session.scalars(select(ReportEvent).where(ReportEvent.report_id == stored.id)).all()
    assert (event.kind, event.source) == ("created", "open311")
    assert event.data["open311_client"] == "Appli Quartiers"
    assert event.data["open311_client_id"] == app_client.id


def test_a_request_in_xml(client, session, api_key):
    response = o311.post(client, o311.fields(session, api_key), fmt="xml")

    assert response.status_code == 200
    root = o311.xml(response)
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [c.tag for c in request] == ["service_request_id", "token", "service_notice", "account_id"]
    assert request.findtext("service_request_id").startswith("GUSP-")


def test_routing_and_duplicates_apply_as_for_any_report(client, session, api_key):
    partner = builders_routing.make_partner(session, "Métropole propreté")
    builders_routing.make_rule(session, "proprete", partner)
    first = o311.post(client, o311.fields(session, api_key)).json()[0]["service_request_id"]
    second = o311.post(client, o311.fields(session, api_key, description="Encore des sacs au même endroit.")
                       ).json()[0]["service_request_id"]

    assert report(session, first).partner_id == partner.id
    event = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report(session, second).id)).one()
    assert event.data["likely_duplicates"] == [first]


def test_the_attributes_carry_consent_and_accuracy(client, session, api_key):
    form = o311.fields(session, api_key, email="Nadia.K@example.org", first_name="Nadia", last_name="Kaci",
                       phone="06 11 22 33 44", **{f"attribute[{services.CONSENT}]": "oui",
                                                   f"attribute[{services.ACCURACY}]": "12.5"})
    reference = o311.post(client, form).json()[0]["service_request_id"]

    stored = report(session, reference)
    assert stored.accuracy_m == 12.5
    contact = session.get(ReporterContact, stored.id)
    assert (contact.name, contact.email, contact.phone, contact.consent) == (
        "Nadia Kaci", "Nadia.K@example.org", "0611223344", True)


def test_address_string_is_kept_for_staff_and_device_and_account_ids_are_not(client, session, api_key):
    form = o311.fields(session, api_key, address_string="12 avenue de l'Europe, Aix-en-Provence",
                       device_id="device-42", account_id="compte-7")
    reference = o311.post(client, form).json()[0]["service_request_id"]

    event = session.scalars(select(ReportEvent).where(ReportEvent.report_id == report(session, reference).id)).one()
    assert event.data["address_string"] == "12 avenue de l'Europe, Aix-en-Provence"
    assert "device-42" not in str(event.data) and "compte-7" not in str(event.data)


def test_the_api_key_may_come_in_the_query_string(client, session, api_key):
    form = o311.fields(session, None)
    response = client.post(f"/open311/v2/requests.json?api_key={api_key}", data=form)
    assert response.status_code == 200, response.text


def test_a_multipart_form_is_accepted_too(client, session, api_key):
    form = o311.fields(session, api_key)
    response = client.post("/open311/v2/requests.json", data=form, files={"ignored": ("a.txt", b"x", "text/plain")})
    assert response.status_code == 200, response.text


def test_the_key_is_touched_when_used(client, session):
    key, app_client = o311.make_client(session)
    assert app_client.last_used_at is None
    o311.post(client, o311.fields(session, key))
    session.refresh(app_client)
    assert app_client.last_used_at is not None


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_token_gives_the_service_request_id(client, session, api_key, fmt):
    created = o311.post(client, o311.fields(session, api_key)).json()[0]

    response = client.get(f"/open311/v2/tokens/{created['token']}.{fmt}")

    assert response.status_code == 200
    if fmt == "json":
        assert response.json() == [{"service_request_id": created["service_request_id"], "token": created["token"]}]
    else:
        [request] = o311.xml(response).findall("request")
        assert request.findtext("service_request_id") == created["service_request_id"]
        assert request.findtext("token") == created["token"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_token_is_a_404(client, fmt):
    response = client.get(f"/open311/v2/tokens/0123456789abcdef.{fmt}")
    assert response.status_code == 404
    assert errors_of(response, fmt) == ["Aucune demande ne correspond au jeton « 0123456789abcdef »."]


REFUSED_KEY = "Clé d'API (api_key) absente ou invalide : impossible de créer la demande."


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "", "o311_inconnue", "o311_" + "x" * 40])
def test_a_missing_or_invalid_key_is_a_403_and_writes_nothing(client, session, fmt, key):
    before = count(session)
    response = o311.post(client, o311.fields(session, key), fmt=fmt)

    assert response.status_code == 403
    assert errors_of(response, fmt) == [REFUSED_KEY]
    assert count(session) == before


def test_a_deactivated_client_is_refused(client, session):
    key, app_client = o311.make_client(session)
    clients.update_client(session=session, client_id=app_client.id, active=False)

    assert o311.post(client, o311.fields(session, key)).status_code == 403


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_code_is_a_404(client, session, api_key, fmt):
    response = o311.post(client, o311.fields(session, api_key, service_code="piscine"), fmt=fmt)

    assert response.status_code == 404
    assert errors_of(response, fmt) == ["Aucun service ne porte le code « piscine » : voyez la liste des services."]


BAD_FORMS = {
    "sans service_code": ({"service_code": ""}, ["Le champ service_code est obligatoire."]),
    "sans position": ({"lat": None, "long": None}, ["La position est obligatoire : envoyez lat et long (WGS84)."]),
    "adresse seule": (
        {"lat": None, "long": None, "address_string": "2 rue Émile Tavan"},
        [("GUSP ne sait pas situer une adresse : envoyez la position en lat et long (WGS84) ; "
         "address_string peut l'accompagner.")],
    ),
    "lat seule": ({"long": None}, ["lat et long vont ensemble : envoyez les deux."]),
    "lat illisible": ({"lat": "quarante-trois"},
                      ["lat doit être un nombre en degrés décimaux, entre -90 et 90."]),
    "long hors limites": ({"long": "200"}, ["long doit être un nombre en degrés décimaux, entre -180 et 180."]),
    "consentement illisible": ({f"attribute[{services.CONSENT}]": "peut-être"},
                               ["Attribut « consentement » : Valeur attendue : « oui » ou « non »."]),
    "précision négative": ({f"attribute[{services.ACCURACY}]": "-3"},
                           ["Attribut « precision_m » : Un nombre de mètres entre 0 et 100 000 est attendu."]),
    "e-mail invalide": ({"email": "pas-un-mail", f"attribute[{services.CONSENT}]": "oui"},
                        ["email : Adresse e-mail invalide."]),
    "téléphone invalide": ({"phone": "12", f"attribute[{services.CONSENT}]": "oui"},
                           ["phone : Numéro de téléphone invalide : indiquez par exemple 06 12 34 56 78."]),
    "description trop longue": ({"description": "x" * 4001},
                                ["description : texte trop long (4000 caractères au plus)."]),
    "ni description ni photo": ({"description": ""}, ["Décrivez le problème en quelques mots, ou joignez une photo."]),
    "hors territoire": ({"lat": "48.8566", "long": "2.3522"},
                        ["Ce lieu est en dehors du territoire couvert par le service : vérifiez la position."]),
    "media_url non http": ({"media_url": "file:///etc/passwd"},
                           ["media_url doit être une adresse http:// ou https:// complète."]),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("case", list(BAD_FORMS))
def test_bad_input_is_a_400_with_every_problem_and_writes_nothing(client, session, api_key, fmt, case):
    overrides, expected = BAD_FORMS[case]
    form = o311.fields(session, api_key)
    for name, value in overrides.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    before = (count(session), count(session, ReportEvent), count(session, ReportPhoto))

    response = o311.post(client, form, fmt=fmt)

    assert response.status_code == 400, response.text
    assert errors_of(response, fmt) == expected
    assert (count(session), count(session, ReportEvent), count(session, ReportPhoto)) == before


def test_several_problems_are_listed_together(client, session, api_key):
    form = o311.fields(session, api_key, lat="x", **{f"attribute[{services.CONSENT}]": "peut-être"})
    form.pop("long")
    response = o311.post(client, form)

    assert response.status_code == 400
    assert len(o311.json_errors(response)) == 3


def test_a_field_sent_twice_is_refused(client, session, api_key):
    form = list(o311.fields(session, api_key).items()) + [("description", "Autre chose")]
    response = o311.post(client, form)

    assert response.status_code == 400
    assert o311.json_errors(response) == [(400, "Le champ description est envoyé plusieurs fois.")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_json_body_is_refused(client, session, api_key, fmt):
    response = client.post(f"/open311/v2/requests.{fmt}", json=o311.fields(session, api_key))

    assert response.status_code == 400
    assert errors_of(response, fmt) == [
        "Envoyez la demande en application/x-www-form-urlencoded (ou multipart/form-data)."]


def test_the_regular_api_cannot_claim_the_open311_source(client, session):
    response = client.post("/api/v1/reports", data=builders.form(session, source="open311"))

    assert response.status_code == 422
    assert response.json()["code"] == "source_invalide"
    assert session.scalar(select(func.count()).select_from(Report).where(Report.source == "open311")) == 0


def test_the_database_refuses_an_open311_report_without_its_client(session, settings):
    import sqlalchemy.exc

    stored = builders.make_report(session, settings)
    stored.source = states.Source.OPEN311
    with pytest.raises(sqlalchemy.exc.IntegrityError), session.begin_nested():
        session.flush()
