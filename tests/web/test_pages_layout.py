"""How the staff and follow pages hold up on a phone and on a common laptop screen (1366 × 768)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from gusp import db, triage
from gusp.models import Partner, Report
from tests.web import photos_web
from tests.web.conftest import PASSWORD

PHONE_HEIGHT = 844


def _signed_in(pages, role: str, *, phone: bool = False, **options):
    context = pages.context(phone=phone, **options)
    email = getattr(pages.server.accounts, role)
    assert context.request.post("/api/v1/auth/login", data={"email": email, "password": PASSWORD}).ok
    return context.new_page()


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(selector) => { const box = document.querySelector(selector).getBoundingClientRect();
                          return box.top >= 0 && box.bottom <= window.innerHeight; }""", selector)


def test_opening_a_report_on_a_phone_keeps_its_reference_and_summary_in_view(pages, live_server):
    reference = photos_web.make_report(live_server.settings, description="Porte de hall cassée")
    page = _signed_in(pages, "coordinator", phone=True)
    page.goto(f"/gestion?q={reference}")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.locator(f"#rows button[data-reference='{reference}']").click()
    expect(page.locator("#detail-titre")).to_have_text(reference)
    page.wait_for_timeout(300)  # any scrolling done
    assert page.evaluate("document.querySelector('#detail').getBoundingClientRect().height") > PHONE_HEIGHT
    assert _in_view(page, "#detail-titre")
    assert _in_view(page, "#detail .facts")
    pages.shoot(page, "detail-telephone")


def test_the_triage_list_shows_partner_and_dates_at_1366_pixels(pages, live_server):
    settings = live_server.settings
    photos_web.make_report(settings, description="Éclairage du parking éteint", category="eclairage")
    # The widest line there is: a long status, a partner, a deadline passed.
    reference = photos_web.make_report(settings, description="Encombrants dans la cage d'escalier")
    with db.command_session(settings.database_url) as session:
        report = session.query(Report).filter_by(reference=reference).one()
        triage.assign(session=session, settings=settings, report=report,
                      partner=session.get(Partner, live_server.accounts.partner_id), actor=None)
        triage.change_status(session=session, settings=settings, report=report, to="en_cours", actor=None)
        report.due_at = report.created_at - timedelta(days=1)
    page = _signed_in(pages, "coordinator", viewport={"width": 1366, "height": 768})
    page.goto("/gestion")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator(f"#rows tr[data-reference='{reference}']")).to_contain_text("En retard")
    wrap = page.locator(".table-wrap").first.bounding_box()
    for title in ("Partenaire", "Signalé le", "Échéance"):
        cell = page.get_by_role("columnheader", name=title).bounding_box()
        assert cell["x"] + cell["width"] <= wrap["x"] + wrap["width"] + 1, title
    widths = page.evaluate("(() => { const w = document.querySelector('.table-wrap'); return [w.scrollWidth, w.clientWidth]; })()")
    assert widths[0] <= widths[1] + 2, widths  # sub-pixel rounding of a table at 100 %
    pages.shoot(page, "liste-1366")


def test_statistics_for_an_operational_group_with_its_user_box(pages, live_server):
    page = _signed_in(pages, "group")
    refused = []
    page.on("response", lambda r: r.status >= 400 and refused.append(f"{r.status} {r.url}"))
    page.goto("/carte")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_role("link", name="Statistiques").click()
    expect(page).to_have_url(re.compile("/statistiques$"))
    expect(page.locator("#user-name")).to_contain_text("Gaëlle Groupe")
    expect(page.locator("#status")).to_have_text("Statistiques à jour.")
    expect(page.locator("#partner-field")).to_be_hidden()
    assert refused == []
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile("/connexion$"))


def test_on_a_phone_the_map_comes_before_the_filters(pages, live_server):
    page = _signed_in(pages, "group", phone=True)
    page.goto("/carte")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#map-filters")).to_be_hidden()
    assert page.locator("#group-map").bounding_box()["y"] < PHONE_HEIGHT
    page.get_by_text("Filtres", exact=True).click()
    expect(page.get_by_label("Période")).to_be_visible()


def test_the_follow_page_says_who_handles_the_report_and_by_when(pages, live_server):
    settings = live_server.settings
    reference = photos_web.make_report(settings, description="Ascenseur en panne")
    page = pages.context(phone=True).new_page()
    page.goto(f"/suivi/{reference}")
    expect(page.locator("#handled-by")).to_contain_text("pas encore confié")
    expect(page.locator("#expected-by")).to_be_hidden()

    with db.command_session(settings.database_url) as session:
        report = session.query(Report).filter_by(reference=reference).one()
        partner = session.get(Partner, live_server.accounts.partner_id)
        triage.assign(session=session, settings=settings, report=report, partner=partner, actor=None,
                      note="Ne pas montrer au public")
        due = report.due_at
    page.reload()
    expect(page.locator("#handled-by")).to_have_text(live_server.accounts.partner_name)
    expect(page.locator("#expected-by")).to_have_text(due.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y"))
    expect(page.get_by_text("Ne pas montrer au public")).to_have_count(0)
    pages.check_accessibility(page, "suivi-partenaire")

