"""What the photo pipeline refuses: other types, unreadable files, bombs, oversized files."""

from __future__ import annotations

import io
import random
import tempfile
import warnings

import pytest
from PIL import ImageFile

from gusp import errors, photos
from tests import builders_photos as build
from tests.builders_photos import photo_settings, process

REFUSED_TYPES = {
    "empty": b"",
    "text": "Bonjour, voici ma photo.".encode(),
    "html": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    "gif": build.encode(build.marked_image(32, 32), "GIF"),
    "gif/js polyglot": b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;alert(document.cookie);//;",
    "bmp": build.encode(build.marked_image(32, 32), "BMP"),
    "tiff": build.encode(build.marked_image(32, 32), "TIFF"),
    "avif": build.encode(build.marked_image(32, 32), "AVIF"),
    "zip": build.zip_payload(),
}


@pytest.mark.parametrize("data", REFUSED_TYPES.values(), ids=REFUSED_TYPES.keys())
def test_other_types_are_refused_from_their_bytes(data):
    with pytest.raises(errors.UnsupportedMediaType) as refused:
        photos.process(io.BytesIO(data), settings=photo_settings(), field="photos[2]")

    assert refused.value.code == "type_photo_non_supporte"
    assert refused.value.status == 415
    assert refused.value.field == "photos[2]"
    assert "JPEG, PNG, WebP ou HEIC" in refused.value.message


def _png() -> bytes:
    return build.encode(build.marked_image(64, 48), "PNG")


UNREADABLE = {
    "truncated jpeg": build.make_jpeg(400, 300)[: len(build.make_jpeg(400, 300)) * 6 // 10],
    # no 0xFF in the garbage: no marker, so no end of image either
    "jpeg header, garbage body": build.jpeg_header(build.make_jpeg(64, 48))
    + bytes(b if b != 0xFF else 0xFE for b in random.Random(1).randbytes(4000)),
    "jpeg magic only": b"\xff\xd8\xff",
    "jpeg cut just before its end": build.make_jpeg(64, 48)[:-2],
    # a whole small JPEG inside a segment, as EXIF thumbnails are: its end is not the image's end
    "jpeg cut, with a jpeg in a segment": build.make_jpeg(64, 48, comment=build.make_jpeg(16, 16))[:-2],
    "truncated png": _png()[: len(_png()) // 2],
    "png header, garbage body": _png()[:33] + random.Random(2).randbytes(2000),
    "html/png polyglot": b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
    "truncated webp": build.encode(build.marked_image(64, 48), "WEBP")[:60],
    "webp header, garbage body": b"RIFF\x00\x10\x00\x00WEBPVP8 " + random.Random(3).randbytes(4000),
    "truncated heic": build.make_heic(64, 48)[:400],
    "heic header, garbage body": build.make_heic(64, 48)[:28] + random.Random(4).randbytes(2000),
}


@pytest.mark.parametrize("data", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_truncated_or_corrupt_files_are_unreadable(data):
    with pytest.raises(errors.Unprocessable) as refused:
        process(data)

    assert refused.value.code == "photo_illisible"
    assert refused.value.message == "Cette photo est illisible ou incomplète."


def test_truncated_images_are_never_padded():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_the_pipeline_refuses_to_run_if_truncated_images_are_allowed(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        process(build.make_jpeg(64, 48))


BOMBS = {
    "png 100000² (beyond Pillow's own limit)": build.png_header_only(100_000, 100_000),
    "png 8000² (64 Mpx, beyond ours only)": build.png_header_only(8_000, 8_000),
    "jpeg claiming 60000²": build.with_jpeg_dimensions(build.make_jpeg(64, 48), 60_000, 60_000),
    "jpeg claiming 9000²": build.with_jpeg_dimensions(build.make_jpeg(64, 48), 9_000, 9_000),
}


@pytest.mark.parametrize("data", BOMBS.values(), ids=BOMBS.keys())
def test_decompression_bombs_are_refused_from_their_header(data):
    """These files hold almost no pixel data: decoding them would say "illisible", not "trop grande"."""
    with pytest.raises(errors.Unprocessable) as refused:
        process(data)

    assert refused.value.code == "photo_trop_grande"
    assert refused.value.message == "Cette image est trop grande pour être traitée."


def test_pillow_bomb_warning_turned_into_an_error_is_still_a_domain_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.Unprocessable) as refused:
            process(build.png_header_only(10_000, 10_000), max_image_pixels=200_000_000)

    assert refused.value.code == "photo_trop_grande"


def test_the_pixel_limit_comes_from_the_settings():
    data = build.encode(build.marked_image(100, 100), "PNG")

    assert process(data, max_image_pixels=10_000).display.width == 100
    with pytest.raises(errors.Unprocessable, match="photo_trop_grande"):
        process(data, max_image_pixels=9_999)


def test_the_byte_limit_is_inclusive_and_reading_stops_just_past_it():
    data = build.make_jpeg(200, 150)
    assert process(data, max_photo_bytes=len(data)).display.width == 200

    with tempfile.SpooledTemporaryFile(max_size=1024) as upload:
        upload.write(data * 3)
        upload.seek(0)
        with pytest.raises(errors.PayloadTooLarge) as refused:
            photos.process(upload, settings=photo_settings(max_photo_bytes=len(data) - 1))
        assert upload.tell() == len(data)  # limit + 1 bytes read, not the whole file

    assert refused.value.code == "photo_trop_lourde"
    assert refused.value.status == 413
    assert refused.value.details["max_bytes"] == len(data) - 1


@pytest.mark.parametrize(
    ("limit", "figure"), [(15 * 1024 * 1024, "15 Mo"), (1536 * 1024, "1,5 Mo"), (500 * 1024, "500 Ko")]
)
def test_the_size_message_states_the_configured_limit(limit, figure):
    with pytest.raises(errors.PayloadTooLarge) as refused:
        process(b"\xff\xd8\xff" + bytes(limit), max_photo_bytes=limit)

    assert refused.value.message == f"Cette photo dépasse la taille maximale de {figure}."


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avif", None),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", None),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42", None),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
    ],
)
def test_sniff_tells_heic_from_avif_and_video(head, expected):
    assert photos.sniff(head) == expected


@pytest.mark.filterwarnings("ignore:.*:UserWarning")  # Pillow warns about the EXIF it skips
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_mangled_files_give_a_photo_or_a_domain_error_never_a_crash(fmt):
    """Seeded fuzzing: truncations and overwritten bytes must never escape as a 500."""
    if fmt == "HEIF":
        source = build.make_heic(48, 32)
    elif fmt == "JPEG":
        source = build.make_jpeg(48, 32)
    else:
        source = build.encode(build.marked_image(48, 32), fmt)
    rnd = random.Random(fmt)
    refused = 0
    for _ in range(60):
        data = bytearray(source)
        if rnd.random() < 0.4:
            data = data[: rnd.randrange(1, len(data))]
        for _ in range(rnd.randrange(1, 6)):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        try:
            result = process(bytes(data))
        except (errors.UnsupportedMediaType, errors.Unprocessable):
            refused += 1
        else:
            assert build.jpeg_markers(result.display.data)[-1] == 0xDA
    assert refused > 0
