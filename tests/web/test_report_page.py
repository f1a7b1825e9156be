"""The reporting page on a phone: photos, GPS position, errors next to their field, nearby reports,
and a report made offline that is created exactly once when the network returns."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import func, select

from gusp import db
from gusp.models import Report, ReporterContact, ReportPhoto
from tests.web import photos_web


def _reports_described(settings, description: str) -> list[Report]:
    with db.command_session(settings.database_url) as session:
        return list(session.scalars(select(Report).where(Report.description == description)))


def _phone(pages, live_server, *, service_workers: str = "block"):
    lat, lon = photos_web.point_in(live_server.settings)
    return pages.context(phone=True, service_workers=service_workers, permissions=["geolocation"],
                         geolocation={"latitude": lat, "longitude": lon, "accuracy": 12})


def _wait_until(page, condition, timeout_ms: int = 10_000) -> None:
    """Poll a Python condition while Playwright keeps dispatching (route handlers run meanwhile)."""
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("condition not met in time")


def _open_form(page) -> None:
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()


def _fill_report(page, photo: Path, description: str) -> None:
    page.get_by_text("Propreté et dépôts sauvages").click()
    page.locator("#photo-files").set_input_files(str(photo))
    expect(page.locator("#photo-list li")).to_have_count(1)
    page.get_by_role("button", name="Utiliser ma position").click()
    expect(page.locator("#location-status")).to_contain_text("± 12 m")
    page.get_by_label("4. Décrivez le problème").fill(description)


def test_resident_reports_with_photo_and_gps(pages, live_server, tmp_path):
    photo = photos_web.jpeg_file(tmp_path, "depot.jpg")
    page = _phone(pages, live_server).new_page()
    _open_form(page)
    # No tile server here: the perimeters are drawn all the same.
    expect(page.locator("#report-map")).to_have_class(re.compile("no-tiles"))
    expect(page.locator("#report-map .leaflet-overlay-pane path")).not_to_have_count(0)
    expect(page.locator(".category-tile")).not_to_have_count(0)
    pages.check_accessibility(page, "1-formulaire")
    pages.shoot(page, "1-formulaire")

    description = f"Sacs d'ordures au pied du bâtiment B ({uuid.uuid4().hex[:8]})"
    _fill_report(page, photo, description)
    expect(page.locator("#location-status")).to_contain_text("Encagnane")
    page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    page.get_by_label("J'accepte que mes coordonnées").check()
    page.get_by_role("button", name="Envoyer le signalement").click()

    # The API's French message next to the field; nothing typed or chosen is lost.
    email_error = page.locator("[data-field~=contact_email] .field-error")
    expect(email_error).to_have_text("Adresse e-mail invalide.")
    expect(page.get_by_label("Adresse e-mail")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#photo-list li")).to_have_count(1)
    expect(page.get_by_label("4. Décrivez le problème")).to_have_value(description)
    pages.check_accessibility(page, "2-erreur")
    pages.shoot(page, "2-erreur")
    assert _reports_described(live_server.settings, description) == []

    page.get_by_label("Adresse e-mail").fill("habitante@exemple.fr")
    page.get_by_role("button", name="Envoyer le signalement").click()
    sent = page.locator("#sent")
    expect(sent).to_be_visible()
    reference = page.locator("#sent-reference").inner_text()
    assert re.fullmatch(r"GUSP-\d{4}-\d{6}", reference)
    expect(page.locator("#sent-quartier")).to_have_text("Encagnane")
    pages.check_accessibility(page, "3-envoye")
    pages.shoot(page, "3-envoye")

    [report] = _reports_described(live_server.settings, description)
    assert report.reference == reference
    assert report.source == "web"
    assert report.accuracy_m == 12
    with db.command_session(live_server.settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(ReportPhoto).where(ReportPhoto.report_id == report.id)) == 1
        assert session.get(ReporterContact, report.id).email == "habitante@exemple.fr"

    page.get_by_role("link", name=f"Suivre le signalement {reference}").click()
    expect(page.locator("h1")).to_have_text(f"Signalement {reference}")
    expect(page.locator("#status")).to_have_text("Nouveau")
    expect(page.locator("#gallery-before img")).to_have_count(1)
    expect(page.get_by_text("habitante@exemple.fr")).to_have_count(0)
    pages.check_accessibility(page, "4-suivi")
    pages.shoot(page, "4-suivi")


def test_client_checks_keep_the_photos_and_warn_before_sending(pages, live_server, tmp_path):
    page = _phone(pages, live_server).new_page()
    _open_form(page)
    photos = [str(photos_web.jpeg_file(tmp_path, f"p{i}.jpg", size=(320, 240))) for i in range(6)]
    page.locator("#photo-files").set_input_files(photos)
    expect(page.locator("#photos-erreur")).to_contain_text("6 photos : 5 au plus")
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.locator("[data-field~=category] .field-error")).to_have_text("Choisissez la catégorie du problème.")
    expect(page.locator("[data-field~=location] .field-error")).to_contain_text("Indiquez le lieu")
    expect(page.locator("#photo-list li")).to_have_count(6)
    page.get_by_role("button", name=re.compile("Retirer la photo 6")).click()
    expect(page.locator("#photo-list li")).to_have_count(5)
    expect(page.locator("#photos-erreur")).to_be_hidden()
    pages.shoot(page, "verifications")

    # The draft survives a reload (the phone may close the tab): photos included.
    page.get_by_label("4. Décrivez le problème").fill("Brouillon gardé")
    page.wait_for_timeout(500)
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.get_by_label("4. Décrivez le problème")).to_have_value("Brouillon gardé")
    expect(page.locator("#photo-list li")).to_have_count(5)


def test_nearby_report_is_followed_instead_of_duplicated(pages, live_server):
    reference = photos_web.make_report(live_server.settings, category="eclairage", description="Lampadaire éteint")
    page = _phone(pages, live_server).new_page()
    _open_form(page)
    page.get_by_text("Éclairage public").click()
    page.get_by_role("button", name="Utiliser ma position").click()
    nearby = page.locator("#nearby")
    expect(nearby).to_be_visible()
    expect(nearby).to_contain_text(reference)
    pages.check_accessibility(page, "proches")
    pages.shoot(page, "proches")
    nearby.get_by_role("button", name=f"C'est le même problème : suivre {reference}").click()
    expect(page).to_have_url(re.compile(f"/suivi/{reference}$"))
    expect(page.locator("#status")).to_have_text("Nouveau")
    assert len(_reports_described(live_server.settings, "Lampadaire éteint")) == 1


def test_offline_report_is_kept_and_created_once(pages, live_server, tmp_path):
    photo = photos_web.jpeg_file(tmp_path, "hors-ligne.jpg")
    context = _phone(pages, live_server, service_workers="allow")
    page = context.new_page()
    _open_form(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)

    context.set_offline(True)
    page.reload()  # the page itself opens without network, from the service worker
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#network-status")).to_be_visible()
    expect(page.locator(".category-tile")).not_to_have_count(0)

    description = f"Encombrants devant le local vélos ({uuid.uuid4().hex[:8]})"
    _fill_report(page, photo, description)
    page.get_by_role("button", name="Envoyer le signalement").click()
    pending = page.locator("#pending")
    expect(pending).to_be_visible()
    expect(page.locator("#pending-title")).to_have_text("1 signalement en attente d'envoi")
    expect(pending).to_contain_text("En attente du réseau")
    pages.shoot(page, "1-en-attente")
    pages.check_accessibility(page, "1-en-attente")
    assert _reports_described(live_server.settings, description) == []

    # Back online, but the first answer is lost on the way: the server made the report, the phone
    # does not know it and sends it again with the same Idempotency-Key.
    lost = []

    def lose_answer(route):
        route.fetch()
        lost.append(route.request.headers.get("idempotency-key"))
        route.abort("connectionreset")

    page.route("**/api/v1/reports", lose_answer, times=1)
    context.set_offline(False)
    _wait_until(page, lambda: len(lost) == 1)
    expect(page.locator("#pending-title")).to_have_text("1 signalement en attente d'envoi")
    assert len(_reports_described(live_server.settings, description)) == 1

    page.get_by_role("button", name="Réessayer maintenant").click()
    expect(page.locator("#pending-title")).to_have_text("Signalements envoyés")
    [report] = _reports_described(live_server.settings, description)
    expect(pending).to_contain_text(report.reference)
    expect(pending).to_contain_text("Encagnane")
    pages.shoot(page, "2-envoye")

    page.reload()
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    expect(page.locator("#mine-list")).to_contain_text(report.reference)
    assert len(_reports_described(live_server.settings, description)) == 1
    assert lost == [report.idempotency_key]
