"""Pixels to the stored sizes: modes flattened, cheap integer shrinks first, threaded resamples, sRGB."""

from __future__ import annotations

import io
import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import TypeVar

from PIL import Image, ImageCms

log = logging.getLogger(__name__)

# Shrinking by an integer factor is several times cheaper than a resample: libjpeg's IDCT can
# decode a JPEG at M/8 of its size, and Image.reduce averages k×k blocks. Such a shrink is taken
# when the display it gives still reaches this share of display_max_px, 1,728 of 2,048 px (27/32:
# 90 % of a Full HD screen's width). 5-megapixel photos (2592 px) then give 1944 px displays (6/8),
# 8-megapixel ones 2040 px (5/8), 16:9 8-megapixel ones 1920 px, 9- and 10-megapixel ones 1728 and
# 1824 px, 12-megapixel ones 2000 or 2016 px (1/2), 16-megapixel ones 1734 px (3/8), 48-megapixel ones
# 2016 px (1/4), with no resample at all. A resample to exactly 2048 px costs as much as the decode
# itself: with the bar at 1,920 px, 9- and 10-megapixel photos took 2.5× the CPU (docs/benchmarks.md,
# 2026-12-05), short of the 3× below naive Pillow that issue 11 asks at every size.
MIN_FILL = 27 / 32
# The resample of a display when no block average fits (see shrink): an area-weighted average
# (OpenCV's INTER_AREA), the textbook filter for shrinking, with the fewest taps of Pillow's
# filters: 3264 → 2048 px costs 40 ms instead of 95 ms bicubic (docs/benchmarks.md).
DISPLAY_FILTER = Image.Resampling.BOX
_WHITE = (255, 255, 255)
T = TypeVar("T")
BAND_ROWS = 256  # rows flattened at a time
# Before a resample, a block average leaves at least this multiple of the target: the resample
# then sees enough pixels for its quality, and a huge PNG is flattened into a small copy.
REDUCING_GAP = 1.5
# The thumbnail's (400 px, from the display): the block average may go down to the target itself, the
# Lanczos pass then only evens the last few percent: 6 ms instead of 9 for a 2,000 px display.
THUMBNAIL_REDUCING_GAP = 1.0
# Bands on several threads cost CPU (each band's own intermediate, the paste into the result): worth
# it for the wall time of a large resample (a full decode), not for the few percent left after a
# scaled JPEG decode (9 MP: 2160 -> 2048 px, 15-20 ms more CPU on two threads than on one).
THREADED_RESAMPLE_RATIO = 2


