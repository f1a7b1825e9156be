"""Photo pipeline: from an uploaded file to two stored JPEGs that carry nothing but pixels.

Residents' photos come from phones and carry their home's GPS position, the phone's serial
number and sometimes an appended payload. So the real type is sniffed from the bytes, the file
is decoded once (at a reduced size when the JPEG allows it), oriented, converted to sRGB and
re-encoded from pixels only: nothing of the original file survives but the picture.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import BinaryIO

from PIL import Image, ImageCms, ImageFile

from gusp import errors
from gusp.config import Settings

log = logging.getLogger(__name__)

# Major brands of HEIF files whose images pillow-heif decodes (HEVC stills and sequences,
# generic HEIF); the same list as pillow-heif's own opener, AVIF ("avif", "avis") excluded.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# Shrinking by an integer factor is several times cheaper than a resample: libjpeg's IDCT can
# decode a JPEG at 1/2, 1/4 or 1/8 of its size, and Image.reduce averages k×k blocks. Such a
# shrink is taken when the display it gives still reaches this share of display_max_px: 12- and
# 48-megapixel photos (4000, 4032, 8064 px) then give 2000 or 2016 px displays instead of 2048,
# a difference no screen shows, for a third of the time and a quarter of the memory.
MIN_FILL = 0.95

# EXIF orientation -> the transposition that shows the photo upright (as ImageOps.exif_transpose).
_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class Rendition:
    key: str  # "<sha256 hex of data>.jpg" — named by content hash
    data: bytes  # the encoded JPEG
    width: int
    height: int
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class ProcessedPhoto:
    display: Rendition  # long side <= settings.display_max_px (never upscaled)
    thumbnail: Rendition  # long side <= settings.thumbnail_max_px
    source_format: str  # "JPEG" | "PNG" | "WEBP" | "HEIF"


def process(fileobj: BinaryIO, *, settings: Settings, field: str = "photos") -> ProcessedPhoto:
    """Turn an uploaded photo into a display and a thumbnail JPEG, or refuse it with a domain error."""
    data = _read_bounded(fileobj, limit=settings.max_photo_bytes)
    if len(data) > settings.max_photo_bytes:
        raise errors.PayloadTooLarge(
            "photo_trop_lourde",
            f"Cette photo dépasse la taille maximale de {_human_size(settings.max_photo_bytes)}.",
            field=field,
            max_bytes=settings.max_photo_bytes,
        )
    source_format = sniff(data)
    if source_format is None:
        raise errors.UnsupportedMediaType(
            "type_photo_non_supporte",
            "Cette photo n'est pas dans un format accepté (JPEG, PNG, WebP ou HEIC).",
            field=field,
        )
    image, orientation, icc = _decode(data, source_format, settings=settings, field=field)
    del data  # decoded: the compressed bytes can go before the resample needs memory

    image = _shrink(_flatten(image), settings.display_max_px)
    image = _to_srgb(image, icc)
    if orientation in _ORIENTATIONS:
        image = image.transpose(_ORIENTATIONS[orientation])
    display = _encode(image, quality=settings.jpeg_quality)

    thumb = image.resize(
        _fit(image.size, settings.thumbnail_max_px), Image.Resampling.LANCZOS, reducing_gap=2.0
    )
    thumbnail = _encode(thumb, quality=settings.jpeg_quality)
    return ProcessedPhoto(display=display, thumbnail=thumbnail, source_format=source_format)


def sniff(data: bytes) -> str | None:
    """The format the bytes really are (magic numbers), whatever the file name or declared type says."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        box_size = int.from_bytes(data[0:4], "big")
        compatible = {data[i : i + 4] for i in range(16, min(box_size, 64), 4)}
        if compatible.isdisjoint(_AVIF_BRANDS):  # an AV1 image in a "mif1" file is AVIF, not HEIC
            return "HEIF"
    return None


