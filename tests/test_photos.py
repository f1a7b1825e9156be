"""The photo pipeline: what is accepted and what is stored (refusals: test_photos_refused.py)."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, ImageCms

from gusp import photos
from gusp.photos import decode
from tests import builders_photos as build
from tests.builders_photos import photo_settings, process

MARKERS_ALLOWED = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA}  # SOI, JFIF, quantisation/Huffman tables, frame, scan
LEAKS = [
    b"Exif",
    b"GPS",
    b"http://ns.adobe.com/xap",
    b"ICC_PROFILE",
    b"Photoshop 3.0",
    build.COMMENT,
    build.IPTC_CAPTION,
    b"GuspPhone",
    b"serial 0042",
]


def opened(rendition: photos.Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (rendition.width, rendition.height)
    return image


def corner(image: Image.Image, where: str) -> tuple[int, int, int]:
    """The colour in the middle of a corner's marker block (an eighth of the size in from the edges)."""
    x = image.width // 8 if where[1] == "l" else image.width - 1 - image.width // 8
    y = image.height // 8 if where[0] == "t" else image.height - 1 - image.height // 8
    return image.getpixel((x, y))


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def assert_no_metadata(rendition: photos.Rendition) -> None:
    image = opened(rendition)
    assert len(image.getexif()) == 0
    assert not {"exif", "xmp", "icc_profile", "comment", "photoshop", "adobe"} & image.info.keys()
    assert set(build.jpeg_markers(rendition.data)) <= MARKERS_ALLOWED  # no APP1-APP15, no COM
    assert rendition.data.count(b"\xff\xd8") == 1  # no embedded thumbnail JPEG
    for leak in LEAKS:
        assert leak not in rendition.data, leak


# --- what is stored


def test_phone_jpeg_is_stored_upright_and_without_any_metadata():
    source = build.make_jpeg(640, 480, orientation=6)
    for leak in set(LEAKS) - {b"ICC_PROFILE"}:
        assert leak in source, leak  # the input really carries what must disappear

    result = process(source)

    assert result.source_format == "JPEG"
    assert (result.display.width, result.display.height) == (480, 640)
    assert (result.thumbnail.width, result.thumbnail.height) == (300, 400)
    for rendition in (result.display, result.thumbnail):
        image = opened(rendition)
        # rotated 90° clockwise: stored top-left (red) is shown top-right, top-right (blue) bottom-right
        assert near(corner(image, "tr"), build.RED)
        assert near(corner(image, "br"), build.BLUE)
        assert near(corner(image, "tl"), build.GREY) and near(corner(image, "bl"), build.GREY)
        assert_no_metadata(rendition)


# orientation -> (corner of the red marker, corner of the blue marker, width and height swapped)
ORIENTATIONS = {
    1: ("tl", "tr", False),
    2: ("tr", "tl", False),
    3: ("br", "bl", False),
    4: ("bl", "br", False),
    5: ("tl", "bl", True),
    6: ("tr", "br", True),
    7: ("br", "tr", True),
    8: ("bl", "tl", True),
}


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation_is_applied(orientation):
    red, blue, swapped = ORIENTATIONS[orientation]
    result = process(build.make_jpeg(320, 200, orientation=orientation))

    image = opened(result.display)
    assert image.size == ((200, 320) if swapped else (320, 200))
    assert near(corner(image, red), build.RED)
    assert near(corner(image, blue), build.BLUE)


@pytest.mark.parametrize(
    ("size", "display", "thumbnail"),
    [
        ((2200, 1400), (2048, 1303), (400, 254)),  # 6/8 would give 1650 px < 1728: decoded whole, resampled
        ((1400, 2200), (1303, 2048), (254, 400)),  # portrait: the long side counts
        ((3000, 2000), (1875, 1250), (400, 267)),  # 5/8: 1875 px >= 1728 (resize.MIN_FILL), no resample
        ((1200, 3000), (750, 1875), (160, 400)),
        ((1000, 800), (1000, 800), (400, 320)),
        ((300, 200), (300, 200), (300, 200)),  # never upscaled
    ],
)
def test_sizes_are_capped_and_never_upscaled(size, display, thumbnail):
    result = process(build.make_jpeg(*size))

    assert (result.display.width, result.display.height) == display
    assert (result.thumbnail.width, result.thumbnail.height) == thumbnail
    assert opened(result.display).size == display


