"""GET requests and GET requests/{id}: fields, statuses, filters, the 90-day rule, paging, extensions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gusp import states, storage, triage
from tests import builders, builders_routing
from tests.open311 import builders_open311 as o311

pytestmark = pytest.mark.clock  # dates and hours: run again at 23:30 UTC, 31 December, DST (tests/clock.py)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


def days_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)


def made(session, settings, *, days: float = 0, **overrides):
    report = builders.make_report(session, settings, **overrides)
    if days:
        report.created_at = report.updated_at = days_ago(days)
        session.flush()
    return report


def coordinator(session):
    return builders.staff(session, "coordinateur")[0]


def test_a_request_in_json_has_the_spec_fields_and_public_values(client, session, settings):
    report = made(session, settings, photos=[builders.jpeg()], quartier=builders.JAS_DE_BOUFFAN)

    response = client.get(f"/open311/v2/requests/{report.reference}.json")

    assert response.status_code == 200
    [body] = response.json()
    assert list(body) == o311.REQUEST_FIELDS
    assert body["service_request_id"] == report.reference
    assert (body["status"], body["service_code"], body["service_name"]) == (
        "open", "proprete", "Propreté et dépôts sauvages")
    assert body["description"] == report.description
    assert body["address"] is None  # not the quartier, not a client's free text: lat and long are the place
    lat, lon = builders.point_in(session, builders.JAS_DE_BOUFFAN)
    assert body["lat"] == pytest.approx(lat) and body["long"] == pytest.approx(lon)
    assert body["requested_datetime"] == report.created_at.astimezone(ZoneInfo("Europe/Paris")).isoformat(
        timespec="seconds")
    assert body["requested_datetime"][-6:] in ("+01:00", "+02:00")
    assert body["media_url"] == f"/media/{report.photos[0].display_key}"  # relative without GUSP_PUBLIC_URL
    assert client.get(body["media_url"]).status_code == 200
    assert body["agency_responsible"] is None and body["status_notes"] is None


def test_a_request_in_xml(client, session, settings):
    report = made(session, settings)

    root = o311.xml(client.get(f"/open311/v2/requests/{report.reference}.xml"))

    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [c.tag for c in request] == o311.REQUEST_FIELDS
    assert request.findtext("service_request_id") == report.reference
    assert request.findtext("status") == "open"
    assert request.find("media_url").text is None


def test_media_urls_use_the_public_url_when_set(client, session, settings, app):
    app.state.settings = settings.model_copy(update={"public_url": "https://signalements.aix.example/"})
    report = made(session, settings, photos=[builders.jpeg()])

    [body] = client.get(f"/open311/v2/requests/{report.reference}.json").json()
    assert body["media_url"].startswith("https://signalements.aix.example/media/")


def test_the_address_string_of_a_client_never_shows(client, session, settings, api_key):
    form = o311.fields(session, api_key, address_string="Chez Mme Roux, 4 allée des Pins")
    reference = o311.post(client, form).json()[0]["service_request_id"]

    [body] = client.get(f"/open311/v2/requests/{reference}.json").json()
    assert body["address"] is None and "Roux" not in str(body)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_request_is_a_404(client, fmt):
    response = client.get(f"/open311/v2/requests/GUSP-2020-999999.{fmt}")

    assert response.status_code == 404
    errors = o311.json_errors(response) if fmt == "json" else o311.xml_errors(response)
    assert [d for _, d in errors] == ["Aucune demande ne porte l'identifiant « GUSP-2020-999999 »."]


def test_the_workflow_shows_as_open_closed_notes_and_the_agency(client, session, settings):
    report = made(session, settings)
    partner = builders_routing.make_partner(session, "Métropole Aix-Marseille")
    actor = coordinator(session)
    url = f"/open311/v2/requests/{report.reference}.json"

    triage.assign(session=session, settings=settings, report=report, partner=partner, actor=actor,
                  note="Note interne : voir avec le gardien M. Martin")
    [body] = client.get(url).json()
    assert (body["status"], body["agency_responsible"]) == ("open", "Métropole Aix-Marseille")
    assert body["expected_datetime"] is not None
    assert body["status_notes"] is None  # an internal note never shows

    triage.comment(session=session, report=report, actor=actor, note="Passage prévu jeudi.", public=True)
    triage.comment(session=session, report=report, actor=actor, note="Le gardien est absent.", public=False)
    assert client.get(url).json()[0]["status_notes"] == "Passage prévu jeudi."

    triage.resolve(session=session, settings=settings, storage=storage.from_settings(settings), report=report,
                   actor=actor, note="Dépôt enlevé.")
    [body] = client.get(url).json()
    assert (body["status"], body["status_notes"]) == ("closed", "Dépôt enlevé.")
    assert body["expected_datetime"] is None


def test_a_partner_only_proposed_by_routing_is_not_named(client, session, settings):
    partner = builders_routing.make_partner(session)
    builders_routing.make_rule(session, "proprete", partner)
    report = made(session, settings)
    assert report.partner_id == partner.id

    assert client.get(f"/open311/v2/requests/{report.reference}.json").json()[0]["agency_responsible"] is None


EXTENDED = [
    ([], "open"),
    ([(states.ReportStatus.PRIS_EN_COMPTE, None)], "action_scheduled"),
    ([(states.ReportStatus.PRIS_EN_COMPTE, None), (states.ReportStatus.EN_COURS, None)], "in_progress"),
    ([(states.ReportStatus.RESOLU, None)], "fixed"),
    ([(states.ReportStatus.RESOLU, None), (states.ReportStatus.CLOS, None)], "closed"),
    ([(states.ReportStatus.REJETE, states.RejectionReason.DOUBLON)], "duplicate"),
    ([(states.ReportStatus.REJETE, states.RejectionReason.HORS_COMPETENCE)], "not_councils_responsibility"),
    ([(states.ReportStatus.REJETE, states.RejectionReason.NON_FONDE)], "no_further_action"),
]


@pytest.mark.parametrize(("steps", "extended"), EXTENDED)
def test_extended_statuses_when_asked(client, session, settings, steps, extended):
    report = made(session, settings)
    for status, reason in steps:
        triage.change_status(session=session, settings=settings, report=report, to=status, actor=None, reason=reason)
    basic = "open" if states.ReportStatus(report.status) in states.OPEN else "closed"

    assert client.get(f"/open311/v2/requests/{report.reference}.json").json()[0]["status"] == basic
    [body] = client.get(f"/open311/v2/requests/{report.reference}.json?extensions=true").json()
    assert body["status"] == extended
    listed = client.get(f"/open311/v2/requests.xml?extensions=true&service_request_id={report.reference}")
    assert o311.xml(listed).find("request").findtext("status") == extended


def test_the_list_is_the_last_90_days_newest_first(client, session, settings):
    old = made(session, settings, days=120)
    recent = made(session, settings, days=10)
    today = made(session, settings)

    assert ids(client.get("/open311/v2/requests.json")) == [today.reference, recent.reference]
    assert old.reference not in ids(client.get("/open311/v2/requests.json"))


def test_the_list_in_xml(client, session, settings):
    a, b = made(session, settings), made(session, settings)
    root = o311.xml(client.get("/open311/v2/requests.xml"))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [b.reference, a.reference]


def test_filters_by_service_code_status_and_dates(client, session, settings):
    litter = made(session, settings, days=5)
    lamp = made(session, settings, days=5, category="eclairage")
    tags = made(session, settings, days=40, category="tags_affichage")
    triage.change_status(session=session, settings=settings, report=lamp, to=states.ReportStatus.RESOLU, actor=None)

    assert set(ids(client.get("/open311/v2/requests.json?service_code=proprete,eclairage"))) == {
        litter.reference, lamp.reference}
    assert set(ids(client.get("/open311/v2/requests.json?service_code=proprete&service_code=tags_affichage"))) == {
        litter.reference, tags.reference}
    assert ids(client.get("/open311/v2/requests.json?status=closed")) == [lamp.reference]
    assert set(ids(client.get("/open311/v2/requests.json?status=open"))) == {litter.reference, tags.reference}
    assert len(ids(client.get("/open311/v2/requests.json?status=open,closed"))) == 3

    start = days_ago(50).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = days_ago(20).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(client.get(f"/open311/v2/requests.json?start_date={start}&end_date={end}")) == [tags.reference]
    assert ids(client.get(f"/open311/v2/requests.json?end_date={end}")) == [tags.reference]  # 90 days before it
    since = days_ago(6).astimezone().isoformat(timespec="seconds")
    assert set(ids(client.get("/open311/v2/requests.json", params={"start_date": since}))) == {
        litter.reference, lamp.reference}


def test_empty_arguments_are_absent_ones(client, session, settings):
    report = made(session, settings)
    assert ids(client.get("/open311/v2/requests.json?service_code=&status=&start_date=&end_date=&page=")) == [
        report.reference]


def test_an_unencoded_plus_in_a_zone_offset_is_understood(client, session, settings):
    report = made(session, settings)
    start = days_ago(1).astimezone().strftime("%Y-%m-%dT%H:%M:%S+01:00").replace("+", " ")
    assert report.reference in ids(client.get(f"/open311/v2/requests.json?start_date={start}"))


def test_a_bare_date_is_midnight(client, session, settings):
    report = made(session, settings)
    today = datetime.now(UTC).date()
    response = client.get(f"/open311/v2/requests.json?start_date={today - timedelta(days=2)}")
    assert report.reference in ids(response)


def test_service_request_id_overrides_every_other_argument(client, session, settings):
    old = made(session, settings, days=400)
    recent = made(session, settings, category="eclairage")

    response = client.get(f"/open311/v2/requests.json?service_request_id={old.reference},{recent.reference.lower()}"
                          "&status=closed&service_code=voirie&start_date=2000-01-01T00:00:00Z")
    assert set(ids(response)) == {old.reference, recent.reference}
    assert ids(client.get("/open311/v2/requests.json?service_request_id=GUSP-1999-000001")) == []


def test_paging(client, session, settings):
    made_ = [made(session, settings) for _ in range(5)]
    newest_first = [r.reference for r in reversed(made_)]

    assert ids(client.get("/open311/v2/requests.json?page_size=2")) == newest_first[:2]
    assert ids(client.get("/open311/v2/requests.json?page_size=2&page=2")) == newest_first[2:4]
    assert ids(client.get("/open311/v2/requests.json?page_size=2&page=3")) == newest_first[4:]
    assert ids(client.get("/open311/v2/requests.json?page_size=2&page=4")) == []


BAD_QUERIES = {
    "status=pending": "Statut inconnu : pending ; valeurs possibles : open, closed.",
    "service_code=piscine": "Code de service inconnu : piscine.",
    "start_date=hier": "start_date : date invalide « hier » ; format attendu W3C, par exemple 2026-01-31T08:00:00Z.",
    "end_date=2026-01-01T10:00:00": (
        "end_date : date invalide « 2026-01-01T10:00:00 » ; format attendu W3C, par exemple 2026-01-31T08:00:00Z."),
    "start_date=2026-02-30": (
        "start_date : date invalide « 2026-02-30 » ; format attendu W3C, par exemple 2026-01-31T08:00:00Z."),
    "start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z": (
        "La période de start_date à end_date ne peut dépasser 90 jours : découpez la recherche."),
    "start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z": "end_date précède start_date : inversez-les.",
    "page=0": "page doit être un entier supérieur ou égal à 1.",
    "page_size=1001": "page_size doit être un entier entre 1 et 1000.",
    "page_size=dix": "page_size doit être un entier entre 1 et 1000.",
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("arguments", list(BAD_QUERIES))
def test_bad_arguments_are_400(client, fmt, arguments):
    response = client.get(f"/open311/v2/requests.{fmt}?{arguments}")

    assert response.status_code == 400
    errors = o311.json_errors(response) if fmt == "json" else o311.xml_errors(response)
    assert [d for _, d in errors] == [BAD_QUERIES[arguments]]


def test_exactly_90_days_is_allowed(client):
    response = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-04-01T00:00:00Z")
    assert response.status_code == 200
