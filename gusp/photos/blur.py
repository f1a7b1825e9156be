"""Blurring regions of a photo for good: faces found at intake and rectangles a coordinator draws.

A mosaic can be undone (its blocks keep the average colours that depixelisers feed on), and a
light Gaussian blur can be partly deconvolved. Each region is therefore shrunk to a handful of
pixels (whatever was in it is gone: at most 6 samples across a face), enlarged back and blurred
again so that it reads as a smooth smear rather than as blocks. Faces get an ellipse grown by a
margin (hair, ears, the detector's loose edges); drawn rectangles are filled as drawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

FACE, MANUAL = "visage", "manuel"  # who asked for a region: the detector at intake, or a coordinator
FACE_MARGIN = 0.3  # each side of a detected face grows by this share of its size
SAMPLES = 6  # pixels left across a region's shorter side before it is enlarged back


@dataclass(frozen=True)
class Region:
    """Pixels of the display image: left, top, width, height; `ellipse` for faces, else a rectangle."""

    x: int
    y: int
    w: int
    h: int
    ellipse: bool = False


def as_json(regions: Iterable[Region], *, source: str) -> list[dict[str, object]]:
    """Regions as stored on a photo row (blur_regions)."""
    return [{"x": r.x, "y": r.y, "w": r.w, "h": r.h, "ellipse": r.ellipse, "source": source} for r in regions]


def from_json(items: Iterable[dict]) -> list[Region]:
    return [Region(int(i["x"]), int(i["y"]), int(i["w"]), int(i["h"]), bool(i.get("ellipse"))) for i in items]


def face_region(x: int, y: int, w: int, h: int) -> Region:
    """A detected face's blur region: the box grown by FACE_MARGIN on each side, drawn as an ellipse."""
    dx, dy = round(w * FACE_MARGIN), round(h * FACE_MARGIN)
    return Region(x - dx, y - dy, w + 2 * dx, h + 2 * dy, ellipse=True)


def scaled(regions: Iterable[Region], factor: float) -> list[Region]:
    """The regions on an image `factor` times the size (the thumbnail is made from the blurred display)."""
    return [Region(round(r.x * factor), round(r.y * factor), max(1, round(r.w * factor)),
                   max(1, round(r.h * factor)), r.ellipse) for r in regions]


def apply(image: Image.Image, regions: Iterable[Region]) -> Image.Image:
    """A copy of an RGB image with every region blurred beyond recovery (the image itself if none)."""
    out = None
    for region in regions:
        box = _clip(region, image.size)
        if box is None:
            continue
        out = out or image.copy()
        left, top, right, bottom = box
        patch = out.crop(box)
        w, h = patch.size
        step = max(1, min(w, h) // SAMPLES)
        smear = patch.resize((max(1, w // step), max(1, h // step)), Image.Resampling.BOX)
        smear = smear.resize((w, h), Image.Resampling.BILINEAR)
        smear = smear.filter(ImageFilter.GaussianBlur(max(2, min(w, h) / 8)))
        mask = None
        if region.ellipse:  # feathered on its outer tenth, which is margin: the face itself is fully covered
            mask = Image.new("L", (w, h), 0)
            ImageDraw.Draw(mask).ellipse(
                (region.x - left, region.y - top, region.x + region.w - left - 1, region.y + region.h - top - 1),
                fill=255)
            mask = mask.filter(ImageFilter.GaussianBlur(max(1, min(region.w, region.h) / 24)))
        out.paste(smear, (left, top), mask)
    return out or image


def _clip(region: Region, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    left, top = max(0, region.x), max(0, region.y)
    right, bottom = min(size[0], region.x + region.w), min(size[1], region.y + region.h)
    return (left, top, right, bottom) if right > left and bottom > top else None