def flatten(image: Image.Image, *, reduce_by: int = 1) -> Image.Image:
    """Bring every decoded mode to L, RGB or CMYK, transparency composited on white, reduced k×k on the way.

    Done before resizing: Pillow resamples P and 1 with nearest neighbour, clips 16-bit grey,
    and resampling after compositing equals compositing after a premultiplied resample. A mode
    that needs converting is converted band by band, each band reduced at once, so a 60-megapixel
    RGBA PNG costs its decoded pixels and a band, not two more full-size copies.
    """
    if not needs_flattening(image):
        return image.reduce(reduce_by) if reduce_by > 1 else image
    width, height = image.size
    rows = reduce_by * max(1, BAND_ROWS // reduce_by)  # a multiple of the factor: blocks never straddle bands
    flat: Image.Image | None = None
    for top in range(0, height, rows):
        band = _flatten(image.crop((0, top, width, min(height, top + rows))))
        if reduce_by > 1:
            band = band.reduce(reduce_by)
        if flat is None:
            flat = Image.new(band.mode, (math.ceil(width / reduce_by), math.ceil(height / reduce_by)))
        flat.paste(band, (0, top // reduce_by))
    assert flat is not None
    return flat


def reduce_factor(size: tuple[int, int], target: int) -> int:
    """The k×k block average to take before anything else: the whole shrink when it lands within MIN_FILL
    of the target, else the part of it that leaves at least REDUCING_GAP times the target to resample."""
    long_side = max(size)
    if long_side <= target:
        return 1
    for factor in range(math.ceil(long_side / target), math.floor(long_side / (target * MIN_FILL)) + 1):
        if factor >= 2 and math.ceil(long_side / factor) <= target:
            return factor
    fitted = fit(size, target)
    return max(1, int(min(size[0] / fitted[0], size[1] / fitted[1]) / REDUCING_GAP))


def needs_flattening(image: Image.Image) -> bool:
    """RGBX (jpeg_scaled's decodes) is RGB with an unused fourth byte: Pillow's own layout for RGB."""
    return image.mode not in ("L", "RGB", "RGBX", "CMYK") or image.has_transparency_data


def _flatten(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):  # 16-bit grey PNG: scale to 8 bits, don't clip
        return image.convert("I").point(lambda value: value / 256, "L")
    if mode in ("1", "F"):
        return image.convert("L")
    if image.has_transparency_data:
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba)  # an RGBA mask is its alpha band: no separate copy of it
        return flat
    return image.convert("RGB")


def fit(size: tuple[int, int], max_px: int) -> tuple[int, int]:
    """The size whose long side is at most max_px, same aspect ratio, never larger than size."""
    width, height = size
    long_side = max(width, height)
    if long_side <= max_px:
        return size
    ratio = max_px / long_side
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def shrink(image: Image.Image, target: int) -> Image.Image:
    """Bring the long side to target, or within MIN_FILL of it by a cheap k×k block average.

    When no block average lands within MIN_FILL (8-megapixel phones: 3264 px for 2048), the
    image is resampled with an area-weighted filter (DISPLAY_FILTER): on a full-size decode the
    resample is the costliest step. The thumbnail, cheap to make, keeps Lanczos' sharpness.
    """
    factor = reduce_factor(image.size, target)
    if factor > 1:
        image = image.reduce(factor)
    if max(image.size) <= target:
        return image
    return _resize(image, fit(image.size, target), DISPLAY_FILTER)


def _resize(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """Resample a large image in horizontal bands on several threads; Pillow releases the GIL, same result.

    The display resample of a full-size decode is the costliest step and Pillow runs it on one
    core; libvips spreads it over all of them. Each band reads the source rows its filter needs.
    """
    if size == image.size:
        return image
    if image.width * image.height < THREADED_RESAMPLE_RATIO * size[0] * size[1]:
        return image.resize(size, resample)  # a small residual resample (after a scaled JPEG decode): one thread
    bands = min(_worker_count(), max(1, size[1] // 256))
    if bands == 1:
        return image.resize(size, resample)
    src_w, src_h = image.size
    width, height = size
    edges = [round(height * i / bands) for i in range(bands + 1)]

    def band(i: int) -> Image.Image:
        top, bottom = edges[i], edges[i + 1]
        return image.resize((width, bottom - top), resample, box=(0, top * src_h / height, src_w, bottom * src_h / height))

    resized = Image.new(image.mode, size, None)  # None: not filled, every row is pasted over
    for i, part in enumerate(_pool().map(band, range(bands))):
        resized.paste(part, (0, edges[i]))
    return resized


@cache
def _worker_count() -> int:
    try:
        return min(4, len(os.sched_getaffinity(0)))  # the CPUs this process may use (containers)
    except AttributeError:
        return min(4, os.cpu_count() or 1)


_pool_lock = threading.Lock()
_pool_instance: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """Created on first use, so that a forking server doesn't inherit threads from its master."""
    global _pool_instance
    with _pool_lock:
        if _pool_instance is None:
            _pool_instance = ThreadPoolExecutor(max_workers=_worker_count(), thread_name_prefix="gusp-photos")
        return _pool_instance


def in_background(function: Callable[..., T], *args: object, **kwargs: object) -> Future[T]:
    """Run one step on the photo pool (Pillow's encoders and resamplers release the GIL)."""
    return _pool().submit(function, *args, **kwargs)


def to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB RGB (or RGBX) using the embedded profile (iPhones: Display P3), since the profile is dropped."""
    transform = _icc_transform(icc, image.mode) if icc else None
    if transform is not None:
        try:
            return ImageCms.applyTransform(image, transform)
        except (ImageCms.PyCMSError, ValueError, OSError) as exc:
            log.info("ICC transform failed, colours kept as they are: %r", exc)
    return image if image.mode in ("RGB", "RGBX") else image.convert("RGB")  # the encoder writes RGBX as RGB


def _icc_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A transform to sRGB, or None when the profile is sRGB already or unusable (then it's simply dropped)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            return None
        return ImageCms.buildTransform(profile, _srgb_profile(), mode, "RGB")
    except (ImageCms.PyCMSError, ValueError, OSError, TypeError) as exc:
        log.info("unusable ICC profile dropped: %r", exc)
        return None


def _srgb_profile() -> ImageCms.ImageCmsProfile:
    """Made per call (microseconds): LittleCMS profile handles are not safe to share between threads."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