@pytest.mark.parametrize(
    ("data", "display"),
    [
        (build.make_jpeg(1960, 1470), (980, 735)),  # JPEG decoded at 1/2 by libjpeg
        (build.encode(build.marked_image(1960, 1470), "PNG"), (980, 735)),  # 2×2 block average
        (build.make_jpeg(1800, 1350), (900, 675)),  # 1/2: 900 px >= 27/32 of 1000
        (build.make_jpeg(1100, 825), (1000, 750)),  # 6/8 would give 825 < 27/32: decoded whole, resampled
    ],
)
def test_a_cheap_integer_shrink_is_taken_when_it_keeps_27_32_of_the_display_size(data, display):
    """resize.MIN_FILL: a 1000 px display may be 844-1000 px (1728 of 2048) when that avoids a full decode or resample."""
    result = process(data, display_max_px=1000, thumbnail_max_px=200)

    assert (result.display.width, result.display.height) == display
    assert max(result.thumbnail.width, result.thumbnail.height) == 200
    image = opened(result.display)
    assert near(corner(image, "tl"), build.RED) and near(corner(image, "tr"), build.BLUE)


def test_a_large_jpeg_is_decoded_at_a_reduced_size_by_libjpeg():
    """Draft mode: the 1960×1470 JPEG is never in memory at full size, unlike a PNG of the same size."""
    settings = photo_settings(display_max_px=1000)
    jpeg, _, _ = decode.load(build.make_jpeg(1960, 1470), "JPEG", settings=settings, field="photos")
    png, _, _ = decode.load(build.encode(build.marked_image(1960, 1470), "PNG"), "PNG", settings=settings, field="photos")

    assert jpeg.size == (980, 735)
    assert png.size == (1960, 1470)


def test_renditions_are_named_by_the_sha256_of_their_bytes_and_reproducible():
    source = build.make_jpeg(900, 600)
    first, second = process(source), process(source)

    for rendition in (first.display, first.thumbnail):
        assert rendition.key == hashlib.sha256(rendition.data).hexdigest() + ".jpg"
        assert rendition.content_type == "image/jpeg"
    assert first.display.key != first.thumbnail.key
    assert (first.display.key, first.thumbnail.key) == (second.display.key, second.thumbnail.key)


@pytest.mark.parametrize("payload", [build.zip_payload(), build.PHP_PAYLOAD, b"\x00\x00\x00\x18ftypmp42motion-photo-video"])
def test_bytes_appended_after_the_jpeg_end_are_accepted_and_dropped(payload):
    """Motion photos append a video after EOI, attackers a ZIP or PHP: re-encoding keeps neither."""
    source = build.make_jpeg(500, 400) + payload
    result = process(source)

    for rendition in (result.display, result.thumbnail):
        assert payload not in rendition.data
        for fragment in (b"PK\x03\x04", b"shell.php", b"<?php", b"ftypmp42"):
            assert fragment not in rendition.data
        assert rendition.data.endswith(b"\xff\xd9")


JPEG_VARIANTS = {
    "progressive": build.encode(build.marked_image(320, 240), "JPEG", progressive=True),
    "restart markers": build.encode(build.marked_image(320, 240), "JPEG", restart_marker_blocks=1),
    "4:4:4": build.encode(build.marked_image(320, 240), "JPEG", subsampling=0, quality=95),
    "a whole jpeg in a segment": build.make_jpeg(320, 240, comment=build.make_jpeg(16, 16)),
}


@pytest.mark.parametrize("data", JPEG_VARIANTS.values(), ids=JPEG_VARIANTS.keys())
def test_jpeg_variants_phones_and_editors_write_are_accepted(data):
    image = opened(process(data).display)

    assert image.size == (320, 240)
    assert near(corner(image, "tl"), build.RED) and near(corner(image, "tr"), build.BLUE)


# --- other formats and colour modes


