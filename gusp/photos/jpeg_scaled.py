"""JPEG decoded at 3/8, 5/8 or 6/8 of its size by libjpeg-turbo, for the sizes 1/2, 1/4 and 1/8 don't serve.

libjpeg-turbo can decode a JPEG at any M/8 of its size (its scaled inverse DCTs), Pillow only at
1/1, 1/2, 1/4 and 1/8. An 8-megapixel phone photo (3,264 px) at 1/2 gives 1,632 px, too small
for a 2,048 px display, so Pillow decodes it whole and resamples; at 5/8 it comes out 2,040 px
wide, for about the CPU of the whole decode and no resample (docs/benchmarks.md). simplejpeg
(libjpeg-turbo, GIL released) does that decode; Pillow stays the decoder of everything else:
other formats, other scales, CMYK and YCCK JPEGs, and it reads every header (EXIF, ICC, sizes).
"""

from __future__ import annotations

import math

import simplejpeg
from PIL import Image

from gusp.photos import resize

# Eighths left to Pillow: 1/1, 1/2, 1/4 and 1/8 with libjpeg-turbo's SIMD inverse DCTs (draft mode),
# and 7/8, whose 7×7 inverse DCT costs more than a whole decode and a resample (measured: 1.08×).
_PILLOW_EIGHTHS = frozenset({1, 2, 4, 7, 8})
# JPEG colour spaces (as libjpeg-turbo names them) decoded here, with simplejpeg's output.
_COLOUR_SPACES = {"YCbCr": "RGBX", "RGB": "RGBX", "Gray": "GRAY"}


def eighths(size: tuple[int, int], target: int) -> int:
    """The smallest M whose M/8 decode still reaches MIN_FILL of the target (8: decoded whole)."""
    long_side = max(size)
    for eighth in range(1, 8):
        if math.ceil(long_side * eighth / 8) >= target * resize.MIN_FILL:
            return eighth
    return 8


def scaled_size(data: bytes, size: tuple[int, int], target: int) -> tuple[int, int] | None:
    """The size this JPEG decodes to here (3/8, 5/8, 6/8), or None when Pillow decodes it (other scales, CMYK…)."""
    if eighths(size, target) in _PILLOW_EIGHTHS:
        return None
    height, width, colour_space, _ = simplejpeg.decode_jpeg_header(data, strict=True, **_minimum(size, target))
    return (width, height) if colour_space in _COLOUR_SPACES else None


def decode(data: bytes, size: tuple[int, int], target: int) -> Image.Image:
    """Decode at the scale of `scaled_size` into a read-only RGBX or L image; corrupt or truncated data
    raises (ValueError), as Pillow does."""
    _, _, colour_space, _ = simplejpeg.decode_jpeg_header(data, strict=True)
    output = _COLOUR_SPACES[colour_space]
    pixels = simplejpeg.decode_jpeg(data, output, strict=True, **_minimum(size, target))
    height, width = pixels.shape[:2]
    # The decoder's buffer itself, read-only: every later step (resample, transposition, colour
    # transform, blur) makes a new image, and RGBX is RGB's own layout in Pillow (four bytes a
    # pixel), which the encoder writes as RGB. A copy into RGB cost 7 ms and a fresh 14 MB at 9 MP.
    pillow_mode = "RGBX" if output == "RGBX" else "L"
    return Image.frombuffer(pillow_mode, (width, height), pixels, "raw", pillow_mode, 0, 1)


def _minimum(size: tuple[int, int], target: int) -> dict[str, int]:
    """simplejpeg's bound: the long side at least MIN_FILL of the target; it picks the smallest M/8 that gives it."""
    need = math.ceil(target * resize.MIN_FILL)
    return {"min_width": need} if size[0] >= size[1] else {"min_height": need}
