"""The maps in Chromium: `/carte` and the `/gestion` map draw reports from the vector tiles; a click
opens the report; the table beside the map counts exactly; without Leaflet the table still works."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import builders
from tests.web import photos_web


def _ready(page) -> None:
    expect(page.locator("body[data-ready=true]")).to_be_attached()


def test_carte_draws_reports_from_tiles_and_a_click_opens_the_report(pages, live_server):
    settings = live_server.settings
    reference = photos_web.make_report(settings, quartier=builders.ENCAGNANE, category="nuisibles", photo=False,
                                       description="Rats dans le local poubelles")
    page = pages.context().new_page()
    tiles: list[str] = []
    page.on("response", lambda r: tiles.append(r.url) if ".mvt" in r.url and r.status == 200 else None)
    pages.sign_in(page, live_server.accounts.coordinator, "/carte")
    expect(page).to_have_url(re.compile(r"/carte"))
    _ready(page)
    expect(page.locator("#group-map .leaflet-marker-icon")).not_to_have_count(0)
    assert tiles and all("/api/v1/tiles/" in url for url in tiles)

    page.get_by_label("Quartier", exact=True).select_option(value=builders.ENCAGNANE)
    page.get_by_label("Catégorie", exact=True).select_option(label="Nuisibles")
    page.get_by_role("button", name="Afficher").click()
    _ready(page)
    expect(page.locator("#counts tbody tr")).to_have_count(1)
    expect(page.locator("#summary")).to_contain_text("1 signalement")
    marker = page.locator(f"#group-map .leaflet-marker-icon[title^='{reference}']")
    expect(marker).to_have_count(1)
    pages.check_accessibility(page, "carte-tuiles")
    marker.click()
    page.get_by_role("link", name=f"Ouvrir {reference}").click()
    expect(page).to_have_url(re.compile(rf"/gestion\?ref={reference}"))
    expect(page.locator("#detail h2")).to_have_text(reference)


def test_gestion_map_opens_the_report_clicked(pages, live_server):
    reference = photos_web.make_report(live_server.settings, quartier=builders.JAS_DE_BOUFFAN, category="ascenseurs",
                                       photo=False, description="Ascenseur en panne depuis lundi")
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/gestion?category=ascenseurs&quartier=" + builders.JAS_DE_BOUFFAN)
    _ready(page)
    marker = page.locator(f"#console-map .leaflet-marker-icon[title^='{reference}']")
    expect(marker).to_have_count(1)
    marker.click()
    expect(page.locator("#detail h2")).to_have_text(reference)


def test_carte_without_leaflet_keeps_the_table(pages, live_server):
    photos_web.make_report(live_server.settings, quartier=builders.ENCAGNANE, photo=False)
    context = pages.context()
    # the page names it under the release fingerprint (gusp.api.assets): /vendor/v-<hash>/leaflet/…
    context.route(re.compile(r".*/vendor/(v-[0-9a-f]+/)?leaflet/dist/leaflet\.js"), lambda route: route.abort())
    page = context.new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/carte")
    _ready(page)
    expect(page.locator("#map-error")).to_contain_text("le tableau par quartier reste à jour")
    expect(page.locator("#counts tbody tr")).not_to_have_count(0)


def test_carte_without_its_tiles_says_so_and_keeps_the_table(pages, live_server):
    photos_web.make_report(live_server.settings, quartier=builders.ENCAGNANE, photo=False)
    context = pages.context()
    context.route(re.compile(r".*/api/v1/tiles/.*"), lambda route: route.abort())  # offline, or a proxy dropping them
    page = context.new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/carte")
    _ready(page)
    expect(page.locator("#map-error")).to_contain_text("le tableau par quartier reste exact")
    expect(page.locator("#counts tbody tr")).not_to_have_count(0)
    expect(page.locator("#group-map .leaflet-overlay-pane path")).not_to_have_count(0)  # the perimeters still
