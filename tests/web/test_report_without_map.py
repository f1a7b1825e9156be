"""The reporting page when the map library does not load (a bad network drops leaflet.js, or the
install never ran `npm ci`): categories, a place by GPS or by quartier and words, and sending all work."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import select

from gusp import db
from gusp.models import Quartier, Report
from tests.web import photos_web


def _phone_without_map(pages, live_server):
    lat, lon = photos_web.point_in(live_server.settings)
    context = pages.context(phone=True, permissions=["geolocation"],
                            geolocation={"latitude": lat, "longitude": lon, "accuracy": 15})
    blocked = []

    def block(route):
        blocked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"/vendor/(v-[0-9a-f]+/)?leaflet/"), block)  # fingerprinted or not
    page = context.new_page()
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    assert any(url.endswith("/leaflet.js") for url in blocked), blocked
    return page


def _report(settings, description_part: str) -> Report:
    with db.command_session(settings.database_url) as session:
        [report] = session.scalars(select(Report).where(Report.description.contains(description_part)))
        report.quartier_code = session.get(Quartier, report.quartier_id).code if report.quartier_id else None
        return report


def test_report_by_quartier_and_words_when_the_map_script_is_blocked(pages, live_server):
    page = _phone_without_map(pages, live_server)
    expect(page.locator(".category-tile")).not_to_have_count(0)
    expect(page.locator("#report-map")).to_be_hidden()
    expect(page.get_by_role("button", name="Placer le repère au centre de la carte")).to_be_hidden()
    expect(page.locator("#location-status")).to_have_text("Utilisez votre position, ou choisissez le quartier et décrivez le lieu.")
    pages.check_accessibility(page, "1-sans-carte")
    pages.shoot(page, "1-sans-carte")

    page.get_by_text("Propreté et dépôts sauvages").click()
    description = f"Matelas abandonné ({uuid.uuid4().hex[:8]})"
    page.get_by_label("4. Décrivez le problème").fill(description)
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.locator("[data-field~=location] .field-error")).to_have_text(
        "Indiquez le lieu : utilisez votre position, ou choisissez le quartier.")

    page.get_by_label("Quartier", exact=True).select_option(label="Beisson")
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.locator("[data-field~=location] .field-error")).to_contain_text("Décrivez le lieu")

    page.get_by_label("Lieu précis").fill("devant le bâtiment C")
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.locator("#sent")).to_be_visible()
    expect(page.locator("#sent-quartier")).to_have_text("Beisson")
    pages.check_accessibility(page, "2-envoye")

    report = _report(live_server.settings, description)
    assert report.quartier_code == "QN01314M"
    assert report.description == f"Lieu : devant le bâtiment C (position approximative : quartier Beisson) — {description}"
    assert report.accuracy_m > 50  # the quartier's point, not a precise position


def test_report_by_gps_when_the_map_script_is_blocked(pages, live_server):
    page = _phone_without_map(pages, live_server)
    page.get_by_text("Éclairage public").click()
    page.get_by_role("button", name="Utiliser ma position").click()
    expect(page.locator("#location-status")).to_contain_text("± 15 m")
    expect(page.locator("#location-status")).to_contain_text("Encagnane")
    description = f"Lampadaire clignotant ({uuid.uuid4().hex[:8]})"
    page.get_by_label("4. Décrivez le problème").fill(description)
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.locator("#sent-quartier")).to_have_text("Encagnane")

    report = _report(live_server.settings, description)
    assert report.description == description
    assert report.accuracy_m == 15