def test_png_alpha_is_composited_on_white():
    image = Image.new("RGBA", (200, 100), (255, 0, 0, 0))  # transparent red: must not show
    image.paste((0, 0, 200, 255), (100, 0, 200, 100))
    result = process(build.encode(image, "PNG"))

    assert result.source_format == "PNG"
    stored = opened(result.display)
    assert near(stored.getpixel((25, 50)), (255, 255, 255), 3)
    assert near(stored.getpixel((175, 50)), (0, 0, 200), 8)
    assert_no_metadata(result.display)


def _halves(mode: str, left: object, right: object, **params: object) -> bytes:
    """A 64×64 PNG whose left and right halves have the given values in that mode."""
    image = Image.new(mode, (64, 64), left)
    image.paste(right, (32, 0, 64, 64))
    return build.encode(image, "PNG", **params)


def _palette_with_transparency() -> bytes:
    image = Image.new("P", (64, 64), 0)
    image.putpalette([255, 0, 0, 0, 128, 0])
    image.paste(1, (32, 0, 64, 64))
    return build.encode(image, "PNG", transparency=0)


@pytest.mark.parametrize(
    ("data", "left", "right"),
    [
        (_palette_with_transparency(), (255, 255, 255), (0, 128, 0)),
        (_halves("LA", (0, 0), (0, 255)), (255, 255, 255), (0, 0, 0)),
        (_halves("RGB", (0, 0, 0), (0, 0, 255), transparency=(0, 0, 0)), (255, 255, 255), (0, 0, 255)),
        (_halves("I;16", 32768, 65535), (128, 128, 128), (255, 255, 255)),
        (_halves("1", 0, 1), (0, 0, 0), (255, 255, 255)),
        (_halves("L", 60, 180), (60, 60, 60), (180, 180, 180)),
        (build.make_jpeg(image=Image.new("CMYK", (64, 64), (0, 255, 255, 0))), (255, 0, 0), (255, 0, 0)),
        (build.make_jpeg(image=Image.new("L", (64, 64), 200)), (200, 200, 200), (200, 200, 200)),
    ],
    ids=["P+tRNS", "LA", "RGB+tRNS", "I;16", "1 bit", "L", "CMYK JPEG", "grey JPEG"],
)
def test_every_colour_mode_becomes_rgb(data, left, right):
    stored = opened(process(data).display)

    assert near(stored.getpixel((8, 32)), left, 6)
    assert near(stored.getpixel((56, 32)), right, 6)


def test_webp_is_accepted_and_its_exif_orientation_applied():
    source = build.encode(build.marked_image(320, 240), "WEBP", quality=90, exif=build.phone_exif(orientation=6))
    result = process(source)

    assert result.source_format == "WEBP"
    image = opened(result.display)
    assert image.size == (240, 320)
    assert near(corner(image, "tr"), build.RED) and near(corner(image, "br"), build.BLUE)
    assert_no_metadata(result.display)
    assert_no_metadata(result.thumbnail)


def test_iphone_heic_is_accepted_rotated_and_stripped():
    source = build.make_heic(320, 240, orientation=6)
    assert source[4:12] == b"ftypheic" and b"Exif" in source

    result = process(source)

    assert result.source_format == "HEIF"
    image = opened(result.display)
    assert image.size == (240, 320)
    assert near(corner(image, "tr"), build.RED) and near(corner(image, "br"), build.BLUE)
    assert_no_metadata(result.display)
    assert_no_metadata(result.thumbnail)


def test_an_embedded_colour_profile_is_applied_then_dropped():
    """Pixels tagged with a red/blue-swapped profile are shown red where they say blue."""
    source = build.make_jpeg(image=Image.new("RGB", (64, 64), build.BLUE), icc_profile=build.swapped_primaries_icc())
    result = process(source)

    assert near(opened(result.display).getpixel((32, 32)), build.RED, 30)
    assert_no_metadata(result.display)


@pytest.mark.parametrize(
    "profile",
    [ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), b"not an ICC profile at all"],
    ids=["sRGB", "garbage"],
)
def test_srgb_or_unusable_profiles_are_dropped_without_changing_colours(profile):
    source = build.make_jpeg(image=Image.new("RGB", (64, 64), build.BLUE), icc_profile=profile)
    stored = opened(process(source).display)

    assert near(stored.getpixel((32, 32)), build.BLUE, 12)
    assert "icc_profile" not in stored.info