def _read_bounded(fileobj: BinaryIO, *, limit: int) -> bytes:
    """Read at most limit + 1 bytes: one more than allowed is enough to know the file is too big."""
    data = fileobj.read(limit + 1)
    while 0 < len(data) <= limit:  # a raw stream may return less than asked before its end
        more = fileobj.read(limit + 1 - len(data))
        if not more:
            break
        data += more
    return data


def _human_size(size: int) -> str:
    """Bytes as a French figure: "15 Mo", "1,5 Mo", "500 Ko"."""
    for unit, factor in (("Mo", 1024 * 1024), ("Ko", 1024)):
        if size >= factor:
            figure = f"{size / factor:.1f}".removesuffix(".0").replace(".", ",")
            return f"{figure} {unit}"
    return f"{size} octets"


def _decode(data: bytes, source_format: str, *, settings: Settings, field: str) -> tuple[Image.Image, int, bytes | None]:
    """Decode once, refusing bombs from the header; returns the pixels, the EXIF orientation and the ICC profile.

    Everything here reads attacker-controlled bytes through C decoders and plugins that raise
    many exception types (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError,
    pillow-heif's RuntimeError…), so any exception becomes "photo_illisible", never a 500.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # somebody turned it on: truncated uploads would be stored grey-padded
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for uploaded photos")
    if source_format == "JPEG" and not _jpeg_has_end(data):
        raise _unreadable(field)
    if source_format == "HEIF":
        _register_heif_opener()
    buffer = io.BytesIO(data)
    try:
        image = Image.open(buffer, formats=[source_format])
        width, height = image.size
        if width * height > settings.max_image_pixels:
            raise _too_big(field, settings)
        if width < 1 or height < 1:
            raise _unreadable(field)
        if source_format == "JPEG":
            _draft(image, settings.display_max_px)
        image.load()
    except errors.GuspError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own limit (MAX_IMAGE_PIXELS) may be lower than ours; its warning is an
        # exception only where warnings are turned into errors, as under `pytest -W error`.
        raise _too_big(field, settings) from exc
    except Exception as exc:
        log.info("unreadable %s upload: %r", source_format, exc)
        raise _unreadable(field) from exc
    orientation = _orientation(image)
    icc = image.info.get("icc_profile") or None
    buffer.close()  # the image keeps a reference to its file; the pixels no longer need it
    return image, orientation, icc


def _too_big(field: str, settings: Settings) -> errors.Unprocessable:
    return errors.Unprocessable(
        "photo_trop_grande",
        "Cette image est trop grande pour être traitée.",
        field=field,
        max_pixels=settings.max_image_pixels,
    )


def _unreadable(field: str) -> errors.Unprocessable:
    return errors.Unprocessable("photo_illisible", "Cette photo est illisible ou incomplète.", field=field)


def _jpeg_has_end(data: bytes) -> bool:
    """Whether the image's scan data is followed by an EOI marker.

    libjpeg conceals damaged or missing scan data (grey or noisy blocks, a warning Pillow never
    shows) and Pillow stops once every row is decoded, so a cut or garbage-filled JPEG can decode
    "fine". Entropy-coded data cannot contain FF D9, so the first one after the image's own SOS
    (not one inside an EXIF thumbnail) ends the image; bytes after it are allowed and ignored.
    """
    position, end = 2, len(data) - 3
    while position < end:
        if data[position] != 0xFF:  # junk between segments, which Pillow skips too
            position += 1
            continue
        marker = data[position + 1]
        if marker == 0xFF or marker == 0x01 or 0xD0 <= marker <= 0xD7:  # fill byte, standalone markers
            position += 1 if marker == 0xFF else 2
            continue
        if marker == 0xD9:
            return False
        segment_end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:
            return data.find(b"\xff\xd9", segment_end) != -1
        position = segment_end
    return False


@cache
def _register_heif_opener() -> None:
    """Let Pillow open HEIC (iPhones' default) on the first HEIF upload, not at import."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _draft(image: Image.Image, target: int) -> None:
    """Ask libjpeg for the smallest 1/s decode that still (nearly) fills the display size."""
    width, height = image.size
    long_side = max(width, height)
    for scale in (8, 4, 2):
        if math.ceil(long_side / scale) >= target * MIN_FILL and min(width, height) >= scale:
            # Pillow picks min(width // w, height // h) as its scale; these sizes make it `scale`.
            image.draft(None, (width // scale, height // scale))
            return


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, read before the metadata is thrown away; a broken EXIF counts as upright.

    pillow-heif applies HEIF's own rotation while decoding and resets this tag to 1 itself.
    """
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # malformed EXIF: the pixels are fine, only the tag is lost
        return 1
    return value if isinstance(value, int) else 1


def _flatten(image: Image.Image) -> Image.Image:
    """Bring every decoded mode to L, RGB or CMYK, transparency composited on white.

    Done before resizing: Pillow resamples P and 1 with nearest neighbour, clips 16-bit grey,
    and resampling after compositing equals compositing after a premultiplied resample.
    """
    mode = image.mode
    if mode in ("L", "RGB", "CMYK") and not image.has_transparency_data:
        return image
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):  # 16-bit grey PNG: scale to 8 bits, don't clip
        return image.convert("I").point(lambda value: value / 256, "L")
    if mode in ("1", "F"):
        return image.convert("L")
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _fit(size: tuple[int, int], max_px: int) -> tuple[int, int]:
    """The size whose long side is at most max_px, same aspect ratio, never larger than size."""
    width, height = size
    long_side = max(width, height)
    if long_side <= max_px:
        return size
    ratio = max_px / long_side
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _shrink(image: Image.Image, target: int) -> Image.Image:
    """Bring the long side to target, or within MIN_FILL of it by a cheap k×k block average.

    The resample, when needed, is bicubic: on a full-size decode it is the costliest step and
    costs two thirds of Lanczos' for a difference nobody sees at 2048 px. The thumbnail, cheap
    to make, keeps Lanczos' sharpness.
    """
    long_side = max(image.size)
    if long_side <= target:
        return image
    for factor in range(math.ceil(long_side / target), math.floor(long_side / (target * MIN_FILL)) + 1):
        if factor >= 2 and math.ceil(long_side / factor) <= target:
            return image.reduce(factor)
    return _resize(image, _fit(image.size, target), Image.Resampling.BICUBIC)


def _resize(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """Resample in horizontal bands on several threads; Pillow releases the GIL and the result is identical.

    The display resample of a full-size decode is the costliest step and Pillow runs it on one
    core; libvips spreads it over all of them. Each band reads the source rows its filter needs.
    """
    if size == image.size:
        return image
    bands = min(_worker_count(), max(1, size[1] // 256))
    if bands == 1:
        return image.resize(size, resample, reducing_gap=2.0)
    factor = int(min(image.width / size[0], image.height / size[1]) / 2.0)  # as reducing_gap=2.0 does
    if factor >= 2:
        image = image.reduce(factor)
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


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB RGB using the embedded profile (iPhones: Display P3), since the profile is dropped."""
    transform = _icc_transform(icc, image.mode) if icc else None
    if transform is not None:
        try:
            return ImageCms.applyTransform(image, transform)
        except (ImageCms.PyCMSError, ValueError, OSError) as exc:
            log.info("ICC transform failed, colours kept as they are: %r", exc)
    return image if image.mode == "RGB" else image.convert("RGB")


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


def _encode(image: Image.Image, *, quality: int) -> Rendition:
    """Encode pixels only: no EXIF, XMP, ICC or comment is passed, and info is emptied because
    Pillow's JPEG writer copies im.info["comment"] on its own."""
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    data = buffer.getvalue()
    return Rendition(
        key=f"{hashlib.sha256(data).hexdigest()}.jpg", data=data, width=image.width, height=image.height
    )

