"""A coordinator blurs a zone of a photo in the triage console: drawn with the pointer, or typed."""

from __future__ import annotations

import io

import httpx
from playwright.sync_api import expect
from sqlalchemy import select

from gusp import db, intake, schemas, storage
from gusp.models import Report
from tests import builders
from tests.test_photos_faces import box_detail, real_photo

PATCH = [140, 340, 210, 420]  # the mission patch on the astronaut's suit: sharp, no face
PLATE = [40, 40, 120, 90]


def _filed(settings) -> str:
    with db.command_session(settings.database_url) as session:
        data = schemas.ReportCreate.model_validate(builders.form(session, description="Photo avec un visage"))
        report, _ = intake.create_report(session=session, settings=settings, storage=storage.from_settings(settings),
                                         data=data, uploads=[io.BytesIO(real_photo("astronaut.jpg")[0])],
                                         idempotency_key=None)
        return report.reference


def _display(settings, live_server, reference: str) -> bytes:
    with db.command_session(settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        key = report.photos[0].display_key
    return httpx.get(f"{live_server.url}/media/{key}").content


def test_coordinator_draws_then_types_a_rectangle_to_blur(pages, live_server):
    settings = live_server.settings
    reference = _filed(settings)
    sharp = box_detail(_display(settings, live_server, reference), PATCH, 1.0)

    page = pages.context().new_page()
    pages.sign_in(page, live_server.accounts.coordinator, "/gestion")
    page.get_by_label("Recherche").fill(reference)
    page.keyboard.press("Enter")
    page.locator(f"#rows tr[data-reference='{reference}']").get_by_role("button", name=reference).click()
    editor = page.locator(".blur-editor").first
    expect(editor.locator(".blur-region--visage")).to_have_count(1)  # the face found at intake, outlined
    expect(editor.get_by_role("link", name="Voir l'original non flouté")).to_be_visible()

    # With the pointer: drag over the patch; the fields follow.
    stage = editor.locator(".blur-stage img")
    stage.scroll_into_view_if_needed()
    box = stage.bounding_box()
    scale = box["width"] / 512
    page.mouse.move(box["x"] + PATCH[0] * scale, box["y"] + PATCH[1] * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 180 * scale, box["y"] + 380 * scale, steps=4)
    page.mouse.move(box["x"] + PATCH[2] * scale, box["y"] + PATCH[3] * scale, steps=4)
    page.mouse.up()
    x = int(editor.get_by_label("À partir de la gauche (x)").input_value())
    assert abs(x - PATCH[0]) <= 3 and abs(int(editor.get_by_label("Hauteur").input_value()) - 80) <= 3
    pages.shoot(page, "1-rectangle-trace")
    editor.get_by_role("button", name="Flouter ce rectangle").click()
    detail = page.locator("#detail")
    expect(detail.locator(".blur-editor").first.locator(".blur-region--manuel")).to_have_count(1)
    expect(detail.locator(".staff-timeline")).to_contain_text("Zone floutée")
    assert box_detail(_display(settings, live_server, reference), PATCH, 1.0) < sharp * 0.3

    # From the keyboard: the four fields, then Enter; a rectangle off the photo is refused next to the form.
    editor = detail.locator(".blur-editor").first
    editor.get_by_label("À partir de la gauche (x)").fill("600")
    editor.get_by_label("À partir du haut (y)").fill("10")
    editor.get_by_label("Largeur").fill("50")
    editor.get_by_label("Hauteur").fill("50")
    editor.get_by_label("Hauteur").press("Enter")
    expect(editor.locator(".error-summary")).to_contain_text("sort de la photo")
    for label, value in zip(("À partir de la gauche (x)", "À partir du haut (y)", "Largeur", "Hauteur"),
                            (PLATE[0], PLATE[1], PLATE[2] - PLATE[0], PLATE[3] - PLATE[1]), strict=True):
        editor.get_by_label(label).fill(str(value))
    editor.get_by_label("Hauteur").press("Enter")
    expect(detail.locator(".blur-editor").first.locator(".blur-region--manuel")).to_have_count(2)
    pages.check_accessibility(page, "2-flou-enregistre")
    pages.shoot(page, "2-flou-enregistre")
