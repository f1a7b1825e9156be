"""GET services, GET services/{code}, discovery, and the errors common to every endpoint, in both formats."""

from __future__ import annotations

from datetime import datetime

import pytest

from gusp.models import Category
from gusp.open311 import services
from tests.open311 import builders_open311 as o311

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]


def test_services_in_json_are_the_active_categories(client):
    response = client.get("/open311/v2/services.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert [s["service_code"] for s in body][:3] == ["proprete", "encombrants", "tags_affichage"]
    first = body[0]
    assert list(first) == SERVICE_FIELDS
    assert first["service_name"] == "Propreté et dépôts sauvages"
    assert (first["metadata"], first["type"]) == (True, "realtime")
    assert (first["group"], first["keywords"]) == ("Propreté", "déchets, ordures, dépôt sauvage, poubelle, conteneur")
    groups = {s["service_code"]: s["group"] for s in body}
    assert groups["eclairage"] == groups["voirie"] == "Espace public"
    assert groups["ascenseurs"] == "Logement et parties communes"
    assert all(groups.values())  # every service is in a family


def test_services_in_xml_follow_the_spec_elements(client):
    root = o311.xml(client.get("/open311/v2/services.xml"))

    assert root.tag == "services"
    service = root.findall("service")[0]
    assert [child.tag for child in service] == SERVICE_FIELDS
    assert service.findtext("service_code") == "proprete"
    assert service.findtext("metadata") == "true"
    assert service.findtext("type") == "realtime"
    assert service.findtext("group") == "Propreté"
    assert service.findtext("keywords") == "déchets, ordures, dépôt sauvage, poubelle, conteneur"
    last = root.findall("service")[-1]
    assert (last.findtext("service_code"), last.findtext("group")) == ("autre", "Vivre ensemble")
    assert last.find("keywords").text is None  # no keyword: an empty element


def test_the_jurisdiction_id_is_accepted_and_ignored(client):
    plain = client.get("/open311/v2/services.json").json()
    assert client.get("/open311/v2/services.json?jurisdiction_id=aixenprovence.fr").json() == plain


def test_service_definition_in_json(client):
    response = client.get("/open311/v2/services/eclairage.json")

    assert response.status_code == 200
    body = response.json()
    assert body["service_code"] == "eclairage"
    codes = [a["code"] for a in body["attributes"]]
    assert codes == [services.CONSENT, services.ACCURACY]
    consent = body["attributes"][0]
    assert list(consent) == ["variable", "code", "datatype", "required", "datatype_description", "order",
                             "description", "values"]
    assert consent["datatype"] == "singlevaluelist" and consent["required"] is False
    assert consent["values"] == [{"key": "oui", "name": "Oui"}, {"key": "non", "name": "Non"}]


def test_service_definition_in_xml(client):
    root = o311.xml(client.get("/open311/v2/services/eclairage.xml"))

    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "eclairage"
    attributes = root.find("attributes").findall("attribute")
    assert [a.findtext("code") for a in attributes] == [services.CONSENT, services.ACCURACY]
    values = attributes[0].find("values").findall("value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [("oui", "Oui"), ("non", "Non")]
    assert attributes[1].findtext("datatype") == "number"
    assert attributes[1].find("values").findall("value") == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_code_is_a_404(client, fmt):
    response = client.get(f"/open311/v2/services/piscine.{fmt}")

    assert response.status_code == 404
    errors = o311.json_errors(response) if fmt == "json" else o311.xml_errors(response)
    assert errors == [(404 if fmt == "json" else "404",
                       "Aucun service ne porte le code « piscine » : voyez la liste des services.")]


def test_an_inactive_category_is_not_a_service(client, session):
    session.get(Category, "voirie").active = False
    session.flush()
    assert "voirie" not in [s["service_code"] for s in client.get("/open311/v2/services.json").json()]
    assert client.get("/open311/v2/services/voirie.json").status_code == 404


@pytest.mark.parametrize("path", ["/open311/v2/services.csv", "/open311/v2/services/proprete.html",
                                  "/open311/v2/requests.txt", "/open311/v2/tokens/abc.yaml"])
def test_an_unknown_format_is_a_400_in_xml(client, path):
    response = client.get(path)

    assert response.status_code == 400
    [(code, description)] = o311.xml_errors(response)
    assert code == "400" and "terminez l'adresse par .xml ou .json" in description


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_address_is_a_404_in_the_asked_format(client, fmt):
    response = client.get(f"/open311/v2/piscines.{fmt}")

    assert response.status_code == 404
    errors = o311.json_errors(response) if fmt == "json" else o311.xml_errors(response)
    assert [d for _, d in errors] == ["Cette adresse n'existe pas dans l'API Open311."]


def test_an_address_without_format_answers_in_xml(client):
    response = client.get("/open311/v2/services")
    assert response.status_code == 404
    assert o311.xml_errors(response)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_wrong_method_is_a_400(client, fmt):
    response = client.delete(f"/open311/v2/requests.{fmt}")

    assert response.status_code == 400
    errors = o311.json_errors(response) if fmt == "json" else o311.xml_errors(response)
    assert [d for _, d in errors] == ["La méthode DELETE n'est pas permise à cette adresse."]


def test_discovery_in_json_and_xml(client):
    body = client.get("/open311/discovery.json").json()
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "/open311/v2"  # no GUSP_PUBLIC_URL: relative, never the caller's Host
    assert body["changeset"] == endpoint["changeset"] == "2026-12-04T00:00:00+01:00"
    assert datetime.fromisoformat(body["changeset"]).tzinfo is not None  # a W3C date-time with its zone
    assert endpoint["formats"] == ["text/xml", "application/json"]

    root = o311.xml(client.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    formats = root.find("endpoints").find("endpoint").find("formats").findall("format")
    assert [f.text for f in formats] == ["text/xml", "application/json"]


def test_an_unexpected_failure_is_a_400_general_error_never_a_500(client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(services, "service_list", broken)
    response = client.get("/open311/v2/services.json")

    assert response.status_code == 400
    [(code, description)] = o311.json_errors(response)
    assert code == 400 and description.startswith("Erreur générale du service Open311")
