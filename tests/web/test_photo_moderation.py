"""Per-photo moderation in the browser: a coordinator hides a photo from the console, the resident's
follow page loses it and its public URL answers 404; shown again, it is back. A sensitive
category's follow page shows no photo and no map, just the quartier."""

from __future__ import annotations

import io
import re

from playwright.sync_api import expect
from sqlalchemy import update

from gusp import db, intake, schemas, storage
from gusp.models import Report
from tests import builders
from tests.web import photos_web


def _report_with_two_photos(settings) -> str:
    with db.command_session(settings.database_url) as session:
        data = schemas.ReportCreate.model_validate(builders.form(session, description="Plaque visible sur la photo 2"))
        uploads = [io.BytesIO(builders.jpeg(colour=(20, 120, 220))), io.BytesIO(builders.jpeg(colour=(220, 120, 20)))]
        report, _ = intake.create_report(session=session, settings=settings, storage=storage.from_settings(settings),
                                         data=data, uploads=uploads, idempotency_key=None)
        return report.reference


def _open_detail(page, reference: str):
    page.goto("/gestion")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_label("Recherche").fill(reference)
    page.keyboard.press("Enter")
    expect(page.locator("#rows tr")).to_have_count(1)
    page.locator(f"#rows tr[data-reference='{reference}']").get_by_role("button", name=reference).click()
    detail = page.locator("#detail")
    expect(detail.locator("h2")).to_have_text(reference)
    return detail


def test_coordinator_hides_a_photo_and_the_public_loses_it(pages, live_server):
    settings, accounts = live_server.settings, live_server.accounts
    reference = _report_with_two_photos(settings)

    resident = pages.context().new_page()
    resident.goto(f"/suivi/{reference}")
    expect(resident.locator("#gallery-before img")).to_have_count(2)
    second_url = resident.locator("#gallery-before a").nth(1).get_attribute("href")
    assert resident.request.get(second_url).status == 200

    page = pages.context().new_page()
    pages.sign_in(page, accounts.coordinator, "/gestion")
    detail = _open_detail(page, reference)
    photos = detail.locator(".gallery li")
    expect(photos).to_have_count(2)
    expect(photos.nth(1).locator(".photo-state")).to_have_text("Visible du public")
    photos.nth(1).get_by_role("button", name=re.compile("Masquer au public")).click()
    expect(photos.nth(1).locator(".photo-state")).to_have_text("Masquée au public")
    expect(detail.locator(".staff-timeline")).to_contain_text("Photo masquée au public")
    expect(detail.locator(".gallery img")).to_have_count(2)  # staff still see it
    pages.check_accessibility(page, "photo-masquee")
    pages.shoot(page, "photo-masquee")

    resident.reload()
    expect(resident.locator("#gallery-before img")).to_have_count(1)
    assert resident.request.get(second_url).status == 404
    expect(resident.locator("#timeline")).not_to_contain_text("masquée")

    photos.nth(1).get_by_role("button", name=re.compile("Montrer au public")).click()
    expect(photos.nth(1).locator(".photo-state")).to_have_text("Visible du public")
    resident.reload()
    expect(resident.locator("#gallery-before img")).to_have_count(2)
    assert resident.request.get(second_url).status == 200


def test_a_sensitive_category_shows_only_its_quartier(pages, live_server):
    reference = photos_web.make_report(live_server.settings, category="tranquillite",
                                       description="Occupation du hall, appeler le 06 12 34 56 78")
    page = pages.context().new_page()
    page.goto(f"/suivi/{reference}")
    expect(page.locator("#follow-place")).to_contain_text("lieu exact non publié")
    expect(page.locator("#follow-map")).to_have_count(0)
    expect(page.locator("#photos-before")).to_be_hidden()
    expect(page.locator("#description")).to_have_text("Occupation du hall, appeler le [numéro masqué]")
    pages.check_accessibility(page, "suivi-sensible")

    form = pages.context(phone=True).new_page()  # the reporting form says so before sending
    form.goto("/")
    expect(form.locator(".category-tile")).not_to_have_count(0)
    expect(form.locator("#category-privacy")).to_be_hidden()
    form.get_by_text("Tranquillité publique").click()
    expect(form.locator("#category-privacy")).to_contain_text("vos photos et le lieu exact")
    form.get_by_text("Propreté et dépôts sauvages").click()
    expect(form.locator("#category-privacy")).to_be_hidden()


def test_coordinator_publishes_a_report_awaiting_moderation(pages, live_server):
    settings, accounts = live_server.settings, live_server.accounts
    reference = photos_web.make_report(settings, description="Banc arraché près de l'école")
    with db.command_session(settings.database_url) as session:  # as with GUSP_PUBLIC_MODERATION=before
        session.execute(update(Report).where(Report.reference == reference).values(published=False))

    resident = pages.context().new_page()
    resident.goto(f"/suivi/{reference}")
    expect(resident.locator("#description")).to_have_text("Description en attente de relecture par la Ville.")
    expect(resident.locator("#photos-before")).to_be_hidden()

    page = pages.context().new_page()
    pages.sign_in(page, accounts.coordinator, "/gestion")
    detail = _open_detail(page, reference)
    block = detail.locator("[data-moderation=publish]")
    expect(block).to_contain_text("non publiées")
    pages.check_accessibility(page, "en-attente")
    block.get_by_role("button", name="Publier la description et les photos").click()
    expect(detail.locator("[data-moderation=publish]")).to_have_count(0)
    expect(detail.locator(".staff-timeline")).to_contain_text("Description et photos publiées")

    resident.reload()
    expect(resident.locator("#description")).to_have_text("Banc arraché près de l'école")
    expect(resident.locator("#gallery-before img")).to_have_count(1)


def test_with_prior_moderation_the_resident_is_told_and_the_public_waits(pages, live_server, tmp_path):
    from gusp.api.main import create_app
    from tests.web.conftest import LiveServer, Pages, serve

    settings = live_server.settings.model_copy(update={"public_moderation": "before"})
    photo = photos_web.jpeg_file(tmp_path, "banc.jpg")
    lat, lon = photos_web.point_in(settings)
    with serve(create_app(settings)) as url:
        before = Pages(pages.browser, LiveServer(url, settings, live_server.accounts), pages.artefacts,
                       pages.test_name + "-avant")
        try:
            page = before.context(phone=True, permissions=["geolocation"],
                                  geolocation={"latitude": lat, "longitude": lon, "accuracy": 12}).new_page()
            page.goto("/")
            expect(page.locator("body[data-ready=true]")).to_be_attached()
            page.get_by_text("Propreté et dépôts sauvages").click()
            page.locator("#photo-files").set_input_files(str(photo))
            page.get_by_role("button", name="Utiliser ma position").click()
            expect(page.locator("#location-status")).to_contain_text("± 12 m")
            page.get_by_label("4. Décrivez le problème").fill("Banc cassé, appeler le 06 12 34 56 78")
            page.get_by_role("button", name="Envoyer le signalement").click()
            expect(page.locator("#sent-moderation")).to_be_visible()
            reference = page.locator("#sent-reference").text_content()
            assert reference and reference.startswith("GUSP-")
            before.check_accessibility(page, "envoye-avant-relecture")
            page.goto(f"/suivi/{reference}")
            expect(page.locator("#description")).to_have_text("Description en attente de relecture par la Ville.")
            expect(page.locator("#photos-before")).to_be_hidden()
        finally:
            before.close()
        assert not before.errors, before.errors
