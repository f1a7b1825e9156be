"""The statistics dashboard in the browser, on reports of 2018-2019 that no other web test touches:
every month of the range has its line (with a zero when this year has none), so the « Un an plus
tôt » column adds up to its total; categories seen only a year ago are listed; a quartier without
perimeter shows « — » with its note."""

from __future__ import annotations

from playwright.sync_api import expect

from gusp import db
from tests.builders_stats import at, report


def _seed(settings) -> None:
    with db.command_session(settings.database_url) as session:
        # 2019: 3 in January, 1 in March (none in February). 2018: 2 in January, 4 in February (one « voirie »).
        for day in (3, 10, 20):
            report(session, settings, created=at(2019, 1, day))
        report(session, settings, created=at(2019, 3, 31, 23, 30))  # still March in Paris, though 21:30 UTC
        for day in (4, 5):
            report(session, settings, created=at(2018, 1, day))
        for day in (1, 2, 3):
            report(session, settings, created=at(2018, 2, day))
        report(session, settings, created=at(2018, 2, 4), category="voirie")


def _cells(page, section: str) -> list[list[str]]:
    return page.locator(f"#{section} table tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent.replace(/[\\u00a0\\u202f]/g, ' ').trim()))")


def test_every_month_is_listed_and_last_year_adds_up(pages, live_server):
    _seed(live_server.settings)
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/statistiques")
    page.goto("/statistiques")
    expect(page.locator("#status")).to_have_text("Statistiques à jour.")
    page.locator("#f-from").fill("2019-01-01")
    page.locator("#f-to").fill("2019-03-31")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator("#volumes table tbody tr")).to_have_count(3)
    expect(page.locator("#status")).to_have_text("Statistiques à jour.")

    volumes = _cells(page, "volumes")
    assert [row[:3] for row in volumes[1:]] == [
        ["janv. 2019", "3", "2"], ["févr. 2019", "0", "4"], ["mars 2019", "1", "0"], ["Total", "4", "6"]]
    categories = _cells(page, "categories")
    assert ["Voirie et trottoirs", "0", "0 %", "1"] in categories
    assert categories[-1] == ["Total", "4", "100 %", "6"]
    rates = {row[0]: row for row in _cells(page, "rates")[1:]}
    assert rates["Pinette*"][1:] == ["1 903", "0", "—", "—"]
    assert rates["Encagnane"][3] == "0,9"  # 4 000 ÷ 4 642 = 0,86
    expect(page.locator("#rates .notes")).to_contain_text("* Périmètre non chargé")
    pages.check_accessibility(page, "statistiques")


def test_a_pack_is_issued_once_then_listed_and_downloaded(pages, live_server):
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/dossiers")
    page.goto("/dossiers")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_label("Couverture").select_option(label="Encagnane")
    page.locator("#p-from").fill("2019-01-01")
    page.locator("#p-to").fill("2019-03-31")
    page.get_by_role("button", name="Éditer le dossier").click()
    link = page.locator("#status a")
    expect(link).to_have_text("télécharger le PDF")
    url = link.get_attribute("href")
    row = page.locator("#packs tbody tr").first
    expect(row).to_contain_text("Encagnane")
    expect(row).to_contain_text("du 01/01/2019 au 31/03/2019")
    download = page.request.get(url)
    assert download.status == 200 and download.headers["content-type"] == "application/pdf"
    assert download.body().startswith(b"%PDF")
    pages.check_accessibility(page, "dossiers")


def test_each_dashboard_table_downloads_as_csv_with_the_filters(pages, live_server):
    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/statistiques")
    page.goto("/statistiques")
    expect(page.locator("#status")).to_have_text("Statistiques à jour.")
    page.locator("#f-from").fill("2019-01-01")
    page.locator("#f-to").fill("2019-03-31")
    page.get_by_role("button", name="Afficher").click()
    expect(page.locator("#status")).to_have_text("Statistiques à jour.")
    link = page.locator("a[data-table=periodes]")
    expect(link).to_have_attribute("href", "/api/v1/exports/tables/periodes.csv?date_from=2019-01-01&date_to=2019-03-31")
    answer = page.request.get(link.get_attribute("href"))
    assert answer.status == 200 and answer.body().decode("utf-8-sig").startswith("Mois;Reçus;Un an plus tôt")
