"""The group map (`/carte`): a group sees every perimeter it follows, each of its quartiers has a
line in the table even with no report, and the A4 and A3 prints fit on one sheet with the legend."""

from __future__ import annotations

import io

import pypdf
from playwright.sync_api import expect
from sqlalchemy import select

from gusp import accounts, db
from gusp.models import Quartier
from tests import builders
from tests.web import photos_web
from tests.web.conftest import PASSWORD


def _group_of_two(settings) -> str:
    """A group following Encagnane and Beisson; reports will be made in Encagnane only."""
    with db.command_session(settings.database_url) as session:
        ids = list(session.scalars(select(Quartier.id).where(Quartier.code.in_([builders.ENCAGNANE, "QN01314M"]))))
        accounts.create_user(session=session, email="groupe-deux@gusp.example", full_name="Groupe Deux",
                             password=PASSWORD, role="groupe", quartier_ids=ids)
    return "groupe-deux@gusp.example"


def test_the_group_map_lists_every_followed_quartier_and_prints_on_one_sheet(pages, live_server):
    email = _group_of_two(live_server.settings)
    photos_web.make_report(live_server.settings, quartier=builders.ENCAGNANE, description="Poubelles renversées",
                           category="proprete")
    page = pages.context().new_page()
    pages.sign_in(page, email, "/carte")
    page.goto("/carte")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    rows = page.locator("#counts tbody tr th")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_text("Beisson")
    beisson = page.locator("#counts tbody tr").nth(0).locator("td").evaluate_all("cells => cells.map(c => c.textContent)")
    assert set(beisson) == {"0"}
    expect(page.locator("#counts tfoot th")).to_have_text("Total")
    # Both perimeters are in view, not only the one with a report.
    bounds = page.evaluate("() => { const el = document.querySelector('#group-map .leaflet-overlay-pane svg'); "
                           "return el ? el.getBoundingClientRect().width : 0; }")
    assert bounds > 0
    labels = page.locator(".quartier-label")
    expect(labels.filter(has_text="Beisson")).to_have_count(1)
    expect(labels.filter(has_text="Encagnane")).to_have_count(1)
    pane = page.evaluate("() => getComputedStyle(document.querySelector('.leaflet-quartier-labels-pane')).zIndex")
    assert int(pane) > 600  # names above the markers

    for size, fmt in (("A4", "A4"), ("A3", "A3")):
        page.goto(f"/carte?impression={size}")
        expect(page.locator("body[data-ready=true]")).to_be_attached()
        page.emulate_media(media="print")
        pdf = page.pdf(format=fmt, landscape=True, print_background=True, prefer_css_page_size=True)
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        text = reader.pages[0].extract_text()
        assert len(reader.pages) == 1, (size, len(reader.pages))
        assert "Cercle rouge : en retard" in text, text  # the legend, on the same sheet
        assert "Beisson" in text and "Total" in text, text
        page.emulate_media(media="screen")
