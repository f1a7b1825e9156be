"""Faces in real photos are blurred in every public rendition; the original keeps them; failures refuse.

The photos are real (tests/data/faces, SOURCES.md) and their faces were boxed by hand
(labels.json): the checks measure the pixels inside those boxes, they don't trust the detector's
own answer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageStat

from gusp import errors
from gusp.photos import blur, faces
from tests import builders_photos

DATA = Path(__file__).parent / "data" / "faces"
LABELS = json.loads((DATA / "labels.json").read_text())["photos"]


def real_photo(name: str, *, long_side: int | None = None) -> tuple[bytes, float]:
    """A labelled photo as a JPEG, resized if asked, and the factor applied."""
    image = Image.open(DATA / name).convert("RGB")
    factor = long_side / max(image.size) if long_side else 1.0
    image = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue(), factor


def box_detail(data: bytes, box: list[int], factor: float) -> float:
    """Standard deviation of the luminance's edges over the face: the ellipse of the central 80 % of its box
    (the box's corners and rim are hair, ears and background)."""
    image = Image.open(io.BytesIO(data)).convert("L")
    x0, y0, x1, y1 = (round(v * factor) for v in box)
    edges = image.filter(ImageFilter.FIND_EDGES).crop((x0, y0, x1, y1))
    mask = Image.new("L", edges.size, 0)
    dx, dy = edges.width // 10, edges.height // 10
    ImageDraw.Draw(mask).ellipse((dx, dy, edges.width - 1 - dx, edges.height - 1 - dy), fill=255)
    return ImageStat.Stat(edges, mask).stddev[0]


@pytest.mark.parametrize("name", ["astronaut.jpg", "basketball1.jpg", "camera.jpg"])
def test_every_labelled_face_is_smeared_in_the_display_and_the_thumbnail(name):
    data, factor = real_photo(name)
    processed = builders_photos.process(data)

    display_factor = processed.display.width / Image.open(io.BytesIO(data)).width
    thumb_factor = processed.thumbnail.width / Image.open(io.BytesIO(data)).width
    for face in LABELS[name]["faces"]:
        before = box_detail(data, face["box"], factor)
        shown = box_detail(processed.display.data, face["box"], factor * display_factor)
        kept = box_detail(processed.original.data, face["box"], factor * display_factor)
        thumb_before = box_detail(_resized(data, processed.thumbnail.width), face["box"], factor * thumb_factor)
        thumb = box_detail(processed.thumbnail.data, face["box"], factor * thumb_factor)
        assert shown < before * 0.4, (name, face, before, shown)
        assert thumb < thumb_before * 0.5, (name, face, thumb_before, thumb)
        assert kept > before * 0.6, "the staff original keeps the face"
    assert processed.original.key not in (processed.display.key, processed.thumbnail.key)


def test_a_photo_without_a_face_is_left_sharp_and_keeps_no_second_copy():
    data, _ = real_photo("building.jpg")
    processed = builders_photos.process(data)

    assert processed.regions == () and processed.original is None
    whole = [0, 0, *Image.open(DATA / "building.jpg").size]
    factor = processed.display.width / Image.open(DATA / "building.jpg").width
    assert box_detail(processed.display.data, whole, factor) > 5


def test_the_blur_cannot_be_read_back_as_blocks():
    """A mosaic keeps a grid of flat blocks; the smear leaves no pixel equal to its right-hand neighbour's
    on most rows of the region."""
    image = Image.open(DATA / "astronaut.jpg").convert("RGB")
    region = blur.face_region(168, 60, 94, 108)
    smeared = blur.apply(image, [region]).crop((190, 80, 240, 150)).convert("L")
    pixels = smeared.load()
    equal = sum(pixels[x, y] == pixels[x + 1, y] for y in range(smeared.height) for x in range(smeared.width - 1))
    assert equal / (smeared.height * (smeared.width - 1)) < 0.6
    assert ImageStat.Stat(smeared).stddev[0] < 12  # and it holds no detail


@pytest.mark.parametrize("size", [(1, 1), (4000, 3), (3, 4000), (33, 31)])
def test_extreme_shapes_are_looked_at_without_failing(size):
    processed = builders_photos.process(builders_photos.encode(builders_photos.marked_image(*size), "PNG"))

    assert processed.display.width >= 1 and processed.regions == ()


def test_a_broken_model_refuses_the_photo_rather_than_publish_it_unblurred(tmp_path):
    broken = tmp_path / "centerface.onnx"
    broken.write_bytes((DATA / "astronaut.jpg").read_bytes()[:5000])
    data, _ = real_photo("astronaut.jpg", long_side=800)

    with pytest.raises(errors.ServiceUnavailable) as refused:
        builders_photos.process(data, face_model_file=broken)

    assert refused.value.code == "floutage_indisponible"
    assert "visages" in refused.value.message


def test_a_missing_model_is_unavailable_not_an_empty_answer(tmp_path):
    image = Image.open(DATA / "astronaut.jpg").convert("RGB")

    with pytest.raises(faces.ModelUnavailable):
        faces.detect(image, model=tmp_path / "absent.onnx")
    assert len(faces.detect(image)) == 1


def _resized(data: bytes, width: int) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()
