"""JPEGs decoded at M/8 by libjpeg-turbo (3/8, 5/8, 6/8): the same guarantees as Pillow's path.

With a 1,000 px display, a 1,680 px JPEG decodes at 5/8 (1,050 px; 1/2 would give 840, under
27/32 of it), as an 8-megapixel phone photo (3,264 px) does for the 2,048 px display.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from gusp import errors
from gusp.photos import decode, jpeg_scaled
from tests import builders_photos as build
from tests.builders_photos import photo_settings, process
from tests.test_photos import ORIENTATIONS, assert_no_metadata, corner, near, opened

SMALL_DISPLAY = {"display_max_px": 1000, "thumbnail_max_px": 200}


def _header(data: bytes, **overrides: object) -> decode.Header:
    return decode.open_header(data, "JPEG", settings=photo_settings(**overrides), field="photos")


@pytest.mark.parametrize(
    ("size", "eighths", "decoded"),
    [
        ((3264, 2448), 5, (2040, 1530)),  # jolla.jpg's size, for the 2,048 px display: no resample at all
        ((2720, 2040), 6, (2040, 1530)),
        ((6000, 4000), 3, (2250, 1500)),  # 24 MP: 1/2 would leave 3,000 px to resample
        ((2592, 1944), 6, (1944, 1458)),  # 5 MP: 1,944 px is 94.9 % of 2,048, with no resample
        ((2400, 1800), 6, (1800, 1350)),
        ((4624, 3472), 3, (1734, 1302)),  # 16 MP: 1/2 would leave 2,312 px to resample
        ((2448, 3264), 5, (1530, 2040)),  # portrait: the long side counts
    ],
)
def test_the_smallest_eighth_that_still_fills_the_display_is_chosen(size, eighths, decoded):
    assert jpeg_scaled.eighths(size, 2048) == eighths
    data = build.make_jpeg(*size, quality=60)

    assert _header(data).scaled_size == decoded


@pytest.mark.parametrize(
    "size", [(4000, 3000), (1960, 1470), (2000, 1500), (8064, 6048), (3840, 2160), (3456, 2592), (2200, 1650)]
)
def test_other_scales_stay_with_pillow(size):
    """1/1, 1/2, 1/4, 1/8: Pillow's draft mode, with libjpeg-turbo's SIMD inverse DCTs (16:9 8 MP: 1/2 gives
    1,920 px; 9 MP 1,728 px); 7/8 (2,200 px: 6/8 would give 1,650) costs more than a whole decode and a resample."""
    assert jpeg_scaled.eighths(size, 2048) in (1, 2, 4, 7, 8)
    assert _header(build.make_jpeg(*size, quality=60)).scaled_size is None


def test_an_8_megapixel_photo_gets_its_display_straight_from_the_decoder():
    result = process(build.make_jpeg(3264, 2448, orientation=6))

    assert (result.display.width, result.display.height) == (1530, 2040)
    assert (result.thumbnail.width, result.thumbnail.height) == (300, 400)


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation_is_applied(orientation):
    red, blue, swapped = ORIENTATIONS[orientation]
    data = build.make_jpeg(1680, 1260, orientation=orientation)
    assert _header(data, **SMALL_DISPLAY).scaled_size == (1050, 788)

    image = opened(process(data, **SMALL_DISPLAY).display)

    assert image.size == ((750, 1000) if swapped else (1000, 750))
    assert near(corner(image, red), build.RED)
    assert near(corner(image, blue), build.BLUE)


def test_metadata_is_dropped_and_the_colour_profile_applied():
    source = build.make_jpeg(image=Image.new("RGB", (1680, 1260), build.BLUE), icc_profile=build.swapped_primaries_icc())
    result = process(source, **SMALL_DISPLAY)

    assert near(opened(result.display).getpixel((500, 400)), build.RED, 30)
    assert_no_metadata(result.display)
    assert_no_metadata(result.thumbnail)


@pytest.mark.parametrize(
    ("image", "colour"),
    [(Image.new("L", (1680, 1260), 200), (200, 200, 200)), (Image.new("RGB", (1680, 1260), (30, 140, 60)), (30, 140, 60))],
    ids=["grey", "colour"],
)
def test_grey_and_progressive_jpegs(image, colour):
    for params in ({}, {"progressive": True}):
        data = build.encode(image, "JPEG", quality=90, **params)
        assert _header(data, **SMALL_DISPLAY).scaled_size == (1050, 788)
        assert near(opened(process(data, **SMALL_DISPLAY).display).getpixel((500, 400)), colour, 4)


def test_cmyk_jpegs_are_left_to_pillow():
    data = build.make_jpeg(image=Image.new("CMYK", (1680, 1260), (0, 255, 255, 0)))
    assert _header(data, **SMALL_DISPLAY).scaled_size is None

    assert near(opened(process(data, **SMALL_DISPLAY).display).getpixel((500, 400)), (255, 0, 0), 6)


def _damaged() -> bytes:
    data = bytearray(build.encode(build.noisy_image(1680, 1260), "JPEG", quality=90))
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [build.make_jpeg(1680, 1260)[:-2], _damaged()],
    ids=["cut before its end", "zeroed scan data"],
)
def test_damaged_jpegs_are_unreadable_never_patched(data):
    with pytest.raises(errors.Unprocessable) as refused:
        process(data, **SMALL_DISPLAY)

    assert refused.value.code == "photo_illisible"


def test_the_decode_really_is_scaled():
    """Not a full decode resampled afterwards: the pixels come out of libjpeg-turbo at 5/8."""
    header = _header(build.make_jpeg(1680, 1260), **SMALL_DISPLAY)
    pixels, orientation, icc = decode.decode(header, field="photos")

    assert (pixels.mode, pixels.size) == ("RGBX", (1050, 788))  # the decoder's own buffer, not a copy
    assert orientation == 1 and icc is None
    assert isinstance(pixels, Image.Image) and pixels.readonly  # every later step makes a new image


@pytest.mark.filterwarnings("ignore:.*:UserWarning")
def test_mangled_jpegs_give_a_photo_or_a_domain_error_never_a_crash():
    source = build.make_jpeg(1680, 1260, quality=80)
    rnd = random.Random("scaled")
    refused = 0
    for _ in range(40):
        data = bytearray(source)
        if rnd.random() < 0.3:
            data = data[: rnd.randrange(1, len(data))]
        for _ in range(rnd.randrange(1, 6)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        try:
            result = process(bytes(data), **SMALL_DISPLAY)
        except (errors.UnsupportedMediaType, errors.Unprocessable):
            refused += 1
        else:
            assert max(result.display.width, result.display.height) <= 1000
    assert refused > 0


def test_an_upright_display_straight_from_the_decoder_is_stored_as_plain_rgb():
    """No resample, no transposition: the decoder's RGBX buffer itself is encoded, as three channels."""
    result = process(build.make_jpeg(3264, 2448))

    image = opened(result.display)
    assert (image.mode, image.size) == ("RGB", (2040, 1530))
    assert near(corner(image, "tl"), build.RED) and near(corner(image, "tr"), build.BLUE)
    assert opened(result.thumbnail).mode == "RGB"
    assert_no_metadata(result.display)


def test_a_face_in_a_display_straight_from_the_decoder_is_blurred():
    """The read-only RGBX buffer goes through detection and the blur like any decoded image."""
    canvas = Image.new("RGB", (3264, 2448), (120, 130, 140))
    face = Image.open(Path(__file__).parent / "data" / "faces" / "astronaut.jpg").convert("RGB")
    canvas.paste(face.resize((face.width * 2, face.height * 2)), (800, 600))
    result = process(build.encode(canvas, "JPEG", quality=90))

    assert (result.display.width, result.display.height) == (2040, 1530)
    assert result.regions and result.original is not None
    assert opened(result.display).mode == "RGB"
    region = result.regions[0]
    box = (region.x, region.y, region.x + region.w, region.y + region.h)
    assert opened(result.display).crop(box).tobytes() != opened(result.original).crop(box).tobytes()
