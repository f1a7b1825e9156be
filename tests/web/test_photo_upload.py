"""Issue 11, point 6: photos leave the phone downscaled (≤ 2,048 px, upright) and the upload shows its progress."""

from __future__ import annotations

import email.parser
import email.policy
import io
import re
import uuid
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from gusp import db
from gusp.models import Report, ReportPhoto
from tests import builders_photos
from tests.web import photos_web

UPLINK_BYTES_PER_S = 96 * 1024  # a poor mobile uplink (750 kbps), so that the upload takes a while


def _phone_photo(folder: Path) -> Path:
    """A 12-megapixel photo held in portrait: stored 4000×3000 with EXIF orientation 6, as phones do."""
    image = builders_photos.noisy_image(4000, 3000)
    path = folder / "IMG_4000x3000.jpg"
    image.save(path, "JPEG", quality=92, exif=builders_photos.phone_exif(orientation=6))
    return path


def _sent_photos(body: bytes, content_type: str) -> list[bytes]:
    """The `photos` parts of a multipart body, as the server received them."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return [part.get_payload(decode=True) for part in message.iter_parts()
            if part.get_param("name", header="content-disposition") == "photos"]


def _draft_photo_sizes(page) -> list[int]:
    """The sizes of the photos kept in the phone's draft (IndexedDB), once it is written."""
    return page.evaluate("""async () => {
        const store = await import("/static/js/store.js");
        for (let i = 0; i < 100; i += 1) {
            const draft = await store.read(store.DRAFT, "photos");
            if (draft?.photos?.length) return draft.photos.map((photo) => photo.blob.size);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return [];
    }""")


def test_a_large_photo_is_sent_downscaled_and_upright_with_the_upload_progress_shown(pages, live_server, tmp_path):
    photo = _phone_photo(tmp_path)
    lat, lon = photos_web.point_in(live_server.settings)
    context = pages.context(phone=True, permissions=["geolocation"],
                            geolocation={"latitude": lat, "longitude": lon, "accuracy": 12})
    page = context.new_page()
    posted = []

    def capture(route):
        posted.append((route.request.post_data_buffer, route.request.headers["content-type"]))
        route.continue_()

    page.route("**/api/v1/reports", capture)
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()

    description = f"Épave de scooter ({uuid.uuid4().hex[:8]})"
    page.get_by_text("Propreté et dépôts sauvages").click()
    page.locator("#photo-files").set_input_files(str(photo))
    expect(page.locator("#photo-list li")).to_have_count(1)
    page.get_by_role("button", name="Utiliser ma position").click()
    expect(page.locator("#location-status")).to_contain_text("± 12 m")
    page.get_by_label("4. Décrivez le problème").fill(description)
    [kept] = _draft_photo_sizes(page)  # downscaled once, when chosen: the draft keeps those bytes

    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": UPLINK_BYTES_PER_S})
    page.get_by_role("button", name="Envoyer le signalement").click()

    progress = page.locator("#send-progress")
    expect(progress).to_be_visible()
    expect(page.locator("form#report-form [type=submit]")).to_have_text(re.compile(r"Envoi en cours… \d+ %"))
    assert 0 <= float(progress.get_attribute("value")) <= 100
    expect(progress).to_have_attribute("aria-valuetext", re.compile(r"\d+ % envoyés \(.+ sur .+\)"))
    pages.shoot(page, "1-envoi-en-cours")
    expect(page.locator("#sent")).to_be_visible(timeout=60_000)
    expect(progress).to_be_hidden()
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    # What left the phone: one JPEG of 2,048 px on its long side, upright (portrait), much lighter.
    [(body, content_type)] = posted
    [sent] = _sent_photos(body, content_type)
    received = Image.open(io.BytesIO(sent))
    assert (received.format, received.size) == ("JPEG", (1536, 2048))
    assert len(sent) == kept
    assert len(sent) < photo.stat().st_size / 2
    # The server kept it at that size: from the original it would have made a 1,500×2,000 display.
    with db.command_session(live_server.settings.database_url) as session:
        report = session.scalars(select(Report).where(Report.description == description)).one()
        stored = session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id)).one()
        assert (stored.width, stored.height) == (1536, 2048)


def test_a_photo_the_browser_cannot_decode_is_sent_as_it_is(pages, live_server, tmp_path):
    """HEIC from iPhones: Chromium cannot decode it, the server can."""
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(builders_photos.make_heic(2600, 1950))
    page = pages.context(phone=True).new_page()
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()

    page.locator("#photo-files").set_input_files(str(heic))
    expect(page.locator("#photo-list li")).to_have_count(1)
    assert _draft_photo_sizes(page) == [heic.stat().st_size]


def test_a_refused_photo_is_named_by_its_number_and_file_name(pages, live_server, tmp_path):
    good = photos_web.jpeg_file(tmp_path, "bonne.jpg", size=(640, 480))
    broken = tmp_path / "abimee.jpg"
    broken.write_bytes(good.read_bytes()[:2000])  # cut short: neither the browser nor the server can read it
    lat, lon = photos_web.point_in(live_server.settings)
    page = pages.context(phone=True, permissions=["geolocation"],
                         geolocation={"latitude": lat, "longitude": lon, "accuracy": 10}).new_page()
    page.goto("/")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    page.get_by_text("Propreté et dépôts sauvages").click()
    page.locator("#photo-files").set_input_files([str(good), str(broken)])
    expect(page.locator("#photo-list li")).to_have_count(2)
    page.get_by_role("button", name="Utiliser ma position").click()
    expect(page.locator("#location-status")).to_contain_text("± 10 m")
    page.get_by_role("button", name="Envoyer le signalement").click()

    message = page.locator("[data-field~=photos] .field-error")
    expect(message).to_contain_text("Photo 2 (« abimee.jpg ») : ")
    expect(page.locator(".error-summary")).to_contain_text("abimee.jpg")
    expect(page.locator("#photo-list li")).to_have_count(2)
